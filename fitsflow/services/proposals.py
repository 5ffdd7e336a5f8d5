"""Staff propose needs (issue 23.5): any member of staff says what is needed, why and who it
affects, from the web or the API; a requester (the network manager) triages it — raises a
change from it (the proposer is told and follows it on the proposal), merges it into a change
already raised, or declines it with a reason the proposer sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from ..domain import limits, stages
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.notices import BRIEF
from ..domain.roles import REQUESTER
from ..domain.text import clip, text_field
from ..domain.vocabulary import FOLLOW_UP_CATEGORIES
from ..persistence import audit_store, outbox_store, proposal_store, queries
from . import common, schools
from .common import unit_of_work
from .queues import Page
from .runtime import Runtime
from .stages import start_needs

RAISE, MERGE, DECLINE = "raise", "merge", "decline"
ACTIONS: dict[str, str] = {
    RAISE: "Raise a change from it",
    MERGE: "Merge it into a change already raised",
    DECLINE: "Decline it, with a reason",
}
STATUSES = proposal_store.STATUSES
# A change raised from a proposal starts with a needs analysis.
RAISABLE: tuple[str, ...] = (*FOLLOW_UP_CATEGORIES, "pilot")


@dataclass(frozen=True)
class ProposalView:
    id: int
    what: str
    why: str
    affects: str
    proposer_id: int
    proposer_name: str
    created_at: datetime
    status: str
    change_ref: str | None
    change_state: str | None  # the change's state as people read it
    reason: str
    triaged_by: str | None
    triaged_at: datetime | None

    @property
    def status_title(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def open(self) -> bool:
        return self.status == proposal_store.OPEN


def _view(rt: Runtime, row: Any) -> ProposalView:
    state = None
    if row.change_ref:
        definition = rt.workflows.of(row.change_workflow, row.change_version).definition
        spec = definition.states.get(row.change_state)
        state = spec.title if spec else row.change_state
    return ProposalView(
        row.id,
        row.what,
        row.why,
        row.affects,
        row.proposer_id,
        row.proposer_name,
        row.created_at,
        row.status,
        row.change_ref,
        state,
        row.reason,
        row.triaged_by_name,
        row.triaged_at,
    )


def _tell(
    session: Session, rt: Runtime, people: list[int], *, event: str, subject: str, body: str, proposal_id: int
) -> None:
    outbox_store.tell(session, people, event=event, subject=subject, body=body,
                      link=f"/proposals/{proposal_id}", now=rt.now())


def propose(rt: Runtime, *, actor_id: int, data: Mapping[str, Any]) -> ProposalView:
    """Any member of staff proposes a need; the requesters (who triage) are told."""
    problems: dict[str, str] = {}
    what = text_field(data, "what", problems, required=True, maximum=limits.TITLE)
    why = text_field(data, "why", problems, required=True, maximum=limits.TEXT, lines=True)
    affects = text_field(data, "affects", problems, required=False, maximum=limits.TEXT, lines=True)
    if problems:
        raise InvalidInput(problems)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        tiers = rt.roles.tiers()
        if not actor.roles and all(tiers.get(a) == BRIEF for a in queries.audiences_of(session, actor.id)):
            # Students and parents read brief notices; proposing a need is for the school's staff.
            raise NotPermitted("proposing a need is for the school's staff")
        # The proposer's school (one of theirs, named when they belong to several).
        school_id = schools.for_new_change(rt, session, actor, str(data.get("school") or "") or None,
                                           several=False)
        new_id = proposal_store.add(
            session, proposer_id=actor.id, what=what, why=why, affects=affects, now=rt.now(),
            school_id=school_id,
        )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="proposal.made",
            payload={"proposal": new_id, "what": what},
        )
        triagers = [uid for uid in queries.users_with_roles(session, [REQUESTER], school_id=school_id,
                                                            across=rt.roles.trust_roles) if uid != actor.id]
        _tell(
            session,
            rt,
            triagers,
            event="proposal_made",
            subject=f"[Proposal {new_id}] A need proposed: {what}",
            body=f"{actor.name} proposes: {what}\n\nWhy: {why}"
            + (f"\n\nWho it affects: {affects}" if affects else ""),
            proposal_id=new_id,
        )
        return _view(rt, proposal_store.one(session, new_id))


def _visible(rt: Runtime, session: Session, actor: Actor, proposal_id: int) -> Any:
    row = proposal_store.one(session, proposal_id, schools=actor.schools)
    if row is None or not (row.proposer_id == actor.id or REQUESTER in actor.roles):
        raise NotFound(f"no proposal {proposal_id} for you")
    return row


def get(rt: Runtime, *, actor_id: int, proposal_id: int) -> ProposalView:
    """A proposal: for its proposer, and for requesters (who triage)."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        return _view(rt, _visible(rt, session, actor, proposal_id))


