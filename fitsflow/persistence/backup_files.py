"""Copies of the database: SQLite's online backup API (a consistent copy while the server
writes, WAL content included) and, for PostgreSQL, pg_dump / pg_restore on one snapshot.
What a copy holds is checked here: the file's integrity and the audit chain in it."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import make_url

from ..domain import chain
from .db import Database
from .models import OutboxMessage

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]

_ROWS = (
    "SELECT seq, at, actor, change_ref, event_type, payload, prev_hash, hash FROM audit_events "
    "WHERE seq > ? ORDER BY seq LIMIT 5000"
)


@dataclass(frozen=True)
class CopyCheck:
    """What a database (or a copy) holds: its integrity, its chain, its reference counters."""

    integrity: str  # "ok", or what the check found
    chain: chain.Verification
    counters: dict[int, int]  # year → last change number issued


def _rows(connection: sqlite3.Connection) -> Iterator[chain.Row]:
    last = 0
    while True:
        batch = connection.execute(_ROWS, (last,)).fetchall()
        if not batch:
            return
        yield from batch
        last = batch[-1][0]


def check_sqlite(path: Path) -> CopyCheck:
    """Integrity, chain and counters of a SQLite file, read-only (the file is not changed).
    A file too damaged to read says so in ``integrity``."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = connection.execute("PRAGMA integrity_check(5)").fetchall()
            integrity = "ok" if [r[0] for r in rows] == ["ok"] else "; ".join(str(r[0]) for r in rows)
            head_seq, head_hash = connection.execute(
                "SELECT seq, hash FROM audit_head WHERE id = 1"
            ).fetchone()
            verification = chain.walk(_rows(connection), head_seq=head_seq, head_hash=head_hash)
            counters = dict(connection.execute("SELECT year, last FROM ref_counters").fetchall())
    except sqlite3.DatabaseError as err:
        return CopyCheck(
            f"unreadable: {err}", chain.Verification(False, 0, chain.GENESIS, None, str(err)), {}
        )
    return CopyCheck(integrity, verification, counters)


def sqlite_backup(source: Path, target: Path, *, busy_timeout_ms: int) -> None:
    """A consistent copy of ``source`` at ``target`` (which must not exist), made with the
    online backup API in one step (one read snapshot, committed WAL content included),
    turned into a single self-contained file and synced to disk."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(source, timeout=busy_timeout_ms / 1000)) as src,
        closing(sqlite3.connect(partial)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    os.chmod(partial, 0o600)
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, target)


def sqlite_restore(backup: Path, live: Path, *, busy_timeout_ms: int) -> None:
    """Copy ``backup`` page by page into the live database (one write transaction: a server
    still connected waits, then sees the restored data), and keep it in WAL mode."""
    with (
        closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(live, timeout=busy_timeout_ms / 1000)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")


def check_live(db: Database) -> CopyCheck | None:
    """The chain head and counters of the database in use (None if it has no schema yet)."""
    try:
        with db.engine.connect() as connection:
            head = connection.execute(text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
            counters = {
                int(y): int(n) for y, n in connection.execute(text("SELECT year, last FROM ref_counters"))
            }
    except Exception:  # noqa: BLE001 - no tables yet: nothing to protect
        return None
    return CopyCheck(
        "ok",
        chain.Verification(True, head[0], head[1], verified_seq=head[0]),
        counters,
    )


def keep_newest(folder: Path, pattern: str, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest files matching ``pattern``; return those deleted."""
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    gone = found[keep:]
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


# --- PostgreSQL ----------------------------------------------------------------------------


def _libpq(db: Database) -> tuple[str, str | None]:
    """The database URL as libpq reads it, and the schema named in its search_path option."""
    url = make_url(db.url).set(drivername="postgresql")
    options = str(url.query.get("options", ""))
    schema = (
        options.split("search_path=", 1)[1].split(",")[0].split()[0] if "search_path=" in options else None
    )
    return url.render_as_string(hide_password=False), schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return found


def pg_backup(db: Database, target: Path) -> chain.Verification:
    """pg_dump (custom format) of the snapshot in which the chain is verified, so the head
    printed is the dump's; the archive is then listed to prove it is complete."""
    url, schema = _libpq(db)
    partial = target.with_name(target.name + ".partial")
    with db.engine.connect() as connection:
        connection.exec_driver_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        args = [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            # The changes table's row security binds its owner too (school_scope): the dump
            # reads under it, with no school set, which is every row.
            "--enable-row-security",
            f"--snapshot={snapshot}",
            f"--file={partial}",
            f"--dbname={url}",
        ]
        if schema:
            args.append(f"--schema={schema}")
        subprocess.run(args, check=True, capture_output=True, text=True)
        head = connection.exec_driver_sql("SELECT seq, hash FROM audit_head WHERE id = 1").one()
        rows = (
            tuple(r)
            for r in connection.exec_driver_sql(
                "SELECT seq, at, actor, change_ref, event_type, payload, prev_hash, hash FROM audit_events "
                "ORDER BY seq"
            ).yield_per(5000)
        )
        verification = chain.walk(rows, head_seq=head[0], head_hash=head[1])
        connection.exec_driver_sql("COMMIT")
    subprocess.run([_tool("pg_restore"), "--list", str(partial)], check=True, capture_output=True)
    os.chmod(partial, 0o600)
    os.replace(partial, target)
    return verification


class ArchiveProblem(Exception):
    """pg_restore could not read or apply an archive: its own message, in one line."""


