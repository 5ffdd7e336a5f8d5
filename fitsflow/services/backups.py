"""Backup and restore that an auditor can trust.

``backup`` writes a consistent copy while the server runs (SQLite's online backup API;
pg_dump on one snapshot for PostgreSQL), checks it (integrity, audit chain) and writes a
manifest beside it with the audit head to publish. ``restore`` refuses while a server or
worker uses the database, and to replace a newer database without ``force``; it checks the
copy first (a PostgreSQL archive's chain is read from its data), brings the schema up to
date, marks the notifications delivered since the backup as delivered and records the
restore in the audit trail.

Change references are never issued twice: a restore carries each year's counter forward
from the database it replaces (when that can still be read), from ``after_reference`` (the
highest reference in the emails already sent, when it cannot), and from the backup's own
counters, whichever is highest — so CHG-2026-0068 named in an email never becomes another
change."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..domain.chain import Verification
from ..domain.errors import FitsflowError, InvalidInput
from ..persistence import audit_store, backup_files
from ..persistence.db import Database
from ..persistence.migrate import upgrade
from ..persistence.usage import InUse, UsageLock
from . import health
from .runtime import Runtime

REFERENCE = re.compile(r"^CHG-(\d{4})-(\d{1,9})$")


class BackupProblem(FitsflowError):
    """The copy could not be made or used as asked; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Path
    size: int
    integrity: str
    chain: Verification
    deleted: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RestoreResult:
    restored: Verification  # the backup's chain
    replaced: Verification | None  # the database replaced (None: it had no schema)
    counters_raised: dict[int, int]
    head_seq: int  # after the restore event
    head_hash: str
    marked_delivered: int = 0  # notifications delivered after the backup was taken, not sent again


