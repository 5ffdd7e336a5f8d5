"""Issue: an "emergency" change to buy 300 iPads went through on one SLT click with no
reason; nothing looked back at it. Now an emergency says why it cannot wait (on the page,
in the API and the audit), one SLT approval lets it proceed, and afterwards the CAB's
retrospective review — accept, or require follow-up actions — must be done before it can
close."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotAllowed
from fitsflow.services import changes as changes_service
from fitsflow.services import gates, queues

from . import factories as f


def test_an_emergency_must_say_why_it_cannot_wait(rt):
    school = f.School(rt)
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=school.requester, title="300 iPads", category="emergency")
    assert "cannot wait" in err.value.problems["urgency"]
    with pytest.raises(InvalidInput):
        changes_service.raise_change(rt, actor_id=school.requester, title="300 iPads", category="emergency",
                              urgency="   ")
    with pytest.raises(InvalidInput) as err:  # … and whether it restores or protects a service
        changes_service.raise_change(rt, actor_id=school.requester, title="300 iPads", category="emergency",
                                     urgency="Seen at a show: the offer ends Friday")
    assert "restore" in err.value.problems["emergency_purpose"]
    view = changes_service.raise_change(rt, actor_id=school.requester, title="Core switch",
                                        category="emergency", emergency_purpose="restore",
                                        urgency="The main block has no network")
    assert view.emergency_purpose == "restore"
    assert view.urgency == "The main block has no network"
    from fitsflow.persistence import audit_store

    with rt.db.read() as session:
        raised = next(e.payload for e in audit_store.iter_events(session, change_ref=view.ref)
                      if e.event_type == "change.raised")
    assert "The main block has no network" in raised
    # Other categories need none.
    assert changes_service.raise_change(rt, actor_id=school.requester, title="PCs",
                                        category="minor").urgency == ""


def test_an_emergency_cannot_close_before_the_cabs_retrospective(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "emergency", "in_review")
    f.fill_stages(rt, school.requester, ref, ("review",))
    with pytest.raises(NotAllowed) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert err.value.allowed == ["submit_retrospective"]
    assert "Possible now: Submit for the CAB's retrospective." in str(err.value)
    with pytest.raises(GateNotSatisfied, match="360° feedback: 0 of the 2 groups"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_retrospective")
    f.give_feedback(rt, ref)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_retrospective")
    detail = changes_service.get_change(rt, actor_id=school.cab[0], ref=ref)
    assert detail.gate is not None and detail.gate.name == "retrospective" and detail.gate.may_decide
    assert [c.ref for c in queues.awaiting_decision(rt, actor_id=school.cab[0]).items] == [ref]
    # Require follow-up actions: back to the review, with the actions as the reason.
    result = gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="reject",
                             comment="Add the switch to the spares list; update the runbook")
    assert result.change.state == "in_review"
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_retrospective")
    result = gates.decide(rt, actor_id=school.cab[1], ref=ref, decision="approve", comment="Accepted")
    # It restored a service, spending above the policy's first band: the money's approvers
    # are asked before it closes.
    assert result.outcome == "pending" and any("Finance" in m or "finance" in m for m in result.missing)
    for role in ("finance", "slt", "head"):
        if any(role in m.lower() for m in result.missing):
            result = gates.decide(rt, actor_id=getattr(school, role), ref=ref, decision="approve")
    assert result.outcome == "passed" and result.change.state == "closed"
    outcomes = [(a.gate, a.decision, a.comment) for a in changes_service.get_change(
        rt, actor_id=school.auditor, ref=ref).approvals if a.gate == "retrospective"]
    assert outcomes[:2] == [
        ("retrospective", "reject", "Add the switch to the spares list; update the runbook"),
        ("retrospective", "approve", "Accepted")]
    assert [o[1] for o in outcomes[2:]] == ["approve"] * (len(outcomes) - 2) and len(outcomes) > 2


def test_the_reason_is_on_the_change_page_and_in_the_api(sqlite_rt, tmp_path):
    from fitsflow.services import auth

    from .web_support import WebSchool, login, make_app

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "emergency", "emergency_approval")
    client = app.test_client()
    login(client, school.emails[school.slt])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Emergency: why it could not wait." in page and f.URGENCY in page
    token = auth.create_token(sqlite_rt, user_id=school.slt, name="t")
    body = client.get(f"/api/v1/changes/{ref}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["change"]["urgency"] == f.URGENCY
