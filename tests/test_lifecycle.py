"""The cycle end to end through the services, and the errors a person meets on the way."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotAllowed, NotFound, NotPermitted, Stale
from fitsflow.services import audit, stages
from fitsflow.services import changes as changes_service
from fitsflow.services import gates as gates_service

from . import factories as f


def test_full_fits_cycle_with_a_follow_up(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "closed")
    detail = changes_service.get_change(rt, actor_id=school.auditor, ref=ref)
    assert detail.change.state == "closed" and detail.change.phase == "review"
    gates = {(a.gate, a.role) for a in detail.approvals}
    assert gates == {("proceed", "finance"), ("proceed", "slt"), ("implement", "cab"), ("implement", "slt")}
    child = changes_service.spawn_follow_up(rt, actor_id=school.requester, ref=ref, title="Spares on site")
    assert child.state == "needs_analysis" and child.parent_ref == ref and child.category == "significant"
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).follow_ups == (child.ref,)
    assert audit.verify(rt).ok


@pytest.mark.parametrize("category,target", [("standard", "closed"), ("emergency", "closed"),
                                             ("minor", "withdrawn"), ("major", "backed_out")])
def test_each_shipped_workflow_reaches_its_ends(rt, category, target):
    school = f.School(rt)
    ref = f.change_in(rt, school, category, target)
    assert f.snapshot(rt, ref)[0] == target


def test_references_are_numbered_per_year(rt):
    school = f.School(rt)
    a = changes_service.raise_change(rt, actor_id=school.requester, title="A", category="minor")
    b = changes_service.raise_change(rt, actor_id=school.requester, title="B", category="minor")
    year = a.created_at.year
    assert (a.ref, b.ref) == (f"CHG-{year}-0001", f"CHG-{year}-0002")


def test_gate_names_what_is_missing(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Wifi", category="minor").ref
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    assert err.value.missing == ["no needs analysis"]
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=f.NEEDS)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=[
        {"year": 1, "kind": "capital", "amount": "5000", "funding_source": "Capital"},
        {"year": 3, "kind": "licence", "amount": "300", "funding_source": ""}])
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert err.value.missing == ["years 2, 4–5 unfunded", "no funding source for costs in year 3",
                                 "this change cannot be minor: it costs £5,300.00 over five years and minor "
                                 "is for up to £2,000.00. It must be significant (change its category)"]
    assert "“Submit for approval to proceed” is not possible yet" in str(err.value)


def test_quorum_counts_each_role_and_says_what_is_short(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")
    result = gates_service.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert result.outcome == "pending"
    assert result.missing == ("needs 1 more approval from Change advisory board (CAB)",
                              "needs 1 more approval from Senior leadership (SLT)",
                              "needs 1 more approval from Headteacher")
    gates_service.decide(rt, actor_id=school.cab[1], ref=ref, decision="approve")
    gates_service.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    final = gates_service.decide(rt, actor_id=school.head, ref=ref, decision="approve")
    assert final.outcome == "passed" and final.change.state == "approved"


def test_rejection_returns_to_planning_with_the_reason_and_a_new_round(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    with pytest.raises(InvalidInput) as err:
        gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="reject")
    assert "reason" in err.value.problems["comment"]
    result = gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="reject",
                             comment="Year 3 licence is not in the budget")
    assert result.outcome == "rejected" and result.change.state == "needs_analysis"
    assert result.change.phase == "planning"
    _, _, first_round = f.snapshot(rt, ref)
    f.fill_stages(rt, school.requester, ref, ("needs",))
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert f.snapshot(rt, ref)[2] == first_round + 1
    # The old rejection does not count against the new round; the same approver decides again.
    again = gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    assert again.outcome == "passed"
    events = [(e, r) for e, r in f.outbox_for(rt, ref) if e == "decided"]
    assert (("decided", school.requester) in events)
    exported = "".join(audit.export(rt, fmt="json", change_ref=ref))
    assert "Year 3 licence is not in the budget" in exported


def test_nobody_decides_their_own_change_or_twice(rt):
    school = f.School(rt)
    both = f.user(rt, "requester cab")
    ref = changes_service.raise_change(rt, actor_id=both, title="Mine", category="minor").ref
    f.fill_stages(rt, both, ref, ("needs",))
    changes_service.fire(rt, actor_id=both, ref=ref, trigger="complete_needs")
    f.fill_stages(rt, both, ref, ("finance",))
    changes_service.fire(rt, actor_id=both, ref=ref, trigger="submit_proceed")
    gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    f.fill_stages(rt, both, ref, ("release_plan",))
    changes_service.fire(rt, actor_id=both, ref=ref, trigger="submit_implement")
    before = f.counts(rt)
    with pytest.raises(NotPermitted, match="own change"):
        gates_service.decide(rt, actor_id=both, ref=ref, decision="approve")
    assert f.counts(rt) == before
    detail = changes_service.get_change(rt, actor_id=both, ref=ref)
    assert detail.gate is not None and not detail.gate.may_decide
    ref2 = f.change_in(rt, school, "major", "implement_approval")
    gates_service.decide(rt, actor_id=school.cab[0], ref=ref2, decision="approve")
    with pytest.raises(NotPermitted, match="already decided"):
        gates_service.decide(rt, actor_id=school.cab[0], ref=ref2, decision="approve")


def test_permissions_are_denied_unless_granted(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="X", category="minor").ref
    f.fill_stages(rt, school.requester, ref, ("needs",))
    with pytest.raises(NotPermitted, match="requester"):
        changes_service.fire(rt, actor_id=school.other_requester, ref=ref, trigger="complete_needs")
    with pytest.raises(NotPermitted):
        changes_service.fire(rt, actor_id=school.admin, ref=ref, trigger="complete_needs")
    with pytest.raises(NotPermitted):
        stages.record_needs(rt, actor_id=school.cab[0], ref=ref, data=f.NEEDS)
    with pytest.raises(NotPermitted):
        changes_service.raise_change(rt, actor_id=school.cab[0], title="Y", category="minor")
    with pytest.raises(NotPermitted, match=r"decided by: School business manager \(finance\)"):
        f.fill_stages(rt, school.requester, ref, ())
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
        f.fill_stages(rt, school.requester, ref, ("finance",))
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
        gates_service.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    # Audience-only people cannot see changes at all.
    with pytest.raises(NotFound):
        changes_service.get_change(rt, actor_id=school.staff, ref=ref)
    from fitsflow.services import change_search

    assert change_search.find(rt, actor_id=school.staff, filters=change_search.ChangeFilter()).total == 0


def test_invalid_trigger_names_the_allowed_ones(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    with pytest.raises(NotAllowed) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="release")
    assert err.value.allowed == ["approve", "reject", "withdraw"]
    assert str(err.value) == ("“Mark as released” is not possible now: the change is at "
                              "“Awaiting approval to proceed”. Possible now: Approve, Reject, "
                              "Withdraw the change.")
    with pytest.raises(NotAllowed):
        changes_service.fire(rt, actor_id=school.finance, ref=ref, trigger="approve_proceed")
    ref2 = f.change_in(rt, school, "minor", "approved")
    with pytest.raises(NotAllowed, match="Possible now: Schedule the release"):
        gates_service.decide(rt, actor_id=school.cab[0], ref=ref2, decision="approve")
    with pytest.raises(NotAllowed, match="“Edit the needs analysis” is not possible now: the change is at "
                                         "“Approved”"):
        stages.record_needs(rt, actor_id=school.requester, ref=ref2, data=f.NEEDS)


def test_stage_edits_are_audited_with_before_and_after(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="X", category="minor").ref
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=f.NEEDS)
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data={**f.NEEDS, "need": "Faster PCs"})
    import json
    events = json.loads("".join(audit.export(rt, fmt="json", change_ref=ref)))
    edits = [e for e in events if e["event_type"] == "stage.needs"]
    assert edits[0]["payload"]["before"] is None
    assert edits[1]["payload"]["before"]["need"] == f.NEEDS["need"]
    assert edits[1]["payload"]["after"]["need"] == "Faster PCs"


def test_bad_stage_input_changes_nothing(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    before, snap = f.counts(rt), f.snapshot(rt, ref)
    with pytest.raises(InvalidInput) as err:
        stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=[
            {"year": 9, "kind": "capital", "amount": "10", "funding_source": "x"},
            {"year": 1, "kind": "yacht", "amount": "-4", "funding_source": "x"}])
    assert set(err.value.problems) == {"line 1 year", "line 2 kind", "line 2 amount"}
    assert f.counts(rt) == before and f.snapshot(rt, ref) == snap


def test_stale_version_is_refused(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "implement_approval")
    version = f.snapshot(rt, ref)[1]
    with pytest.raises(Stale):
        gates_service.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve",
                        expected_version=version - 1)
    gates_service.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", expected_version=version)


def test_notifications_go_to_the_right_people(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")
    asked = {r for e, r in f.outbox_for(rt, ref) if e == "submitted"}
    assert asked == {school.finance, school.slt}
    gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates_service.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    decided = [r for e, r in f.outbox_for(rt, ref) if e == "decided"]
    assert decided.count(school.requester) == 2
    ref2 = f.change_in(rt, school, "minor", "scheduled")
    scheduled = {r for e, r in f.outbox_for(rt, ref2) if e == "scheduled"}
    # support audience (CAB members here), but never the actor themself
    assert scheduled == set(school.cab)


def test_follow_up_only_from_review(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    with pytest.raises(NotAllowed):
        changes_service.spawn_follow_up(rt, actor_id=school.requester, ref=ref, title="Too early")
    done = f.change_in(rt, school, "standard", "closed")
    child = changes_service.spawn_follow_up(rt, actor_id=school.requester, ref=done, title="Next need")
    assert child.category == "minor" and child.state == "needs_analysis"
    with pytest.raises(InvalidInput, match="needs analysis"):
        changes_service.spawn_follow_up(rt, actor_id=school.requester, ref=done, title="x",
                                        category="emergency")


def test_available_actions_come_from_the_engine(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="X", category="minor").ref
    mine = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    assert [(a.trigger, a.blocked_by) for a in mine.actions] == [
        ("complete_needs", ("no needs analysis",)), ("withdraw", ())]
    assert mine.editable_stages == ("needs",)
    theirs = changes_service.get_change(rt, actor_id=school.other_requester, ref=ref)
    assert theirs.actions == () and theirs.editable_stages == ()


def test_every_signal_has_recipients_and_a_receiver(sqlite_rt):

    from fitsflow import signals
    from fitsflow.config import NotifySettings
    from fitsflow.domain.vocabulary import SIGNAL_NAMES

    assert set(SIGNAL_NAMES) <= set(NotifySettings.model_fields)
    for name in SIGNAL_NAMES:
        assert signals.by_name(name).receivers, name
