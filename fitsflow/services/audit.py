"""Verify the audit chain and export it for auditors."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from ..domain import chain
from ..domain.chain import Verification
from ..domain.errors import NotPermitted
from ..domain.roles import ADMIN, AUDITOR
from ..persistence import audit_store, failures

log = logging.getLogger("fitsflow.audit")

if TYPE_CHECKING:  # imported for types only: `fitsflow audit verify` starts without them
    from sqlmodel import Session

    from ..domain.actor import Actor
    from ..persistence.db import Database
    from .runtime import Runtime


class WithDatabase(Protocol):
    """What checking and exporting the chain needs: a runtime, or the command line's
    state when it opened only the database."""

    @property
    def db(self) -> Database: ...


@dataclass(frozen=True)
class ChainStatus:
    """What the audit page shows: the check just made (from the checkpoint on) and when the
    whole chain was last walked from the start."""

    result: Verification
    verified_at: datetime | None
    full_at: datetime | None


def _save_checkpoint(rt: WithDatabase, result: Verification, *, full: bool) -> datetime | None:
    """Remember how far the chain holds. Bookkeeping: skipped if the database is busy or
    read-only (a copy being checked), which only means the next check reads a little more."""
    if not result.ok:
        return None
    at = rt.db.clock.now()
    try:
        rt.db.try_write(lambda connection: audit_store.save_checkpoint(
            connection, seq=result.count, digest=result.head_hash, at=at, full=full))
    except failures.DATABASE_ERRORS:
        return None
    return at


def event_count(rt: WithDatabase) -> int:
    """How many events the chain holds (its head's number)."""
    with rt.db.read() as session:
        return audit_store.head(session).seq


def verify(rt: WithDatabase, *, expected_head: str | None = None,
           progress: Callable[[int], None] | None = None, apart: bool = False) -> Verification:
    """Walk the whole chain from seq 1; name the first event that does not hold. Run by
    ``fitsflow audit verify`` and on the worker's schedule; it moves the checkpoint.
    ``apart``: walk in a child Python process, for a server worker's delivery thread (see
    ``_walk_apart``); where that cannot be done, here."""
    elsewhere = rt.db.dialect != "sqlite" or rt.db.sqlite_file is not None  # not in this process's memory
    result = _walk_apart(rt.db.url) if apart and elsewhere and expected_head is None else None
    if result is None:
        result = _walk(rt.db, expected_head=expected_head, progress=progress)
    _save_checkpoint(rt, result, full=True)
    return result


def _walk(db: Database, *, expected_head: str | None = None,
          progress: Callable[[int], None] | None = None) -> Verification:
    """The whole chain walked from seq 1 in one read (here, or in ``_walk_apart``'s child)."""
    with db.read() as session:
        head = audit_store.head(session)
        return chain.walk(audit_store.iter_rows(session), head_seq=head.seq, head_hash=head.hash,
                          expected_head=expected_head, progress=progress)


# The child's whole program: the database URL comes on its standard input (never its command
# line, which every user of the machine may read), the verification goes out as JSON.
_CHILD = "from fitsflow.services.audit import walk_for_parent; walk_for_parent()"


def _walk_apart(url: str) -> Verification | None:
    """The whole walk in a child Python. A walk is pure Python over every event (3.5 s at
    322,000 events): in a server worker it holds the interpreter lock that worker's request
    threads share (in one process, decisions beside a thread walking the chain: 122-162 a
    second against 392 without it). The child reads the same database on another core.
    None when the child failed (logged)."""
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD], input=url, capture_output=True, text=True,
                              check=True)
        return Verification(**json.loads(done.stdout.splitlines()[-1]))
    except (OSError, subprocess.SubprocessError, ValueError, TypeError, IndexError) as err:
        stderr = getattr(err, "stderr", "") or ""
        log.warning("the audit chain's walk could not run apart (%s%s); walking it here instead",
                    type(err).__name__, f": {stderr.strip().splitlines()[-1]}" if stderr.strip() else "")
        return None


def walk_for_parent() -> None:
    """The child of ``_walk_apart``: walk the chain of the database named on standard input
    and print what was found as one line of JSON."""
    from ..persistence.db import Database

    db = Database(sys.stdin.read().strip())
    try:
        result = _walk(db)
    finally:
        db.dispose()
    print(json.dumps(dataclasses.asdict(result)))


