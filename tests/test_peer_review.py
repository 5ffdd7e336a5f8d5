"""FITS's technical peer review: for significant and major changes (the policy's
``peer_review``), a member of the support team other than the change's owners approves the
release, back-out and test plans — or returns them with comments — before the change can go
for approval to implement; an edit after the review needs another; the CAB sees it."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotPermitted
from fitsflow.services import changes as changes_service
from fitsflow.services import peer_review as peer_review_service
from fitsflow.services import stages

from . import factories as f


def test_the_requester_cannot_review_their_own_plan_and_a_return_blocks_submission(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "release_planning")
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=f.release_plan(rt))
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    assert any(m.startswith("no technical peer review") for m in err.value.missing)
    with pytest.raises(NotPermitted, match="own change"):  # the requester is in the support team too
        peer_review_service.review_plan(rt, actor_id=school.requester, ref=ref, outcome="approve")
    with pytest.raises(NotPermitted, match="peer-reviewed by"):  # not in the support team
        peer_review_service.review_plan(rt, actor_id=school.finance, ref=ref, outcome="approve")
    with pytest.raises(InvalidInput):
        peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="return")
    peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="return",
                                     comments="The back-out plan needs the switch config saved first")
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    assert "returned the plan: The back-out plan needs the switch config saved first" in str(err.value)
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(rt), "backout_plan": "Save the config; reload it"})
    peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="approve")
    # An edit after the review needs another.
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(rt), "backout_plan": "Something else"})
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    assert "changed since its peer review" in str(err.value)
    peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="approve")
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    detail = changes_service.get_change(rt, actor_id=school.cab[1], ref=ref)
    assert [(o, current) for _, o, _, _, current in detail.peer_reviews] == [
        ("return", False), ("approve", False), ("approve", True)]


def test_minor_changes_need_none_and_the_cab_sees_the_review_on_the_page(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    minor = f.change_in(sqlite_rt, school, "minor", "implement_approval")  # no review asked
    assert changes_service.get_change(sqlite_rt, actor_id=school.cab[0], ref=minor).peer_reviews == ()
    ref = f.change_in(sqlite_rt, school, "significant", "release_planning")
    stages.record_release_plan(sqlite_rt, actor_id=school.requester, ref=ref,
                                 data=f.release_plan(sqlite_rt))
    reviewer = app.test_client()
    login(reviewer, school.emails[school.cab[0]])
    page = reviewer.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Record the peer review" in page
    version = changes_service.get_change(sqlite_rt, actor_id=school.requester, ref=ref).change.version
    r = post(reviewer, f"/changes/{ref}/peer-review",
             {"outcome": "approve", "comments": "Tested on the spare", "version": str(version)},
             page=f"/changes/{ref}")
    assert r.status_code == 302
    changes_service.fire(sqlite_rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    page = reviewer.get(f"/changes/{ref}").get_data(as_text=True)
    assert "approved the release plan" in page and "Tested on the spare" in page


def test_the_peer_reviewers_are_told_and_see_the_plan_on_their_home_page(sqlite_rt, tmp_path):
    """Issue 22.3: the peer reviewer heard nothing and saw nothing on her home page. Saving a
    plan that needs a review tells the support team (never the change's owners), lists it on
    each reviewer's home page until it is reviewed, and again after an edit."""
    from sqlmodel import select

    from fitsflow.persistence.models import OutboxMessage

    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    ref = f.change_in(rt, school, "significant", "release_planning", title="Replace the core switch")

    def told() -> set[int]:
        with rt.db.read() as session:
            return {m.recipient_id for m in session.exec(select(OutboxMessage).where(
                OutboxMessage.event == "peer_review_wanted", OutboxMessage.change_ref == ref)).all()}

    assert told() == set()
    plan = f.release_plan(rt)
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=plan)
    heard = told()
    assert school.cab[0] in heard and school.requester not in heard  # owners never review their own
    assert [c.ref for c in peer_review_service.waiting_for(rt, actor_id=school.cab[0])] == [ref]
    assert peer_review_service.waiting_for(rt, actor_id=school.requester) == []  # their own
    assert peer_review_service.waiting_for(rt, actor_id=school.finance) == []  # not a reviewer
    reviewer = app.test_client()
    login(reviewer, school.emails[school.cab[0]])
    home = reviewer.get("/").get_data(as_text=True)
    assert "Release plans awaiting my peer review" in home and f"/changes/{ref}#peer" in home
    page = reviewer.get(f"/changes/{ref}").get_data(as_text=True)
    assert 'href="#peer">Peer-review the release plan' in page
    # Saving the same plan again asks nobody again.
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=plan)
    with rt.db.read() as session:
        asked = session.exec(select(OutboxMessage).where(OutboxMessage.event == "peer_review_wanted")).all()
    assert len(asked) == len(heard)
    peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="approve")
    assert peer_review_service.waiting_for(rt, actor_id=school.cab[1]) == []
    assert "Release plans awaiting my peer review" not in reviewer.get("/").get_data(as_text=True)
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                               data={**f.release_plan(rt), "backout_plan": "Keep the old switch racked"})
    assert [c.ref for c in peer_review_service.waiting_for(rt, actor_id=school.cab[1])] == [ref]
