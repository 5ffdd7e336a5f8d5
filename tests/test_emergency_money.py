"""Issue 20.1: "Buy 300 iPads" raised as an emergency with a £0 plan passed with one SLT
approval and was released the same day — no finance, head or governors asked. Now an
emergency says whether it restores a service that is down or protects one at risk; the
approval policy's rules apply to it: spend above the first band needs the policy's approvers
before release (protect) or before it closes (restore: with its actual spend), flagged on the
register until then."""

from __future__ import annotations

from typing import Any

from fitsflow.services import changes as changes_service
from fitsflow.services import gates, register, stages
from fitsflow.services.change_search import ChangeFilter

from . import factories as f

IPADS = [{"year": 1, "kind": "capital", "amount": "120000", "funding_source": "Capital grant"}]
IPADS_SPENT: dict[str, Any] = {**f.REVIEW, "actual_costs": IPADS}


def _emergency(rt, school, purpose: str, lines: list[dict[str, Any]] | None) -> str:  # type: ignore[no-untyped-def]
    view = changes_service.raise_change(rt, actor_id=school.requester, title="300 iPads",
                                        category="emergency", emergency_purpose=purpose,
                                        urgency="Seen at a show: the offer ends Friday")
    stages.record_needs(rt, actor_id=school.requester, ref=view.ref, data=f.NEEDS)
    stages.record_release_plan(rt, actor_id=school.requester, ref=view.ref, data=f.release_plan(rt))
    if lines is not None:
        stages.record_financial_plan(rt, actor_id=school.requester, ref=view.ref, lines=lines)
    changes_service.fire(rt, actor_id=school.requester, ref=view.ref, trigger="submit")
    return view.ref


def test_protecting_a_service_the_money_is_approved_before_release(rt):
    school = f.School(rt)
    governors = f.user(rt, "governors", "", "Chair of finance")
    ref = _emergency(rt, school, "protect", IPADS)
    result = gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    assert result.outcome == gates.PENDING
    missing = " ".join(result.missing).lower()
    assert "finance" in missing and "head" in missing and "governors" in missing
    for uid in (school.finance, school.head, governors):
        result = gates.decide(rt, actor_id=uid, ref=ref, decision="approve")
    assert result.outcome == gates.PASSED


def test_within_the_first_band_the_emergency_approvers_word_is_enough(rt):
    school = f.School(rt)
    small = [{"year": 1, "kind": "capital", "amount": "1500", "funding_source": "Repairs budget"}]
    ref = _emergency(rt, school, "protect", small)
    assert gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve").outcome == gates.PASSED


def test_restoring_a_service_a_zero_plan_goes_ahead_but_the_spend_is_approved_before_it_closes(rt):
    school = f.School(rt)
    governors = f.user(rt, "governors", "", "Chair of finance")
    ref = _emergency(rt, school, "restore", None)  # no plan at all: "£0"
    assert gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve").outcome == gates.PASSED
    for trigger in ("release", "open_review"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger=trigger,
                             reason="Restored at once", notices=f.unsent_published(rt, school.requester, ref))
    stages.record_review(rt, actor_id=school.requester, ref=ref,
                         data=f.review_of(rt, school.requester, ref, IPADS_SPENT))
    row = register.page(rt, actor_id=school.auditor, filters=ChangeFilter(q=ref)).items[0]
    assert "£120,000.00" in row.money_awaiting and "before it closes" in row.money_awaiting
    f.give_feedback(rt, ref)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_retrospective")
    result = gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert result.outcome == gates.PENDING and result.change.state == "retrospective"
    for uid in (school.finance, school.slt, school.head, governors):
        result = gates.decide(rt, actor_id=uid, ref=ref, decision="approve")
    assert result.change.state == "closed"
    row = register.page(rt, actor_id=school.auditor, filters=ChangeFilter(q=ref)).items[0]
    assert row.money_awaiting == ""
