"""FITS's technical peer review: before approval to implement, a member of the support team
(the policy's ``peer_review_audience``) other than the change's owners reviews the release,
back-out and test plans — approves, or returns them with comments. For the categories in
the policy's ``peer_review``, submitting for approval to implement needs an approving review
of the plan as it now stands (an edit after the review needs a new one)."""

from __future__ import annotations

from sqlmodel import Session

from ..domain import limits
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.text import long_text_problem, normalise_newlines
from ..persistence import audit_store, change_store, owner_store, peer_store, queries
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import common, notifications, policies
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
        audience = policies.of_school(rt, session, change.school_id).peer_review_audience
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


def plan_digest(rt: Runtime, session: Session, change: ChangeRecord) -> str:
    """The digest of the plans as a peer reviewer reads them now."""
    return ChangeSubject(rt, session, change, common.workflow_of(rt, change).definition).plan_digest


def wants_review(rt: Runtime, subject: ChangeSubject, definition: WorkflowDefinition) -> bool:
    """Whether the change waits for a peer reviewer: it is where a review is asked for, has a
    plan, and no review of the plan as it stands (one that returned it waits for the owners)."""
    change = subject.change
    if change.category not in subject.policy.peer_review or subject.release_plan is None:
        return False
    if not any("peer_reviewed" in t.guards for t in definition.transitions_from(change.state)):
        return False
    reviews = peer_store.of_change(subject.session, change.id)
    return not reviews or reviews[-1][4] != subject.plan_digest


def ask_for_review(rt: Runtime, session: Session, change: ChangeRecord, definition: WorkflowDefinition,
                   actor: Actor) -> None:
    """After the plan is saved: tell the peer reviewers it waits for them (not its owners)."""
    if not wants_review(rt, ChangeSubject(rt, session, change, definition), definition):
        return
    owners = {change.requester_id, *(uid for uid, _, _ in owner_store.co_owners(session, change.id))}
    notifications.queue("peer_review_wanted", change, runtime=rt, session=session, actor=actor,
                        workflow=definition, exclude=owners,
                        reason="Review the release, back-out and test plans: approve them for the CAB, "
                               "or return them with comments.")


def waiting_for(rt: Runtime, *, actor_id: int, limit: int = 10) -> list[ChangeView]:
    """The changes whose release plan waits for this person's peer review (a member of the
    policy's peer-review audience; never their own): the newest first."""
    policy = rt.settings.policy
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        reviewer = policy.peer_review_audience in queries.audiences_of(session, actor.id)
        if not reviewer or not policy.peer_review:
            return []
        pairs = sorted({(wf.name, state) for wf in rt.workflows.every_version()
                        for t in wf.definition.transitions if "peer_reviewed" in t.guards
                        for state in t.sources})
        # Changes at those states are work in progress, a handful: each is checked in full.
        candidates = change_store.in_pairs(session, pairs, limit=_SCAN)
        found = []
        for change in candidates:
            if change.category not in policy.peer_review or owns(session, change, actor.id):
                continue
            definition = common.workflow_of(rt, change).definition
            if wants_review(rt, ChangeSubject(rt, session, change, definition), definition):
                found.append(common.view_of(session, rt, change))
                if len(found) == limit:
                    break
        return found


_SCAN = 200  # changes at a peer-reviewed step looked at for one person's list
