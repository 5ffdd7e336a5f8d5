"""Raising a term's recurring work (issue 25.2) against the same rows written as raw inserts.

A school with the autumn term in its calendar (a half-term inside) and 12 recurrences of a
standard-change template — weekly on each weekday, fortnightly, the first Tuesday of each
month, the third school day of the term — each agreed to raise its occurrences 60 days ahead,
so two sweeps (``recurrences.raise_due``, 1 September and 1 November) raise the whole term's:
each occurrence in its own transaction, claimed, raised as a standard change from the template
with its window, audited.

The raw side replays, with the driver alone (sqlite3 / psycopg, the same pragmas and
``BEGIN IMMEDIATE``), every INSERT, UPDATE and DELETE the project's sweep wrote — the same
statements with the same values, transaction by transaction — on an identical copy of the
database taken before the sweep: the rows, without the reads, checks and decisions that chose
them. Both sides run on fresh copies each round, interleaved.

    python bench/recurrence_bench.py [--rounds 5]
                                     [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints ``ratio: X.XX`` (raw inserts time ÷ project time; target ≥ 0.5)."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import event, make_url  # noqa: E402
from web_bench import pg_schema_url  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.persistence.migrate import upgrade  # noqa: E402
from fitsflow.services import calendar, catalogue, recurrences  # noqa: E402
from fitsflow.services.runtime import Runtime  # noqa: E402
from tests import factories as f  # noqa: E402

RULES = [
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=TU",
    "FREQ=WEEKLY;BYDAY=WE",
    "FREQ=WEEKLY;BYDAY=TH",
    "FREQ=WEEKLY;BYDAY=FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
    "FREQ=MONTHLY;BYDAY=1TU",
    "FREQ=MONTHLY;BYDAY=1WE",
    "FREQ=MONTHLY;BYDAY=-1FR",
    "termly:3",
    "termly:10",
]
BEFORE_TERM = (2026, 9, 1, 7, 0)
# Each recurrence raises 60 days ahead (the most it may): two sweeps raise the term's.
SWEEPS = ((2026, 9, 2, 7, 0), (2026, 11, 1, 7, 0))


def runtime(url: str) -> Runtime:
    rt = build_runtime(load_settings(environ={}), database_url=url)
    rt.clock.set(datetime(*BEFORE_TERM, tzinfo=rt.timezone))
    return rt


def set_up(url: str) -> None:
    """The school, its calendar, the template and the 12 recurrences (nothing raised yet)."""
    rt = runtime(url)
    upgrade(rt.db)
    school = f.School(rt)
    catalogue.save_service(rt, actor_id=None, name=f.TEMPLATE_SERVICE)
    template = f.standard_template(rt, school)
    for kind, title, start, end in (
        ("term", "Autumn", "2026-09-03", "2026-12-18"),
        ("half_term", "Autumn half-term", "2026-10-26", "2026-10-30"),
    ):
        calendar.add_period(rt, actor_id=None, kind=kind, title=title, start=start, end=end)
    for n, rule in enumerate(RULES):
        recurrences.add(
            rt,
            actor_id=school.requester,
            template=template,
            title=f"Routine work {n + 1}",
            rule=rule,
            first_day="2026-09-03",
            starts="07:00",
            minutes=60,
            on_closed="next_school_day",
            ahead_days=60,
            cost="",
        )
    rt.db.dispose()


def sweep(url: str, record: list[tuple[str, Any, bool]] | None = None) -> tuple[float, int]:
    """The project's sweep on the database at ``url``: its time and how many it raised; with
    ``record``, every write statement it made and each commit."""
    rt = runtime(url)
    if record is not None:

        @event.listens_for(rt.db.engine, "before_cursor_execute")
        def _write(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
            if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                record.append((statement, parameters, many))

        @event.listens_for(rt.db.engine, "commit")
        def _commit(conn: Any) -> None:
            record.append(("COMMIT", None, False))

    with rt.db.read() as session:  # connected, as a server's worker is, before the sweep
        session.connection()
    start = time.perf_counter()
    raised = sum(recurrences.raise_due(rt, now=datetime(*moment, tzinfo=rt.timezone)) for moment in SWEEPS)
    took = time.perf_counter() - start
    rt.db.dispose()
    return took, raised


def transactions(record: list[tuple[str, Any, bool]]) -> list[list[tuple[str, Any, bool]]]:
    out: list[list[tuple[str, Any, bool]]] = [[]]
    for statement, parameters, many in record:
        if statement == "COMMIT":
            out.append([])
        else:
            out[-1].append((statement, parameters, many))
    return [t for t in out if t]


def replay_sqlite(path: Path, writes: list[list[tuple[str, Any, bool]]]) -> float:
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute("PRAGMA foreign_keys=ON")
    start = time.perf_counter()
    for transaction in writes:
        raw.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in transaction:
            if many:
                raw.executemany(statement, parameters)
            else:
                raw.execute(statement, parameters).fetchall()
        raw.execute("COMMIT")
    took = time.perf_counter() - start
    raw.close()
    return took


def replay_postgres(url: str, schema: str, writes: list[list[tuple[str, Any, bool]]]) -> float:
    import psycopg

    plain = make_url(url).set(drivername="postgresql")
    raw = psycopg.connect(plain.render_as_string(hide_password=False), options=f"-csearch_path={schema}")
    start = time.perf_counter()
    with raw.cursor() as cursor:
        for transaction in writes:
            for statement, parameters, many in transaction:
                if many:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
            raw.commit()
    took = time.perf_counter() - start
    raw.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--postgres", metavar="URL", help="On PostgreSQL (raw side: psycopg), schemas of its own."
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fitsflow-recurrence-bench-"))
    record: list[tuple[str, Any, bool]] = []
    ours: list[float] = []
    theirs: list[float] = []
    if args.postgres:

        def fresh(name: str) -> str:
            url = pg_schema_url(args.postgres, name)
            set_up(url)
            return url

        _, raised = sweep(fresh("bench_rec_record"), record)
        writes = transactions(record)
        for _ in range(args.rounds):
            took, count = sweep(fresh("bench_rec_project"))
            assert count == raised
            ours.append(took)
            fresh("bench_rec_raw")
            theirs.append(replay_postgres(args.postgres, "bench_rec_raw", writes))
    else:
        base = folder / "base.db"
        set_up(f"sqlite:///{base}")

        def copy(name: str) -> Path:
            target = folder / name
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{base}{suffix}").exists():
                    shutil.copyfile(f"{base}{suffix}", f"{target}{suffix}")
            return target

        _, raised = sweep(f"sqlite:///{copy('record.db')}", record)
        writes = transactions(record)
        for n in range(args.rounds):
            took, count = sweep(f"sqlite:///{copy(f'project-{n}.db')}")
            assert count == raised
            ours.append(took)
            theirs.append(replay_sqlite(copy(f"raw-{n}.db"), writes))
    statements = sum(len(t) for t in writes)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(
        f"a term's sweep: {raised} occurrences raised in {len(writes)} transactions, {statements} writes "
        f"({statements / max(raised, 1):.1f} each)"
    )
    print(
        f"project {statistics.median(ours) * 1000:.0f} ms, "
        f"raw inserts {statistics.median(theirs) * 1000:.0f} ms "
        f"(median of {len(ours)}; {statistics.median(ours) / max(raised, 1) * 1000:.2f} ms an occurrence)"
    )
    print(
        f"ratio: {statistics.median(theirs) / statistics.median(ours):.2f} "
        "(raw inserts ÷ project; target ≥ 0.5)"
    )


if __name__ == "__main__":
    main()