def _pg_restore(*args: str) -> str:
    """Run pg_restore; its output, or ArchiveProblem with the first line it complained in."""
    try:
        done = subprocess.run([_tool("pg_restore"), *args], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as err:
        said = [line.strip() for line in (err.stderr or "").splitlines() if line.strip()]
        raise ArchiveProblem(said[0] if said else f"pg_restore exited with status {err.returncode}") from None
    return done.stdout


_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.S)
_NAMED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copy_value(raw: str) -> str | None:
    """One field of COPY's text format: \\N is NULL; backslash escapes as PostgreSQL writes them."""
    if raw == "\\N":
        return None

    def one(m: re.Match[str]) -> str:
        if m.group(1):
            return chr(int(m.group(1), 8))
        if m.group(2):
            return chr(int(m.group(2), 16))
        return _NAMED.get(m.group(3), m.group(3))

    return _ESCAPE.sub(one, raw)


def _copy_tables(script: str) -> dict[str, list[dict[str, str | None]]]:
    """Each table's rows (column → text) in the COPY blocks of a pg_restore script."""
    tables: dict[str, list[dict[str, str | None]]] = {}
    columns: list[str] | None = None
    rows: list[dict[str, str | None]] = []
    for line in script.split("\n"):
        if columns is None:
            if line.startswith("COPY ") and line.endswith("FROM stdin;"):
                name = line[5:line.index(" (")].split(".")[-1].strip('"')
                columns = [c.strip().strip('"') for c in line[line.index("(") + 1:line.index(")")].split(",")]
                rows = tables.setdefault(name, [])
            continue
        if line == "\\.":
            columns = None
            continue
        rows.append(dict(zip(columns, (_copy_value(v) for v in line.split("\t")), strict=True)))
    return tables


def check_pg_archive(path: Path) -> CopyCheck:
    """Read a PostgreSQL archive without restoring it: pg_restore must list it (a damaged
    one: ArchiveProblem with pg_restore's own words), and its audit chain, read from the
    archive's data, must walk to its head."""
    _pg_restore("--list", str(path))
    script = _pg_restore("--data-only", "--table=audit_events", "--table=audit_head",
                         "--table=ref_counters", "--file=-", str(path))
    tables = _copy_tables(script)
    head = next(iter(tables.get("audit_head", [])), None)
    if head is None:
        return CopyCheck("ok", chain.Verification(True, 0, chain.GENESIS), {})
    events = sorted(tables.get("audit_events", []), key=lambda r: int(r["seq"] or 0))
    def row(r: dict[str, str | None]) -> chain.Row:
        def t(key: str) -> str:
            return r[key] or ""

        return (int(t("seq") or 0), t("at"), t("actor"), t("change_ref"), t("event_type"), t("payload"),
                t("prev_hash"), t("hash"))

    rows = (row(r) for r in events)
    verification = chain.walk(rows, head_seq=int(head["seq"] or 0), head_hash=str(head["hash"]))
    counters = {int(r["year"] or 0): int(r["last"] or 0) for r in tables.get("ref_counters", [])}
    return CopyCheck("ok", verification, counters)


def pg_restore(db: Database, backup: Path) -> None:
    """Replace the database's objects with the archive's, in one transaction (ArchiveProblem,
    in pg_restore's words, if it cannot)."""
    url, _ = _libpq(db)
    _pg_restore("--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                f"--dbname={url}", str(backup))


def bump_counters(db: Database, floor: dict[int, int]) -> dict[int, int]:
    """Raise each year's counter to at least ``floor`` (never lower it); return those raised."""
    raised: dict[int, int] = {}
    with db.engine.begin() as connection:
        current = {int(y): int(n) for y, n in connection.execute(text("SELECT year, last FROM ref_counters"))}
        for year, last in floor.items():
            if current.get(year, 0) >= last:
                continue
            if year in current:
                connection.execute(
                    text("UPDATE ref_counters SET last = :n WHERE year = :y"), {"n": last, "y": year}
                )
            else:
                connection.execute(
                    text("INSERT INTO ref_counters (year, last) VALUES (:y, :n)"), {"y": year, "n": last}
                )
            raised[year] = last
    return raised


def stage_sqlite(backup: Path, live: Path) -> Path:
    """A copy of ``backup`` beside the live database, to make ready before it replaces it
    (one left by an earlier restore that stopped part-way is replaced)."""
    staged = live.with_name(live.name + ".restoring")
    for leftover in (staged, staged.with_name(staged.name + "-wal"), staged.with_name(staged.name + "-shm")):
        leftover.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(f"file:{backup}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(staged)) as dst,
    ):
        src.backup(dst)
    os.chmod(staged, 0o600)
    return staged


def delivered_outbox(db: Database) -> dict[int, datetime]:
    """The notifications the database in use has delivered: id → when (empty without a schema)."""
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(select(_OUTBOX.c.id, _OUTBOX.c.delivered_at)
                                      .where(_OUTBOX.c.status == "delivered")).all()
    except Exception:  # noqa: BLE001 - no tables yet: nothing was delivered
        return {}
    return {int(row[0]): row[1] for row in rows}


def mark_delivered(db: Database, delivered: dict[int, datetime]) -> int:
    """In a restored database: the notifications still waiting in it that had in fact been
    delivered (after the backup was taken) are marked delivered, not sent again. Returns
    how many. (Core: one executemany per batch of ids.)"""
    if not delivered:
        return 0
    marked = 0
    ids = sorted(delivered)
    with db.engine.begin() as connection:
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            waiting = [row[0] for row in connection.execute(
                select(_OUTBOX.c.id).where(_OUTBOX.c.id.in_(batch), _OUTBOX.c.status != "delivered"))]
            if waiting:
                connection.execute(
                    _OUTBOX.update().where(_OUTBOX.c.id == bindparam("row_id"))
                    .values(status="delivered", delivered_at=bindparam("at"), lease_until=None),
                    [{"row_id": row_id, "at": delivered[row_id]} for row_id in waiting])
            marked += len(waiting)
    return marked
