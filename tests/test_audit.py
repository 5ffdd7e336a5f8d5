"""The audit chain: verified when untouched; any edit, deletion, reordering or insertion
made directly in the database is named by its first broken seq."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fitsflow.domain.chain import link_hash
from fitsflow.persistence.protection import drop_append_only_statements
from fitsflow.services import audit as audit_service

from . import factories as f


def _trail(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    f.change_in(rt, school, "minor", "scheduled")
    result = audit_service.verify(rt)
    assert result.ok and result.count > 20
    return result


def _sql(rt, *statements: str) -> None:  # type: ignore[no-untyped-def]
    with rt.db.engine.begin() as connection:
        for statement in drop_append_only_statements(rt.db.dialect):
            connection.execute(text(statement))
        for statement in statements:
            connection.execute(text(statement))


def test_untouched_chain_verifies_with_count_and_head(rt):
    result = _trail(rt)
    assert result.describe() == f"verified: {result.count} events, head {result.head_hash}"
    assert len(result.head_hash) == 64


def test_the_database_refuses_updates_and_deletes_of_audit_rows(rt):
    _trail(rt)
    for statement in ("UPDATE audit_events SET actor = 'x' WHERE seq = 3",
                      "DELETE FROM audit_events WHERE seq = 3"):
        with pytest.raises(DBAPIError, match="append-only"), rt.db.engine.begin() as connection:
            connection.execute(text(statement))
    assert audit_service.verify(rt).ok


def test_edit_is_named(rt):
    _trail(rt)
    _sql(rt, "UPDATE audit_events SET payload = '{\"to\":\"closed\"}' WHERE seq = 7")
    result = audit_service.verify(rt)
    assert (result.ok, result.broken_seq) == (False, 7)
    assert "edited" in result.describe()


def test_deletion_is_named(rt):
    _trail(rt)
    _sql(rt, "DELETE FROM audit_events WHERE seq = 5")
    assert audit_service.verify(rt).broken_seq == 5


def test_deleting_the_tail_is_named(rt):
    full = _trail(rt)
    _sql(rt, f"DELETE FROM audit_events WHERE seq >= {full.count - 1}")
    result = audit_service.verify(rt)
    assert result.broken_seq == full.count - 1 and "missing" in result.reason


def test_reordering_is_named(rt):
    _trail(rt)
    _sql(rt, "UPDATE audit_events SET seq = -1 WHERE seq = 4",
         "UPDATE audit_events SET seq = 4 WHERE seq = 9",
         "UPDATE audit_events SET seq = 9 WHERE seq = -1")
    assert audit_service.verify(rt).broken_seq == 4


def test_insertion_in_the_middle_is_named(rt):
    _trail(rt)
    with rt.db.read() as session:
        prev = session.execute(text("SELECT hash FROM audit_events WHERE seq = 5")).scalar_one()
    forged = link_hash(seq=6, at="2026-01-01T00:00:00+00:00", actor="mallory", change_ref="",
                       event_type="transition", payload="{}", prev_hash=prev)
    _sql(rt, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 6",
         "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1006",
         "INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, prev_hash, hash) "
         "VALUES (6, '2026-01-01T00:00:00+00:00', 'mallory', '', 'transition', '{}', "
         f"'{prev}', '{forged}')")
    # The forged event links correctly, so the break shows at the next one, which no longer does.
    result = audit_service.verify(rt)
    assert result.broken_seq == 7


def test_insertion_at_the_end_is_named(rt):
    full = _trail(rt)
    n = full.count + 1
    _sql(rt, "INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, prev_hash, hash) "
         f"VALUES ({n}, 'x', 'mallory', '', 'transition', '{{}}', '{full.head_hash}', 'bad')")
    assert audit_service.verify(rt).broken_seq == n


def test_a_rewritten_chain_is_caught_by_its_published_head(rt):
    published = _trail(rt).head_hash
    assert audit_service.verify(rt, expected_head=published).ok
    assert not audit_service.verify(rt, expected_head="f" * 64).ok


def test_export_csv_and_json_per_change(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    other = f.change_in(rt, school, "standard", "scheduled")
    rows = list(csv.DictReader(io.StringIO("".join(audit_service.export(rt, fmt="csv", change_ref=ref)))))
    assert rows and {r["change_ref"] for r in rows} == {ref}
    assert rows[0]["event_type"] == "change.raised"
    events = json.loads("".join(audit_service.export(rt, fmt="json")))
    assert {e["change_ref"] for e in events} >= {ref, other}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(isinstance(e["payload"], dict) for e in events)


def test_a_head_that_is_not_in_the_chain_is_said_plainly(rt):
    _trail(rt)
    described = audit_service.verify(rt, expected_head="f" * 64).describe()
    assert "None" not in described and "is not in this chain" in described


def test_the_page_check_reads_only_what_came_after_the_checkpoint(rt):
    from fitsflow.services import audit

    full = _trail(rt)  # a full walk sets the checkpoint
    status = audit.verify_recent(rt)
    assert status.result.ok and status.result.verified_seq == full.count and status.full_at is not None
    school = f.School(rt)
    f.change_in(rt, school, "minor", "financial_planning")
    walked: list[int] = []
    original = audit.audit_store.iter_rows

    def spy(session, **kwargs):  # type: ignore[no-untyped-def]
        for row in original(session, **kwargs):
            walked.append(row[0])
            yield row

    audit.audit_store.iter_rows = spy  # type: ignore[assignment]
    try:
        status = audit.verify_recent(rt)
    finally:
        audit.audit_store.iter_rows = original  # type: ignore[assignment]
    assert status.result.ok and walked and min(walked) == full.count + 1


def test_tampering_after_the_checkpoint_is_caught_by_the_next_page_view(rt):
    from fitsflow.services import audit

    full = _trail(rt)
    f.change_in(rt, f.School(rt), "minor", "financial_planning")
    after = full.count + 2
    _sql(rt, f"UPDATE audit_events SET actor = 'mallory' WHERE seq = {after}")
    status = audit.verify_recent(rt)
    assert (status.result.ok, status.result.broken_seq) == (False, after)


def test_tampering_before_the_checkpoint_is_caught_by_the_full_check(rt):
    from fitsflow.services import audit

    _trail(rt)
    _sql(rt, "UPDATE audit_events SET payload = '{}' WHERE seq = 5")
    # The page's check starts at the checkpoint, whose event still has its hash …
    assert audit.verify_recent(rt).result.ok
    # … the worker's scheduled full walk (and `fitsflow audit verify`) names seq 5.
    assert audit.full_check_due(rt, now=rt.now() + timedelta(hours=25), every=timedelta(hours=24))
    assert audit.verify(rt).broken_seq == 5


def test_an_edit_of_the_checkpointed_event_itself_is_caught_by_the_page(rt):
    from fitsflow.services import audit

    full = _trail(rt)
    _sql(rt, f"UPDATE audit_events SET hash = '{'0' * 64}' WHERE seq = {full.count}")
    status = audit.verify_recent(rt)
    assert (status.result.ok, status.result.broken_seq) == (False, full.count)


def test_the_worker_walks_the_whole_chain_when_the_last_full_walk_is_old(rt, caplog):
    from fitsflow.delivery.worker import Worker
    from fitsflow.persistence import audit_store

    f.change_in(rt, f.School(rt), "minor", "financial_planning")
    _sql(rt, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    worker = Worker.from_runtime(rt)
    with caplog.at_level("INFO", logger="fitsflow.security"):
        worker.run_once()
    checks = [r.fields for r in caplog.records if r.getMessage() == "audit.full_check"]  # type: ignore[attr-defined]
    assert checks and checks[0]["ok"] is False and "broken at seq 2" in checks[0]["detail"]
    with rt.db.read() as session:
        assert audit_store.checkpoint(session) is None  # a broken chain moves no checkpoint


@pytest.mark.parametrize("which", ["file_rt", pytest.param("pg_rt", marks=pytest.mark.postgres)])
def test_a_served_worker_walks_the_whole_chain_in_a_child_process(which, request, monkeypatch, caplog):
    """The walk is pure Python over every event: in a server worker it held the interpreter
    lock its requests share. A served worker's delivery thread walks it in a child process,
    which finds an edit as the walk here does, and moves the checkpoint only when it holds."""
    from fitsflow.delivery.worker import start_in_background
    from fitsflow.domain import chain
    from fitsflow.persistence import audit_store
    from fitsflow.services import audit

    rt = request.getfixturevalue(which)  # a database the child can open too
    full = _trail(rt)
    walked_here: list[int] = []
    real_walk = chain.walk
    monkeypatch.setattr(chain, "walk", lambda rows, **k: walked_here.append(1) or real_walk(rows, **k))
    found = audit.verify(rt, apart=True)
    assert (found.ok, found.count, found.head_hash) == (True, full.count, full.head_hash)
    assert walked_here == []  # not in this process
    with rt.db.read() as session:
        assert audit_store.checkpoint(session).full_at is not None  # type: ignore[union-attr]
    _sql(rt, "UPDATE audit_events SET payload = '{}' WHERE seq = 5")
    broken = audit.verify(rt, apart=True)
    assert (broken.ok, broken.broken_seq, walked_here) == (False, 5, [])
    # The delivery thread a server worker runs asks for it apart.
    background = start_in_background(rt)
    try:
        assert background.worker.chain_apart
    finally:
        background.close()
    # A child that cannot run: logged, and the walk is made here instead.
    monkeypatch.setattr(audit.sys, "executable", "/nonexistent/python")
    with caplog.at_level("WARNING", logger="fitsflow.audit"):
        here = audit.verify(rt, apart=True)
    assert (here.ok, here.broken_seq, walked_here) == (False, 5, [1])
    assert "could not run apart" in caplog.text
