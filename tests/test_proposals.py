"""Issue 23.5: any member of staff proposes a need (what, why, who it affects) from the web
or the API; a requester triages it — raises a change from it (the proposer is told and can
follow it), merges it into an existing change, or declines it with a reason the proposer
sees."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import InvalidInput, NotFound, NotPermitted
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import auth, proposals
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app, post

NEED = {
    "what": "Visualisers for the maths department",
    "why": "Working is hard to share with the class",
    "affects": "Maths teachers and all of KS3",
}


def _told(rt, event: str) -> list[tuple[int, str, str]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        rows = session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.subject, OutboxMessage.payload).where(
                OutboxMessage.event == event
            )
        ).all()
    return [(uid, subject, json.loads(payload)["link"]) for uid, subject, payload in rows]


def test_a_teacher_proposes_and_the_requesters_are_told(rt):
    school = f.School(rt)
    with pytest.raises(InvalidInput) as bad:
        proposals.propose(rt, actor_id=school.staff, data={"what": "", "why": " "})
    assert set(bad.value.problems) == {"what", "why"}
    made = proposals.propose(rt, actor_id=school.staff, data=NEED)
    assert (made.status, made.proposer_name, made.change_ref) == ("open", "Teacher", None)
    told = _told(rt, "proposal_made")
    assert {uid for uid, _, _ in told} == {school.requester, school.other_requester}
    assert all(link == f"/proposals/{made.id}" for _, _, link in told)
    assert [p.id for p in proposals.listing(rt, actor_id=school.staff).items] == [made.id]
    assert [p.id for p in proposals.listing(rt, actor_id=school.requester).items] == [made.id]  # everyone's
    with pytest.raises(NotFound):
        proposals.get(rt, actor_id=school.cab[0], proposal_id=made.id)  # not theirs, not a triager
    with pytest.raises(NotPermitted):
        proposals.listing(rt, actor_id=school.staff, mine=False)


def test_raised_as_a_change_the_proposer_is_told_and_follows_it(rt):
    school = f.School(rt)
    made = proposals.propose(rt, actor_id=school.staff, data=NEED)
    with pytest.raises(NotPermitted):
        proposals.triage(rt, actor_id=school.cab[0], proposal_id=made.id, action="raise", category="minor")
    with pytest.raises(InvalidInput) as bad:
        proposals.triage(
            rt, actor_id=school.requester, proposal_id=made.id, action="raise", category="standard"
        )
    assert "starts with a needs analysis" in bad.value.problems["category"]
    raised = proposals.triage(
        rt, actor_id=school.requester, proposal_id=made.id, action="raise", category="significant"
    )
    assert raised.status == "raised" and raised.change_ref and raised.change_state == "Needs analysis"
    change = changes_service.get_change(rt, actor_id=school.requester, ref=raised.change_ref)
    assert change.change.title == NEED["what"] and change.change.requester_id == school.requester
    assert f"Proposed by Teacher (proposal {made.id})" in change.change.description
    assert (
        change.needs is not None
        and NEED["why"] in change.needs.need
        and change.needs.stakeholders == ("Teacher",)
    )
    told = _told(rt, "proposal_triaged")
    assert told == [
        (
            school.staff,
            f"[Proposal {made.id}] Raised as {raised.change_ref}: {NEED['what']}",
            f"/proposals/{made.id}",
        )
    ]
    # The teacher cannot open the change, but follows it on the proposal.
    stages_ref = raised.change_ref
    f.stages.record_needs(rt, actor_id=school.requester, ref=stages_ref, data=f.NEEDS)
    changes_service.fire(rt, actor_id=school.requester, ref=stages_ref, trigger="complete_needs")
    assert proposals.get(rt, actor_id=school.staff, proposal_id=made.id).change_state == "Financial planning"
    with pytest.raises(InvalidInput, match="triaged already"):
        proposals.triage(
            rt, actor_id=school.other_requester, proposal_id=made.id, action="decline", reason="No"
        )


def test_merged_into_a_change_or_declined_with_a_reason(rt):
    school = f.School(rt)
    existing = f.change_in(rt, school, "minor", "financial_planning")
    one = proposals.propose(rt, actor_id=school.staff, data=NEED)
    two = proposals.propose(rt, actor_id=school.staff, data={**NEED, "what": "A 3D printer"})
    with pytest.raises(InvalidInput) as bad:
        proposals.triage(rt, actor_id=school.requester, proposal_id=one.id, action="merge")
    assert "name the change" in bad.value.problems["ref"]
    with pytest.raises(NotFound):
        proposals.triage(
            rt, actor_id=school.requester, proposal_id=one.id, action="merge", ref="CHG-1999-0001"
        )
    merged = proposals.triage(rt, actor_id=school.requester, proposal_id=one.id, action="merge", ref=existing)
    assert (merged.status, merged.change_ref) == ("merged", existing)
    with pytest.raises(InvalidInput) as bad:
        proposals.triage(rt, actor_id=school.requester, proposal_id=two.id, action="decline")
    assert "reason" in bad.value.problems
    declined = proposals.triage(
        rt,
        actor_id=school.requester,
        proposal_id=two.id,
        action="decline",
        reason="Covered by the DT department's own budget",
    )
    assert declined.status == "declined" and declined.reason == "Covered by the DT department's own budget"
    seen = proposals.get(rt, actor_id=school.staff, proposal_id=two.id)
    assert seen.reason == declined.reason and seen.status_title == "Declined"
    statuses = [p.status for p in proposals.listing(rt, actor_id=school.requester, status="open").items]
    assert statuses == []
    with pytest.raises(InvalidInput):
        proposals.listing(rt, actor_id=school.requester, status="pending")


def test_the_pages_and_the_api(rt, tmp_path):
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    teacher = app.test_client()
    assert login(teacher, school.emails[school.staff]).status_code == 302
    assert "Propose a need" in teacher.get("/").get_data(as_text=True)
    r = post(teacher, "/proposals/new", {"what": "", "why": "x"}, page="/proposals/new")
    assert r.status_code == 400 and 'id="what-error"' in r.get_data(as_text=True)
    r = post(teacher, "/proposals/new", NEED, page="/proposals/new")
    assert r.status_code == 302
    path = r.headers["Location"]
    assert "Waiting to be triaged" in teacher.get(path).get_data(as_text=True)
    manager = app.test_client()
    assert login(manager, school.emails[school.requester]).status_code == 302
    listed = manager.get("/proposals").get_data(as_text=True)
    assert NEED["what"] in listed
    page = manager.get(path).get_data(as_text=True)
    assert "Triage the proposal" in page
    r = post(manager, path, {"action": "decline", "reason": ""}, page=path)
    assert r.status_code == 400 and 'id="reason-error"' in r.get_data(as_text=True)
    r = post(manager, path, {"action": "raise", "category": "minor"}, page=path)
    assert r.status_code == 302
    after = teacher.get(path).get_data(as_text=True)
    assert "Raised as a change" in after and "Needs analysis" in after
    assert app.test_client().get(path).status_code == 302  # signed out: to the sign-in page

    token = auth.create_token(rt, user_id=school.staff, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    made = teacher.post(
        "/api/v1/proposals", json={**NEED, "what": "More sockets in the library"}, headers=headers
    )
    assert made.status_code == 201
    number = made.get_json()["id"]
    assert teacher.post("/api/v1/proposals", json={"what": "x"}, headers=headers).status_code == 400
    mine = teacher.get("/api/v1/proposals", headers=headers).get_json()
    assert {p["id"] for p in mine["items"]} >= {number}
    assert teacher.get("/api/v1/proposals?mine=0", headers=headers).status_code == 403
    assert (
        teacher.post(
            f"/api/v1/proposals/{number}/triage", json={"action": "decline", "reason": "No"}, headers=headers
        ).status_code
        == 403
    )
    manager_token = auth.create_token(rt, user_id=school.requester, name="m")
    settled = manager.post(
        f"/api/v1/proposals/{number}/triage",
        json={"action": "decline", "reason": "Budget"},
        headers={"Authorization": f"Bearer {manager_token}"},
    )
    assert settled.status_code == 200 and settled.get_json()["status"] == "declined"
    assert teacher.get(f"/api/v1/proposals/{number}", headers=headers).get_json()["reason"] == "Budget"


def test_students_and_parents_do_not_propose(rt):
    school = f.School(rt)
    pupil = f.user(rt, "", "students", "Pupil")
    parent = f.user(rt, "", "parents", "Parent")
    for who in (pupil, parent):
        with pytest.raises(NotPermitted, match="for the school's staff"):
            proposals.propose(rt, actor_id=who, data=NEED)
    assert proposals.propose(rt, actor_id=school.staff, data=NEED).status == "open"


def test_a_long_proposal_raised_fits_a_change(rt):
    school = f.School(rt)
    long = proposals.propose(
        rt, actor_id=school.staff, data={**NEED, "why": "w" * 19_990, "affects": "a" * 500}
    )
    raised = proposals.triage(
        rt, actor_id=school.requester, proposal_id=long.id, action="raise", category="minor"
    )
    change = changes_service.get_change(rt, actor_id=school.requester, ref=raised.change_ref)
    assert len(change.change.description) <= 20_000 and change.change.description.endswith(
        f"(proposal {long.id})."
    )
