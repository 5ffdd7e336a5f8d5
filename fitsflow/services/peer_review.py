"""FITS's technical peer review: before approval to implement, a member of the support team
(the policy's ``peer_review_audience``) other than the change's owners reviews the release,
back-out and test plans — approves, or returns them with comments. For the categories in
the policy's ``peer_review``, submitting for approval to implement needs an approving review
of the plan as it now stands (an edit after the review needs a new one)."""

from __future__ import annotations

from ..domain import limits
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.text import long_text_problem, normalise_newlines
from ..persistence import audit_store, peer_store, queries
from . import common, notifications
from .common import unit_of_work
from .ownership import owns
from .runtime import Runtime
from .subject import ChangeSubject
from .views import ChangeView

OUTCOMES = ("approve", "return")


def review_plan(rt: Runtime, *, actor_id: int, ref: str, outcome: str, comments: str = "",
                expected_version: int | None = None) -> ChangeView:
    comments = normalise_newlines(comments or "").strip()
    if outcome not in OUTCOMES:
        raise InvalidInput({"outcome": f"must be one of: {', '.join(OUTCOMES)}"})
    if outcome == "return" and not comments:
        raise InvalidInput({"comments": "say what must change before the plan goes to the CAB"})
    if problem := long_text_problem(comments, limits.TEXT):
        raise InvalidInput({"comments": problem})
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        definition = common.workflow_of(rt, change).definition
        audience = rt.settings.policy.peer_review_audience
        if audience not in queries.audiences_of(session, actor.id):
            raise NotPermitted(f"release plans are peer-reviewed by the {rt.roles.audiences[audience].label}")
        if owns(session, change, actor.id):
            raise NotPermitted("nobody peer-reviews their own change")
        if not any("peer_reviewed" in t.guards for t in definition.transitions_from(change.state)):
            raise definition.not_allowed("peer review", change.state, action="Peer-review the release plan")
        subject = ChangeSubject(rt, session, change, definition)
        if subject.release_plan is None:
            raise InvalidInput({"outcome": "there is no release plan to review yet"})
        common.check_version(change, expected_version)
        peer_store.add(session, change_id=change.id, reviewer_id=actor.id, outcome=outcome, comments=comments,
                       digest=subject.plan_digest, at=rt.now())
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="peer_review.recorded",
                           payload={"outcome": outcome, "comments": comments, "digest": subject.plan_digest})
        verdict = "approved the release plan" if outcome == "approve" else "returned the release plan"
        notifications.queue("peer_reviewed", change, runtime=rt, session=session, actor=actor,
                            workflow=definition, reason=f"{actor.name} {verdict}"
                            + (f": {comments}" if comments else ""))
        return common.view_of(session, rt, change)
