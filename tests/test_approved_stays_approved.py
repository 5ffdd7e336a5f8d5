"""Issue: after the CAB approved CHG-2026-0013 the requester changed the back-out plan to
"none really", blanked the test plan and moved the window seven months; "Schedule" was then
offered with no blockers and nobody was told. Now what a gate approved is kept with its
digest; a material edit reopens the gate in a new round and tells its approvers, showing
field by field what changed; a small window move within tolerance needs only the CAB's
acknowledgement before the release can be scheduled."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitsflow.domain.errors import GateNotSatisfied, NotAllowed, NotPermitted
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import approved as approved_service
from fitsflow.services import changes as changes_service
from fitsflow.services import gates, stages

from . import factories as f


def _plan(rt, school, ref):  # type: ignore[no-untyped-def]
    plan = changes_service.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and plan.window_start is not None and plan.window_end is not None
    return plan


def _edit(rt, school, ref, **changes):  # type: ignore[no-untyped-def]
    plan = _plan(rt, school, ref)
    data = {"window_start": plan.window_start.isoformat(), "window_end": plan.window_end.isoformat(),
            "backout_plan": plan.backout_plan, "test_plan": plan.test_plan, "impact": plan.impact,
            "training": plan.training, "contact": plan.contact, "risk_answers": dict(plan.risk_answers)}
    data.update(changes)
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=data)


def _events(rt, ref, kind):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [json.loads(e.payload) for e in audit_store.iter_events(session, change_ref=ref)
                if e.event_type == kind]


def _bodies(rt, ref, uid):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    with rt.db.read() as session:
        return [m.body for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.change_ref == ref, OutboxMessage.recipient_id == uid)).all()]


def test_a_material_edit_reopens_the_gate_and_tells_its_approvers(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    round_before = f.snapshot(rt, ref)[2]
    _edit(rt, school, ref, backout_plan="none really", test_plan="")
    state, _, round_now = f.snapshot(rt, ref)
    assert state == "implement_approval" and round_now == round_before + 1
    reopened = _events(rt, ref, "approval.reopened")[-1]
    assert reopened["gate"] == "implement" and reopened["from"] == "approved"
    assert reopened["changes"] == ["back-out plan: “Reimage from backup” → “none really”",
                                   "test plan: “Log in as a student” → (empty)"]
    assert any("Changed since approval: back-out plan: “Reimage from backup” → “none really”" in b
               for b in _bodies(rt, ref, school.cab[0]))
    detail = changes_service.get_change(rt, actor_id=school.cab[0], ref=ref)
    (since,) = detail.since_approval
    assert not since.standing and [c.field for c in since.changes] == ["release_plan.backout_plan",
                                                                       "release_plan.test_plan"]
    # Earlier decisions no longer count: the CAB decides again, seeing what changed.
    assert detail.gate is not None and detail.gate.approvals == {} and detail.gate.may_decide
    with pytest.raises(NotAllowed):  # "Schedule" is no longer offered
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="reject",
                    comment="A back-out plan, please")
    assert f.snapshot(rt, ref)[0] == "release_planning"


def test_the_window_moved_seven_months_reopens_the_gate(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    plan = _plan(rt, school, ref)
    later = plan.window_start + timedelta(days=210)
    _edit(rt, school, ref, window_start=later.isoformat(),
          window_end=(later + timedelta(hours=2)).isoformat())
    assert f.snapshot(rt, ref)[0] == "implement_approval"
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert f.snapshot(rt, ref)[0] == "approved"
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")


def test_a_small_move_needs_only_the_cabs_acknowledgement(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    plan = _plan(rt, school, ref)
    moved = plan.window_start + timedelta(days=3)
    _edit(rt, school, ref, window_start=moved.isoformat(),
          window_end=(moved + timedelta(hours=2)).isoformat())
    assert f.snapshot(rt, ref)[0] == "approved"  # still approved …
    with pytest.raises(GateNotSatisfied) as err:  # … but not schedulable before the acknowledgement
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    assert any(m.startswith("not yet acknowledged since approval: window start:") for m in err.value.missing)
    assert any("Changed since approval: window start:" in b for b in _bodies(rt, ref, school.cab[0]))
    with pytest.raises(NotPermitted):
        approved_service.acknowledge(rt, actor_id=school.requester, ref=ref)
    with pytest.raises(NotPermitted):
        approved_service.acknowledge(rt, actor_id=school.finance, ref=ref)
    detail = changes_service.get_change(rt, actor_id=school.cab[0], ref=ref)
    assert detail.may_acknowledge and detail.since_approval[0].standing
    approved_service.acknowledge(rt, actor_id=school.cab[0], ref=ref)
    assert _events(rt, ref, "approval.acknowledged")[0]["gate"] == "implement"
    with pytest.raises(NotAllowed):
        approved_service.acknowledge(rt, actor_id=school.cab[0], ref=ref)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    assert f.snapshot(rt, ref)[0] == "scheduled"


def test_an_edit_back_to_what_was_approved_needs_nothing(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    plan = _plan(rt, school, ref)
    moved = plan.window_start + timedelta(days=1)
    _edit(rt, school, ref, window_start=moved.isoformat(),
          window_end=(moved + timedelta(hours=2)).isoformat())
    _edit(rt, school, ref, window_start=plan.window_start.isoformat(), window_end=plan.window_end.isoformat())
    assert changes_service.get_change(rt, actor_id=school.cab[0], ref=ref).since_approval == ()
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")


def test_each_decision_records_the_digest_of_what_it_approved(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    decided = _events(rt, ref, "approval.decided")
    assert all(len(d["digest"]) == 64 for d in decided)
    from fitsflow.persistence import approved_store, change_store

    with rt.db.read() as session:
        change = change_store.load(session, ref)
        assert change is not None
        rows = {r.gate: r.digest for r in approved_store.of_change(session, change.id)}
    assert rows["implement"] == [d for d in decided if d["gate"] == "implement"][-1]["digest"]
    assert rows["proceed"] == [d for d in decided if d["gate"] == "proceed"][-1]["digest"]


FIELDS = ("backout_plan", "test_plan", "impact", "training", "contact", "window")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.sampled_from(FIELDS), st.integers(min_value=1, max_value=40), min_size=1))
def test_every_edit_after_approval_reopens_exactly_the_right_gate(sqlite_rt, edits):
    """Random edits of an approved release plan: a window moved alone by up to 7 days waits
    for an acknowledgement; anything else reopens approval to implement (never approval to
    proceed, which did not approve the release plan); the difference shown is the edit."""
    rt = sqlite_rt
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    plan = _plan(rt, school, ref)
    changes: dict[str, str] = {}
    for name, n in edits.items():
        if name == "window":
            moved = plan.window_start + timedelta(days=n)
            changes["window_start"] = moved.isoformat()
            changes["window_end"] = (moved + (plan.window_end - plan.window_start)).isoformat()
        else:
            changes[name] = f"edited {n}"
    _edit(rt, school, ref, **changes)
    state, _, _ = f.snapshot(rt, ref)
    small = set(edits) == {"window"} and edits["window"] <= 7
    detail = changes_service.get_change(rt, actor_id=school.cab[0], ref=ref)
    assert state == ("approved" if small else "implement_approval")
    (since,) = detail.since_approval
    assert since.gate == "implement" and since.standing == small
    shown = {c.field.removeprefix("release_plan.") for c in since.changes}
    expected = {k for k in changes if not k.startswith("window")} | (
        {"window_start", "window_end"} if "window" in edits else set())
    assert shown == expected
    assert all(str(c.after) == changes.get(c.field.removeprefix("release_plan."), c.after)
               or c.field.startswith("release_plan.window") for c in since.changes)


def test_a_reopened_gate_is_shown_on_the_change_page(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "approved")
    _edit(sqlite_rt, school, ref, backout_plan="none really")
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Changed since approval to implement was given" in page
    assert "<td>back-out plan</td><td>Reimage from backup</td><td>none really</td>" in page