def _manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def _write_manifest(path: Path, *, kind: str, chain: Verification, counters: dict[int, int],
                    at: datetime) -> Path:
    manifest = _manifest_path(path)
    manifest.write_text(
        json.dumps(
            {
                "kind": kind,
                "written_at": at.isoformat(timespec="seconds"),
                "audit_events": chain.count,
                "audit_head": chain.head_hash,
                "chain_ok": chain.ok,
                "reference_counters": {str(y): n for y, n in sorted(counters.items())},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    os.chmod(manifest, 0o600)
    return manifest


def default_target(rt: Runtime) -> Path:
    stamp = rt.now().strftime("%Y%m%d-%H%M%S")
    source = rt.db.sqlite_file
    if source is not None:
        return source.parent / "backups" / f"{source.stem}-{stamp}.db"
    return Path("backups") / f"fitsflow-{stamp}.pgdump"


def backup(rt: Runtime, *, target: Path | None = None, keep: int | None = None) -> BackupResult:
    """Write and check a copy; with ``keep``, delete all but the newest ``keep`` copies in
    the target's folder (those named like the default)."""
    if keep is not None and keep < 1:
        raise InvalidInput({"keep": "must be 1 or more"})
    path = (target or default_target(rt)).resolve()
    if path.exists():
        raise BackupProblem(f"{path} exists already: choose another name (copies are never overwritten)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    source = rt.db.sqlite_file
    if source is not None:
        backup_files.sqlite_backup(source, path, busy_timeout_ms=rt.db.busy_timeout_ms)
        found = backup_files.check_sqlite(path)
        integrity, chain, counters = found.integrity, found.chain, found.counters
        kind, pattern = "sqlite", f"{source.stem}-*.db"
    elif rt.db.dialect == "postgresql":
        chain = backup_files.pg_backup(rt.db, path)
        live = backup_files.check_live(rt.db)
        integrity, counters = "ok (pg_restore --list reads the archive)", (live.counters if live else {})
        kind, pattern = "postgresql", "fitsflow-*.pgdump"
    else:
        raise BackupProblem("an in-memory database has nothing to back up")
    manifest = _write_manifest(path, kind=kind, chain=chain, counters=counters, at=rt.now())
    deleted: tuple[Path, ...] = ()
    if keep is not None:
        gone = backup_files.keep_newest(path.parent, pattern, keep)
        for old in gone:
            _manifest_path(old).unlink(missing_ok=True)
        deleted = tuple(gone)
    return BackupResult(path, manifest, path.stat().st_size, integrity, chain, deleted)


def parse_reference(value: str) -> dict[int, int]:
    match = REFERENCE.match(value.strip().upper())
    if match is None:
        raise InvalidInput({"after_reference": "must be a change reference such as CHG-2026-0068"})
    return {int(match.group(1)): int(match.group(2))}


def _newer(live: Verification, copy_count: int, copy_head: str) -> bool:
    return live.count > copy_count or (live.count == copy_count and live.head_hash != copy_head)


def restore(
    rt: Runtime,
    *,
    source: Path,
    force: bool = False,
    after_reference: str = "",
    actor: str = "fitsflow restore",
) -> RestoreResult:
    """Replace the database with ``source`` (checked first), carrying reference counters
    forward, and record it in the audit trail. Refused while a server or worker uses the
    database (BackupProblem says so)."""
    try:
        with UsageLock(rt.db).exclusive():
            return _restore(rt, source=source, force=force, after_reference=after_reference, actor=actor)
    except InUse as err:
        raise BackupProblem(str(err)) from None


def _restore(rt: Runtime, *, source: Path, force: bool, after_reference: str, actor: str) -> RestoreResult:
    floor = parse_reference(after_reference) if after_reference else {}
    path = source.resolve()
    if not path.is_file():
        raise BackupProblem(f"no backup at {path}")
    live = backup_files.check_live(rt.db)
    live_file = rt.db.sqlite_file
    if live_file is not None:
        copy = backup_files.check_sqlite(path)
        if copy.integrity != "ok":
            raise BackupProblem(f"the backup is damaged ({copy.integrity}): use an older copy")
        if not copy.chain.ok:
            raise BackupProblem(
                f"the backup's audit trail does not verify ({copy.chain.describe()}): use an older copy"
            )
        restored, copy_counters = copy.chain, copy.counters
    elif rt.db.dialect == "postgresql":
        # The archive itself is read (not only its manifest): pg_restore must list it, and
        # its audit chain, from its data, must hold — before anything is replaced.
        try:
            copy = backup_files.check_pg_archive(path)
        except backup_files.ArchiveProblem as err:
            raise BackupProblem(f"the backup cannot be read (pg_restore: {err}): use another copy") from None
        if not copy.chain.ok:
            raise BackupProblem(
                f"the backup's audit trail does not verify ({copy.chain.describe()}): use an older copy"
            )
        restored, copy_counters = copy.chain, copy.counters
    else:
        raise BackupProblem("an in-memory database cannot be restored into")
    if live is not None and not force and _newer(live.chain, restored.count, restored.head_hash):
        raise BackupProblem(
            f"the database holds {live.chain.count} audit events and the backup {restored.count}: the "
            "database is newer. Stop the server and restore with --force to replace it (reference "
            "counters are carried forward)"
        )
    floor = _merge(_merge(floor, live.counters if live else {}), copy_counters)
    delivered = backup_files.delivered_outbox(rt.db)
    rt.db.dispose()
    if live_file is not None:
        # One step: the copy is made ready beside the live file (migrated, counters carried
        # forward, what was delivered since marked, the restore audited), then copied over
        # it in one write transaction. A failure or a crash before that leaves the live
        # database as it was.
        staged = backup_files.stage_sqlite(path, live_file)
        ready = Database(f"sqlite:///{staged}", busy_timeout_ms=rt.db.busy_timeout_ms, clock=rt.clock)
        try:
            raised, marked = _finish(ready, floor, delivered, actor, path, restored, live)
        finally:
            ready.dispose()
        backup_files.sqlite_restore(staged, live_file, busy_timeout_ms=rt.db.busy_timeout_ms)
        staged.unlink()
    else:
        # pg_restore replaces the objects in one transaction of its own; the counters go in a
        # journal beside the backup first, so a crash before they are carried forward is
        # mended by running the same restore again.
        journal = _journal_path(path)
        floor = _merge(floor, _read_journal(journal))
        journal.write_text(json.dumps({str(y): n for y, n in floor.items()}))
        try:
            backup_files.pg_restore(rt.db, path)
        except backup_files.ArchiveProblem as err:
            raise BackupProblem(f"the backup could not be restored (pg_restore: {err}); the database "
                                "is as it was") from None
        rt.db.dispose()
        raised, marked = _finish(rt.db, floor, delivered, actor, path, restored, live)
        journal.unlink()
    with rt.db.read() as session:
        head = audit_store.head(session)
        head_seq, head_hash = head.seq, head.hash
    health.forget_probe(rt)
    return RestoreResult(restored, live.chain if live else None, raised, head_seq, head_hash, marked)


def _finish(db: Database, floor: dict[int, int], delivered: dict[int, datetime], actor: str, path: Path,
            restored: Verification, live: backup_files.CopyCheck | None) -> tuple[dict[int, int], int]:
    """On the restored database: migrate it, carry the reference counters forward, mark the
    notifications delivered since the backup as delivered (not to be sent again) and
    record the restore. Each step may be run again."""
    upgrade(db)
    raised = backup_files.bump_counters(db, floor)
    marked = backup_files.mark_delivered(db, delivered)
    with db.transaction() as session:
        audit_store.append(
            session,
            actor=actor,
            change_ref="",
            event_type="database.restored",
            payload={
                "backup": path.name,
                "restored_head": {"seq": restored.count, "hash": restored.head_hash},
                "replaced_head": {"seq": live.chain.count, "hash": live.chain.head_hash} if live else None,
                "reference_counters_raised": {str(y): n for y, n in sorted(raised.items())},
                "notifications_marked_delivered": marked,
            },
        )
    return raised, marked


def _journal_path(path: Path) -> Path:
    return path.with_name(path.name + ".restoring.json")


def _read_journal(path: Path) -> dict[int, int]:
    if not path.exists():
        return {}
    return {int(y): int(n) for y, n in json.loads(path.read_text()).items()}


def _merge(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    """Each year's highest reference number in either."""
    return {y: max(a.get(y, 0), b.get(y, 0)) for y in {*a, *b}}
