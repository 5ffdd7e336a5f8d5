"""Is the installation able to do its work? /healthz asks ``check`` (cheap enough for a
monitor polling every few seconds); ``details`` is the fuller picture for administrators."""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..persistence import audit_store, failures, health_store, outbox_store
from ..persistence.failures import StorageProblem
from .runtime import Runtime


@dataclass(frozen=True)
class Health:
    ok: bool
    problems: tuple[str, ...] = ()
    retry_after: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


def check(rt: Runtime) -> Health:
    """A write commits within the deadline and (SQLite) the disk has room."""
    problems: list[str] = []
    retry = 0
    folder = rt.db.sqlite_folder
    facts: dict[str, Any] = {}
    if folder is not None:
        free_mb = shutil.disk_usage(folder).free // (1024 * 1024)
        facts["disk_free_mb"] = free_mb
        wanted = rt.settings.health.min_free_mb
        if free_mb < wanted:
            problems.append(f"only {free_mb} MiB free on the database's disk (at least {wanted} wanted)")
            retry = 120
    try:
        with rt.db.read() as session:
            head = audit_store.head(session)
            facts |= {"audit_events": head.seq, "audit_head": head.hash}
        _probe_write(rt)
    except Exception as err:  # noqa: BLE001 - any failure to write is the answer
        problem = failures.classify(err) or StorageProblem(
            "error", "The database refused a write", "see the server's log", 60
        )
        problems.append(problem.line())
        retry = max(retry, problem.retry_after)
    return Health(not problems, tuple(problems), retry, facts)


# When each database last took the probe's write in this process. /healthz is public and
# polled: a write at most every PROBE_EVERY keeps a flood of requests from becoming a flood
# of writes, while a failure is seen within that time (a failed write is retried each time).
PROBE_EVERY = timedelta(seconds=5)
_last_write: dict[int, datetime] = {}
_lock = threading.Lock()


def _probe_write(rt: Runtime) -> None:
    now = rt.now()
    with _lock:
        last = _last_write.get(id(rt.db))
        if last is not None and now - last < PROBE_EVERY:
            return
    rt.db.try_write(lambda c: health_store.beat(c, now), wait_ms=rt.settings.health.write_deadline_ms)
    with _lock:
        _last_write[id(rt.db)] = now


def forget_probe(rt: Runtime) -> None:
    """Make the next check write again (tests, and after a restore)."""
    with _lock:
        _last_write.pop(id(rt.db), None)


def details(rt: Runtime) -> Health:
    """``check`` plus the database's own integrity check, the delivery backlog and the
    audit chain's last verification: for administrators and localhost."""
    base = check(rt)
    problems = list(base.problems)
    facts = dict(base.facts)
    now = rt.now()
    try:
        with rt.db.read() as session:
            connection = session.connection()
            facts["integrity"] = health_store.integrity(connection, rt.db.dialect)
            counts = outbox_store.status_counts(session)
            oldest = outbox_store.oldest_due(session, now=now)
            mark = audit_store.checkpoint(session)
    except Exception as err:  # noqa: BLE001
        problem = failures.classify(err)
        problems.append(
            problem.line() if problem else f"the database could not be read: {type(err).__name__}"
        )
        return Health(False, tuple(problems), max(base.retry_after, 60), facts)
    if facts["integrity"] != "ok":
        problems.append(f"integrity check: {facts['integrity']}")
    facts.update(
        {
            "outbox_pending": counts.get(outbox_store.PENDING, 0),
            "outbox_parked": counts.get(outbox_store.PARKED, 0),
            "oldest_due_seconds": int((now - oldest).total_seconds()) if oldest else 0,
            "audit_verified_seq": mark.seq if mark else 0,
            "audit_verified_at": mark.verified_at.isoformat() if mark else None,
            "audit_full_check_at": mark.full_at.isoformat() if mark and mark.full_at else None,
        }
    )
    return Health(not problems, tuple(problems), base.retry_after or (60 if problems else 0), facts)