def listing(
    rt: Runtime,
    *,
    actor_id: int,
    mine: bool | None = None,
    status: str = "",
    limit: int = 25,
    offset: int = 0,
) -> Page:
    """My proposals, or (requesters) everyone's, of one status or all, newest first; by default
    a requester's list is everyone's, anyone else's their own."""
    if status and status not in STATUSES:
        raise InvalidInput({"status": f"must be one of: {', '.join(STATUSES)}"})
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if mine is None:
            mine = REQUESTER not in actor.roles
        if not mine and REQUESTER not in actor.roles:
            raise NotPermitted("only requesters, who triage them, list everyone's proposals")
        rows, total = proposal_store.page(
            session,
            status=status or None,
            proposer_id=actor.id if mine else None,
            limit=limit,
            offset=offset,
            schools=actor.schools,
        )
        return Page([_view(rt, r) for r in rows], total, limit, offset)


def triage(
    rt: Runtime,
    *,
    actor_id: int,
    proposal_id: int,
    action: str,
    category: str = "",
    ref: str = "",
    reason: str = "",
) -> ProposalView:
    """Settle an open proposal: raise a change from it (``category``: one that starts with a
    needs analysis; the triager is its requester), merge it into the change ``ref``, or
    decline it with a ``reason``. The proposer is told, in the same transaction."""
    problems: dict[str, str] = {}
    if action not in ACTIONS:
        problems["action"] = f"must be one of: {', '.join(ACTIONS)}"
    if action == RAISE and category not in RAISABLE:
        problems["category"] = (
            f"a change raised from a proposal starts with a needs analysis: one of {', '.join(RAISABLE)}"
        )
    said = {"reason": reason}
    reason = text_field(
        said, "reason", problems, required=action == DECLINE, maximum=limits.REASON, lines=True
    )
    if action == MERGE and not ref.strip():
        problems["ref"] = "name the change to merge it into (its reference, such as CHG-2026-0042)"
    if problems:
        raise InvalidInput(problems)
    from .changes import insert_raised  # the changes service imports much; only this is needed

    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        if REQUESTER not in actor.roles:
            raise NotPermitted("only a requester triages proposals")
        row = _visible(rt, session, actor, proposal_id)
        if row.status != proposal_store.OPEN:
            raise InvalidInput({"proposal": f"it was triaged already: {STATUSES[row.status].lower()}"})
        change = None
        if action == RAISE:
            change = insert_raised(
                session,
                rt,
                actor,
                school_id=row.school_id,
                title=row.what,
                category=category,
                description=clip(
                    f"{row.why}" + (f"\n\nWho it affects: {row.affects}" if row.affects else ""),
                    limits.TEXT,
                    f"\n\nProposed by {row.proposer_name} (proposal {row.id}).",
                ),
            )
            needs = stages.Needs(
                need=clip(
                    row.why + (f"\n\nWho it affects: {row.affects}" if row.affects else ""), limits.TEXT
                ),
                stakeholders=(row.proposer_name,),
                sdp_priority="",
                options_considered="",
            )
            start_needs(rt, session, actor, change, needs)
        elif action == MERGE:
            change = common.load_change(session, ref, actor)
        status = {
            RAISE: proposal_store.RAISED,
            MERGE: proposal_store.MERGED,
            DECLINE: proposal_store.DECLINED,
        }
        if not proposal_store.triage(
            session,
            row.id,
            status=status[action],
            change_id=change.id if change else None,
            reason=reason,
            by=actor.id,
            now=rt.now(),
        ):
            raise InvalidInput({"proposal": "someone triaged it first"})
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref if change else "",
            event_type="proposal.triaged",
            payload={"proposal": row.id, "outcome": status[action], "reason": reason},
        )
        told = {
            RAISE: f"Raised as {change.ref if change else ''}",
            MERGE: f"Part of {change.ref if change else ''}",
            DECLINE: "Declined",
        }[action]
        _tell(
            session,
            rt,
            [row.proposer_id] if row.proposer_id != actor.id else [],
            event="proposal_triaged",
            subject=f"[Proposal {row.id}] {told}: {row.what}",
            body=f"Your proposal “{row.what}”: {told.lower()} by {actor.name}."
            + (f"\nReason: {reason}" if reason else "")
            + ("\nFollow it on the proposal's page: it shows where the change has got to." if change else ""),
            proposal_id=row.id,
        )
        return _view(rt, proposal_store.one(session, row.id))
