"""Issue 21: the gate benchmark's raw baseline (bench/raw_gate.py) skipped statements that
``gates.decide`` runs (ownership, the round's requirements, the calendar, the approved
snapshot, the audit head's lock...), so its ratio flattered nobody. Now one decision on each
side is traced and the statements compared as (verb, table) pairs in order: a statement
added to the project without its raw counterpart fails here. Both sides decide in one
database, so what they write is compared too, and the audit chain must hold across both."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from fitsflow import signals
from fitsflow.services import audit as audit_service
from fitsflow.services import gates
from fitsflow.services.runtime import Runtime

from .conftest import TEST_SCHEMA, require_postgres

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import raw_gate  # noqa: E402
from setup_gate import prepare  # noqa: E402

Pair = tuple[str, str]
_VERB = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_TABLE = {"SELECT": re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE),
          "DELETE": re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE),
          "INSERT": re.compile(r"\bINTO\s+(\w+)", re.IGNORECASE),
          "UPDATE": re.compile(r"^\s*UPDATE\s+(\w+)", re.IGNORECASE)}


def pairs(statements: list[str]) -> list[Pair]:
    """Each statement as (verb, table); transaction control (BEGIN, COMMIT) left out."""
    out = []
    for statement in statements:
        verb = _VERB.match(statement)
        if verb is None:
            continue
        name = verb.group(1).upper()
        table = _TABLE[name].search(statement)
        assert table, statement
        out.append((name, table.group(1).lower()))
    return out


def side_by_side(project: list[Pair], raw: list[Pair]) -> str:
    rows = [f"{i:>2}  {' '.join(p) if p else '-':<32} {' '.join(r) if r else '-'}"
            for i, (p, r) in enumerate(_zip_longest(project, raw), 1)]
    return "\n".join(["    project                          raw", *rows])


def _zip_longest(a: list[Pair], b: list[Pair]) -> Iterator[tuple[Pair | None, Pair | None]]:
    for i in range(max(len(a), len(b))):
        yield (a[i] if i < len(a) else None, b[i] if i < len(b) else None)


def project_statements(rt: Runtime, ref: str, approver: int) -> list[str]:
    """The statements one ``gates.decide`` sends, one per row an executemany writes (as the
    database runs them, and as the raw side's tracing sees them)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        seen.extend([statement] * (len(parameters) if many else 1))

    event.listen(rt.db.engine, "before_cursor_execute", note)
    try:
        assert gates.decide(rt, actor_id=approver, ref=ref, decision="approve").outcome == "passed"
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", note)
    return seen


@dataclass
class Bench:
    rt: Runtime
    url: str
    refs: list[str]
    approver: int
    raw_statements: Callable[[str], list[str]]  # decide one ref on the raw side, traced


Raw = tuple[Callable[[str], list[str]], Any]  # decide one ref (traced); the connection


def _sqlite_raw(url: str, approver: int) -> Raw:
    connection = raw_gate.connect_sqlite(url)

    def decide(ref: str) -> list[str]:
        seen: list[str] = []
        connection.set_trace_callback(seen.append)
        try:
            raw_gate.decide_sqlite(connection.cursor(), ref, approver)
        finally:
            connection.set_trace_callback(None)
        # One write transaction: the write lock taken at its start, committed at its end.
        assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT", (seen[0], seen[-1])
        assert not any(s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK") for s in seen[1:-1])
        return seen

    return decide, connection


def _postgres_raw(url: str, approver: int) -> Raw:
    import psycopg
    from psycopg.pq import TransactionStatus

    seen: list[str] = []

    class Tracing(psycopg.Cursor):
        def _note(self, query: Any, times: int) -> None:
            # Every statement inside the decision's one transaction.
            assert self.connection.info.transaction_status == TransactionStatus.INTRANS
            seen.extend([str(query)] * times)

        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            self._note(query, 1)
            return super().execute(query, params, **kwargs)

        def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> Any:
            rows = list(params_seq)
            self._note(query, len(rows))
            return super().executemany(query, rows, **kwargs)

    connection = raw_gate.connect_postgres(url, cursor_factory=Tracing)

    def decide(ref: str) -> list[str]:
        seen.clear()
        raw_gate.decide_postgres(connection, ref, approver)
        return list(seen)

    return decide, connection


def _pg_url(schema: str) -> str:
    url = make_url(require_postgres()).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """The bench's set-up (changes waiting at the implement gate), both sides in one database."""
    schema = f"{TEST_SCHEMA}_gate_fair"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('gate_fair') / 'bench.db'}"
    else:
        url = _pg_url(schema)
    rt, refs, approver = prepare(url, 12)
    decide, connection = (_sqlite_raw if request.param == "sqlite" else _postgres_raw)(url, approver)
    yield Bench(rt, url, refs, approver, decide)
    connection.close()
    if request.param == "postgres":
        with rt.db.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    rt.db.dispose()


def test_the_raw_side_runs_the_statements_the_project_runs(bench: Bench) -> None:
    # Decisions alternate between the sides (the first of each warms up); each side's
    # statements are the same from one decision to the next, and the same as the other's.
    refs = iter(bench.refs)
    project = [pairs(project_statements(bench.rt, next(refs), bench.approver)) for _ in range(3)]
    raw = [pairs(bench.raw_statements(next(refs))) for _ in range(3)]
    assert project[1] == project[2] and raw[1] == raw[2]
    assert project[2] == raw[2], "\n" + side_by_side(project[2], raw[2])
    assert len(project[2]) >= 16


def test_a_statement_new_on_the_project_side_is_noticed(bench: Bench) -> None:
    def also_reads(change: Any, *, session: Any, **_: Any) -> None:
        session.connection().execute(text("SELECT id FROM calendar_periods"))

    refs = iter(bench.refs[6:])
    with signals.decided.connected_to(also_reads):
        project = pairs(project_statements(bench.rt, next(refs), bench.approver))
    raw = pairs(bench.raw_statements(next(refs)))
    assert project != raw
    assert [p for p in project if p != ("SELECT", "calendar_periods")] == \
        [r for r in raw if r != ("SELECT", "calendar_periods")]


def _written(bench: Bench, ref: str) -> dict[str, Any]:
    """What a decision on ``ref`` (the last one made) left, with its reference and timestamps
    set aside."""
    with bench.rt.db.engine.connect() as c:
        cid, state, version = c.execute(text("SELECT id, state, version FROM changes WHERE ref = :r"),
                                        {"r": ref}).one()
        head = c.execute(text("SELECT * FROM audit_head")).one()._mapping
        return {
            # The cached reads whose version moved with the head.
            "moved": sorted(k for k, v in head.items() if k.endswith("_seq") and v == head["seq"]),
            "change": (state, version),
            "approvals": c.execute(text("SELECT gate, round, approver_id, role, decision, comment, acted_by "
                                        "FROM approvals WHERE change_id = :c ORDER BY id"), {"c": cid}).all(),
            "snapshots": c.execute(text("SELECT gate, round, digest, snapshot, active, acknowledge "
                                        "FROM approved_snapshots WHERE change_id = :c ORDER BY gate"),
                                   {"c": cid}).all(),
            "outbox": [tuple(str(v).replace(ref, "REF") for v in row) for row in c.execute(text(
                "SELECT event, channel, recipient_id, subject, body, payload, status, attempts, last_error "
                "FROM outbox WHERE change_ref = :r ORDER BY recipient_id"), {"r": ref})],
            "audit": c.execute(text("SELECT actor, event_type, payload FROM audit_events "
                                    "WHERE change_ref = :r ORDER BY seq DESC LIMIT 2"), {"r": ref}).all(),
        }


def test_the_raw_side_writes_what_the_project_writes(bench: Bench) -> None:
    # The earlier tests decided refs[0:8] alternately; a fresh pair here whatever ran before.
    project_ref, raw_ref = bench.refs[10], bench.refs[11]
    project_statements(bench.rt, project_ref, bench.approver)
    project = _written(bench, project_ref)
    bench.raw_statements(raw_ref)
    raw = _written(bench, raw_ref)
    assert project["outbox"] and project["snapshots"]
    # No cached read's version moves with a decision: the schedule and the feeds read the
    # versions of their own range's changes.
    assert project["moved"] == []
    assert project == raw
    # The raw side's events link into the one chain, and its head moved with them.
    assert audit_service.verify(bench.rt).ok
