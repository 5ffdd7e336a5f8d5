"""Issue: only the requester could act on a change, so a network manager off sick stopped
everything. Now the owner (or the head, or an admin) hands a change to another requester
with a reason; co-owners edit its stages; owners never decide on it; the audit records it."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.persistence import audit_store
from fitsflow.services import changes as changes_service
from fitsflow.services import gates, ownership
from fitsflow.services import stages as stages_service

from . import factories as f


def _emails(rt, *uids):  # type: ignore[no-untyped-def]
    from fitsflow.persistence.models import User

    with rt.db.read() as session:
        return [session.get(User, uid).email for uid in uids]  # type: ignore[union-attr]


def test_the_owner_or_the_head_hands_a_change_on_with_a_reason(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    other, = _emails(rt, school.other_requester)
    with pytest.raises(InvalidInput) as err:
        ownership.transfer(rt, actor_id=school.requester, ref=ref, to_email=other, reason="  ")
    assert "reason" in err.value.problems
    with pytest.raises(NotPermitted):
        ownership.transfer(rt, actor_id=school.cab[0], ref=ref, to_email=other, reason="Off sick")
    cab_email, = _emails(rt, school.cab[0])
    with pytest.raises(InvalidInput, match="email"):  # only to someone who raises changes
        ownership.transfer(rt, actor_id=school.head, ref=ref, to_email=cab_email, reason="Off sick")
    view = ownership.transfer(rt, actor_id=school.head, ref=ref, to_email=other, reason="Nat is off sick")
    assert view.requester_id == school.other_requester
    # The new owner edits and submits; the old one no longer may.
    stages_service.record_financial_plan(rt, actor_id=school.other_requester, ref=ref,
                                         lines=f.five_year_lines())
    with pytest.raises(NotPermitted):
        stages_service.record_financial_plan(rt, actor_id=school.requester, ref=ref,
                                             lines=f.five_year_lines())
    changes_service.fire(rt, actor_id=school.other_requester, ref=ref, trigger="submit_proceed")
    with rt.db.read() as session:
        moved = [e.payload for e in audit_store.iter_events(session, change_ref=ref)
                 if e.event_type == "change.transferred"]
    assert len(moved) == 1 and "Nat is off sick" in moved[0]


def test_co_owners_edit_stages_and_never_decide(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    cab_email, other = _emails(rt, school.cab[0], school.other_requester)
    ownership.add_co_owner(rt, actor_id=school.requester, ref=ref, email=other)
    with pytest.raises(InvalidInput, match="already"):
        ownership.add_co_owner(rt, actor_id=school.requester, ref=ref, email=other)
    stages_service.record_financial_plan(rt, actor_id=school.other_requester, ref=ref,
                                         lines=f.five_year_lines())
    detail = changes_service.get_change(rt, actor_id=school.other_requester, ref=ref)
    assert "finance" in detail.editable_stages
    assert [c[0] for c in detail.co_owners] == [school.other_requester]
    # A co-owner who also approves may not decide on it.
    f.user(rt, "requester finance", "", "Bursar")
    bursar = f.user(rt, "requester finance", "", "Bursar two")
    bursar_email, = _emails(rt, bursar)
    ownership.add_co_owner(rt, actor_id=school.requester, ref=ref, email=bursar_email)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    with pytest.raises(NotPermitted, match="own or have owned"):
        gates.decide(rt, actor_id=bursar, ref=ref, decision="approve")
    ownership.remove_co_owner(rt, actor_id=school.requester, ref=ref, user_id=school.other_requester)
    with pytest.raises(InvalidInput):
        ownership.remove_co_owner(rt, actor_id=school.requester, ref=ref, user_id=school.other_requester)


def test_the_change_page_hands_a_change_over(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "financial_planning")
    client = app.test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Hand over, or add a co-owner" in page
    version = changes_service.get_change(sqlite_rt, actor_id=school.requester, ref=ref).change.version
    r = post(client, f"/changes/{ref}/owner", {"email": school.emails[school.other_requester],
                                               "reason": "Moving to the trust team", "version": str(version)},
             page=f"/changes/{ref}")
    assert r.status_code == 302
    assert changes_service.get_change(sqlite_rt, actor_id=school.auditor, ref=ref).change.requester_id == \
        school.other_requester


def test_nobody_decides_on_a_change_they_ever_owned_by_any_route(rt, tmp_path):
    """Issue 20.4: the bursar raised it and handed it over; a co-owner was removed; neither
    may decide at any gate (service, API, queue, or as someone's substitute)."""
    from datetime import timedelta

    from fitsflow.services import absences, queues

    from .web_support import bearer, make_app

    school = f.School(rt)
    bursar = f.user(rt, "requester finance", "support", "Bursar who raised it")
    helper = f.user(rt, "requester finance", "support", "Bursar who helped")
    school.requester = bursar
    ref = f.change_in(rt, school, "minor", "financial_planning")
    other, helper_email, bursar_email = _emails(rt, school.other_requester, helper, bursar)
    ownership.add_co_owner(rt, actor_id=bursar, ref=ref, email=helper_email)
    ownership.transfer(rt, actor_id=bursar, ref=ref, to_email=other, reason="Moving to the trust")
    ownership.remove_co_owner(rt, actor_id=school.other_requester, ref=ref, user_id=helper)
    stages_service.record_financial_plan(rt, actor_id=school.other_requester, ref=ref,
                                         lines=f.five_year_lines())
    changes_service.fire(rt, actor_id=school.other_requester, ref=ref, trigger="submit_proceed")
    before = f.snapshot(rt, ref)
    for past_owner in (bursar, helper):
        with pytest.raises(NotPermitted, match="own or have owned"):
            gates.decide(rt, actor_id=past_owner, ref=ref, decision="approve")
        assert ref not in [c.ref for c in queues.awaiting_decision(rt, actor_id=past_owner).items]
    client = make_app(rt, tmp_path).test_client()
    answer = client.post(f"/api/v1/changes/{ref}/decision", json={"decision": "approve"},
                         headers=bearer(rt, bursar))
    assert answer.status_code == 403 and "own or have owned" in answer.get_json()["error"]
    # As the absent finance approver's substitute: still the change they wrote.
    finance_email, = _emails(rt, school.finance)
    today = rt.today()
    absences.record(rt, actor_id=school.finance, substitute_email=bursar_email, first_day=today,
                    last_day=today + timedelta(days=3))
    with pytest.raises(NotPermitted, match="own or have owned"):
        gates.decide(rt, actor_id=bursar, ref=ref, decision="approve", on_behalf_of=school.finance)
    assert f.snapshot(rt, ref) == before
    # Someone who never owned it decides as before.
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve", role="finance")
