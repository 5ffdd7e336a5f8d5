"""The audit chain: verified when untouched; any edit, deletion, reordering or insertion
made directly in the database is named by its first broken seq."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from fitsflow import services
from fitsflow.domain.chain import link_hash
from fitsflow.persistence.protection import drop_append_only_statements

from . import factories as f


def _trail(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    f.change_in(rt, school, "minor", "scheduled")
    result = services.verify_audit(rt)
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
    assert services.verify_audit(rt).ok


def test_edit_is_named(rt):
    _trail(rt)
    _sql(rt, "UPDATE audit_events SET payload = '{\"to\":\"closed\"}' WHERE seq = 7")
    result = services.verify_audit(rt)
    assert (result.ok, result.broken_seq) == (False, 7)
    assert "edited" in result.describe()


def test_deletion_is_named(rt):
    _trail(rt)
    _sql(rt, "DELETE FROM audit_events WHERE seq = 5")
    assert services.verify_audit(rt).broken_seq == 5


def test_deleting_the_tail_is_named(rt):
    full = _trail(rt)
    _sql(rt, f"DELETE FROM audit_events WHERE seq >= {full.count - 1}")
    result = services.verify_audit(rt)
    assert result.broken_seq == full.count - 1 and "missing" in result.reason


def test_reordering_is_named(rt):
    _trail(rt)
    _sql(rt, "UPDATE audit_events SET seq = -1 WHERE seq = 4",
         "UPDATE audit_events SET seq = 4 WHERE seq = 9",
         "UPDATE audit_events SET seq = 9 WHERE seq = -1")
    assert services.verify_audit(rt).broken_seq == 4


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
    result = services.verify_audit(rt)
    assert result.broken_seq == 7


def test_insertion_at_the_end_is_named(rt):
    full = _trail(rt)
    n = full.count + 1
    _sql(rt, "INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, prev_hash, hash) "
         f"VALUES ({n}, 'x', 'mallory', '', 'transition', '{{}}', '{full.head_hash}', 'bad')")
    assert services.verify_audit(rt).broken_seq == n


def test_a_rewritten_chain_is_caught_by_its_published_head(rt):
    published = _trail(rt).head_hash
    assert services.verify_audit(rt, expected_head=published).ok
    assert not services.verify_audit(rt, expected_head="f" * 64).ok


def test_export_csv_and_json_per_change(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    other = f.change_in(rt, school, "standard", "scheduled")
    rows = list(csv.DictReader(io.StringIO("".join(services.export_audit(rt, fmt="csv", change_ref=ref)))))
    assert rows and {r["change_ref"] for r in rows} == {ref}
    assert rows[0]["event_type"] == "change.raised"
    events = json.loads("".join(services.export_audit(rt, fmt="json")))
    assert {e["change_ref"] for e in events} >= {ref, other}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(isinstance(e["payload"], dict) for e in events)