def verify_recent(rt: WithDatabase) -> ChainStatus:
    """Verify only what came after the last checkpoint (its event must still have the hash
    the checkpoint recorded): what the audit page runs on every view, so its cost follows
    the events added since, not the length of the trail."""
    with rt.db.read() as session:
        head = audit_store.head(session)
        mark = audit_store.checkpoint(session)
        after_seq, after_hash = (mark.seq, mark.hash) if mark and mark.seq <= head.seq else (0, chain.GENESIS)
        full_at = mark.full_at if mark else None
        if after_seq and audit_store.hash_at(session, after_seq) != after_hash:
            result = Verification(False, after_seq - 1, after_hash, after_seq,
                                  "the event no longer has the hash it had when last verified (edited)")
            return ChainStatus(result, mark.verified_at if mark else None, full_at)
        result = chain.walk(audit_store.iter_rows(session, after_seq=after_seq), head_seq=head.seq,
                            head_hash=head.hash, after_seq=after_seq, after_hash=after_hash)
    at = _save_checkpoint(rt, result, full=False) if result.count > after_seq else None
    return ChainStatus(result, at or (mark.verified_at if mark else None), full_at)


def full_check_due(rt: WithDatabase, *, now: datetime, every: timedelta) -> bool:
    with rt.db.read() as session:
        mark = audit_store.checkpoint(session)
    return mark is None or mark.full_at is None or now - mark.full_at >= every


EXPORT_FIELDS = ("seq", "at", "actor", "change_ref", "event_type", "payload", "prev_hash", "hash")


def _row(values: tuple[object, ...]) -> dict[str, object]:
    return dict(zip(EXPORT_FIELDS, values, strict=True))


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or
    carriage return) is prefixed with an apostrophe (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _acting(rt: WithDatabase, session: Session, actor_id: int) -> Actor:
    """The person acting, their session reading only their schools' changes from here on."""
    from .common import load_actor  # common imports this module's timeline

    return load_actor(rt, session, actor_id)  # type: ignore[arg-type]  # a Runtime, when a person acts


def export(rt: WithDatabase, *, fmt: str, change_ref: str | None = None,
           actor_id: int | None = None) -> Iterator[str]:
    """Stream the trail (or one change's) as CSV or JSON text chunks: as ``actor_id`` sees it
    (without the events of other schools' changes), or all of it (the operator's)."""
    if fmt not in ("csv", "json"):
        raise ValueError("format must be csv or json")
    ref = change_ref.strip().upper() if change_ref else None
    with rt.db.read() as session:
        if actor_id is not None:
            _acting(rt, session, actor_id)  # their schools' changes only, from here on
        rows = audit_store.iter_rows(session, change_ref=ref, seen_only=actor_id is not None)
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(EXPORT_FIELDS)
            for values in rows:
                writer.writerow([spreadsheet_safe(v) for v in values])
                if buffer.tell() > 65536:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
            return
        yield "["
        first = True
        for values in rows:
            row = _row(values)
            row["payload"] = json.loads(str(row["payload"]))
            yield ("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False, sort_keys=True)
            first = False
        yield "\n]\n"


@dataclass(frozen=True)
class TimelineEvent:
    seq: int
    at: str
    actor: str
    event_type: str
    payload: dict[str, object]


def timeline(rt: Runtime, *, actor_id: int, ref: str) -> list[TimelineEvent]:
    """A change's audit events, oldest first, for someone who may see the change."""
    from .common import load_actor, load_change

    with rt.db.read() as session:
        return timeline_in(session, load_change(session, ref, load_actor(rt, session, actor_id)).ref)


def timeline_in(session: Session, ref: str) -> list[TimelineEvent]:
    """``timeline`` inside the caller's read, for a change already checked visible."""
    return [TimelineEvent(seq, at, who, kind, json.loads(payload))
            for seq, at, who, kind, payload in audit_store.of_change(session, ref)]


def events_after(rt: Runtime, *, actor_id: int, after_seq: int, limit: int = 500) -> list[dict[str, object]]:
    """The whole trail from a sequence number on, as plain data (auditors and admins)."""
    out: list[dict[str, object]] = []
    with rt.db.read() as session:
        if not _acting(rt, session, actor_id).roles & {AUDITOR, ADMIN}:
            raise NotPermitted("the audit trail is for auditors and admins")
        for values in audit_store.iter_rows(session, after_seq=after_seq, batch=min(limit, 2000),
                                            seen_only=True):
            row = _row(values)
            row["payload"] = json.loads(str(row["payload"]))
            out.append(row)
            if len(out) >= limit:
                break
    return out
