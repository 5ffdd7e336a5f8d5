"""Issue: a change record was mutable but saved in part — ``_save`` wrote 6 of its 20
fields, so setting the title and committing left the title as it was while the version
went 1 → 2, silently — and records were built by position, so column order was
load-bearing. A change record is now saved whole when anything in it changed, and built
from named columns."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from fitsflow.persistence import change_store
from fitsflow.persistence.change_store import ChangeRecord
from fitsflow.services import category, changes, ownership, stages, users

from . import factories as f


def _stored(rt, ref: str) -> ChangeRecord:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        found = change_store.load(session, ref)
    assert found is not None
    return found


# A new value for every field a save may write (the record's identity and birth — id,
# ref, created_at — never change).
def _new_values(rt, school, record: ChangeRecord) -> dict[str, object]:  # type: ignore[no-untyped-def]
    other = f.change_in(rt, school, "minor", "needs_analysis", title="Another")
    return {
        "title": "A new title", "description": "A new description", "category": "significant",
        "workflow": record.workflow, "requester_id": school.cab[0], "affected_services": "Wi-Fi\nPrinting",
        "state": "financial_planning", "approval_round": record.approval_round + 3, "horizon_years": 7,
        "parent_id": _stored(rt, other).id, "updated_at": rt.now() + timedelta(days=1),
        "urgency": "Now", "template_id": None, "workflow_version": record.workflow_version,
        "planned_cost": Decimal("1234.50"), "emergency_purpose": "protect",
    }


def test_every_field_set_on_a_record_is_saved_without_being_told(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = _stored(rt, ref)
    values = _new_values(rt, school, before)
    assert set(values) == set(before.persisted())  # the test covers every saved field
    with rt.db.transaction() as session:
        record = change_store.load(session, ref)
        assert record is not None
        for name, value in values.items():
            setattr(record, name, value)
        # No touch(): a record that changed is saved all the same.
    after = _stored(rt, ref)
    assert {name: getattr(after, name) for name in values} == values
    assert after.version == before.version + 1
    assert (after.id, after.ref, after.created_at) == (before.id, before.ref, before.created_at)


def test_an_unchanged_record_is_not_written(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = _stored(rt, ref)
    with rt.db.transaction() as session:
        record = change_store.load(session, ref)
        assert record is not None and not record.dirty
        record.title = record.title  # the same value: nothing changed
    assert _stored(rt, ref).version == before.version


def test_each_service_that_changes_a_change_is_read_back(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    v = _stored(rt, ref).version
    # The planned cost, with the financial plan.
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=f.five_year_lines())
    stored = _stored(rt, ref)
    assert stored.planned_cost == Decimal("1700") and stored.version == v + 1
    # The category (while it is still being planned).
    category.change_category(rt, actor_id=school.requester, ref=ref, category="significant",
                             reason="Bigger than thought")
    assert _stored(rt, ref).category == "significant"
    # The state and the round, through the gate.
    changes.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    stored = _stored(rt, ref)
    assert stored.state == "proceed_approval" and stored.approval_round == 1
    # The requester, handed over.
    other = users.add_user(rt, name="Tia Morgan", email="tia.morgan@test.school", roles="requester",
                              audiences="support")
    ownership.transfer(rt, actor_id=school.requester, ref=ref, to_email="tia.morgan@test.school",
                                reason="Nat is on leave")
    stored = _stored(rt, ref)
    assert (stored.requester_id, stored.requester_name) == (other, "Tia Morgan")
    assert stored.version > v + 2
    # What a service says is the committed version is what is stored.
    page = changes.get_change(rt, actor_id=other, ref=ref)
    assert page.change.version == stored.version
