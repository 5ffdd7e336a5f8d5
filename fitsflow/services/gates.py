"""Deciding at a gate: approve or reject, quorum, no self-approval, one decision each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain.actor import Actor
from ..domain.errors import GateNotSatisfied, InvalidInput, NotPermitted
from ..domain.guards import GUARDS, gate_quorum
from ..domain.permissions import deciding_role, why_cannot_decide
from ..domain.text import long_text_problem, normalise_newlines
from ..domain.vocabulary import DECISIONS
from ..persistence import audit_store, change_store, peer_store, queries, school_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import Gate, WorkflowDefinition
from ..workflow.registry import Workflow
from . import absences, account_notices, approved, common
from .common import unit_of_work
from .machine import run
from .ownership import ever_owned
from .runtime import Runtime
from .subject import ChangeSubject
from .views import DecisionResult

# What a decision did to its gate.
PENDING, PASSED, REJECTED = "pending", "passed", "rejected"


def decision_blocker(rt: Runtime, actor: Actor, change: ChangeRecord, gate: Gate,
                     subject: ChangeSubject) -> str | None:
    """Why this person may not decide at this gate now, or None if they may."""
    if actor.id != change.requester_id and ever_owned(subject.session, change, actor.id):
        return "nobody may decide on a change they own or have owned (as its requester or a co-owner)"
    return why_cannot_decide(actor_id=actor.id, actor_roles=subject.deciding_roles(actor.roles),
                             requester_id=change.requester_id,
                             gate_title=gate.title, requirements=subject.gate_requirements,
                             decided=_deciders(subject), label=rt.roles.label)


def _deciders(subject: ChangeSubject) -> set[int]:
    """Who has decided in this round: each approver, and each substitute who decided in an
    approver's name (one person, one vote at a gate, in whichever name)."""
    return {a.approver_id for a in subject.approvals} | {a.acted_by for a in subject.approvals if a.acted_by}


def others_holding(session: Session, person: int) -> Callable[[str], int]:
    """How many others hold a role: the scarcer role a vote counts for first."""
    return lambda role: len(set(queries.users_with_roles(session, [role])) - {person})


def _may_substitute(session: Session, change: ChangeRecord, acting: Actor) -> None:
    """Nobody stands in at a gate where they could not decide themselves: an owner, past or
    present, or the change's technical peer reviewer."""
    if ever_owned(session, change, acting.id):
        raise NotPermitted("nobody may substitute on a change they own or have owned")
    if any(r.reviewer_id == acting.id for r in peer_store.of_change(session, change.id)):
        raise NotPermitted("the change's peer reviewer may not also decide on it as a substitute")


def _within_limit(rt: Runtime, change: ChangeRecord, role: str) -> None:
    """A substitute deciding with money roles acts within the school's delegated limit."""
    accounts = rt.settings.accounts
    if role in accounts.substitute_limit_roles and (change.planned_cost or 0) > accounts.substitute_limit:
        raise NotPermitted(f"a substitute decides as {rt.roles.label(role)} up to "
                           f"{rt.money(accounts.substitute_limit)} (accounts.substitute_limit); this change "
                           f"plans {rt.money(change.planned_cost)}: it waits for the person or another "
                           f"{rt.roles.label(role)}")


def _validate(decision: str, comment: str) -> None:
    if decision not in DECISIONS:
        raise InvalidInput({"decision": f"must be one of: {', '.join(DECISIONS)}"})
    if decision == "reject" and not comment.strip():
        raise InvalidInput({"comment": "a reason is required to reject"})
    if wrong := long_text_problem(comment, 20_000):
        raise InvalidInput({"comment": wrong})


def decide(rt: Runtime, *, actor_id: int, ref: str, decision: str, comment: str = "",
           role: str | None = None, expected_version: int | None = None,
           on_behalf_of: int | None = None) -> DecisionResult:
    """Record one approver's decision (or, with ``on_behalf_of``, a substitute's for an
    absent approver); pass or fail the gate when it is settled."""
    comment = normalise_newlines(comment or "")
    _validate(decision, comment)
    with unit_of_work(rt) as session:
        acting = common.load_actor(rt, session, actor_id)
        # Two approvers deciding at once take turns: the second sees the first's vote. A vote
        # does not change the change (its version stays): the second is stale only if the
        # first moved it on (the gate passed or failed) or it was edited.
        change = common.load_change(session, ref, acting, lock=True)
        common.check_version(change, expected_version)
        actor = acting
        if on_behalf_of is not None:  # the decision is the absent approver's, made by their substitute
            delegated = absences.delegated_roles(rt, session, acting.id)
            if on_behalf_of not in delegated:
                raise NotPermitted("you are not standing in for this person today")
            _may_substitute(session, change, acting)
            absent = common.load_actor(rt, session, on_behalf_of)
            if absent.schools is not None \
                    and not absent.schools & set(school_store.reach(session, change.school_id)):
                # Their authority is their schools': it never counts at another school's gate.
                raise NotPermitted("the person you stand in for does not decide for this change's school")
            actor = replace(absent, roles=absent.roles & delegated[on_behalf_of])
        workflow = common.workflow_of(rt, change)
        definition = workflow.definition
        gate = definition.gate_at(change.state)
        if gate is None:
            allowed = {t.trigger for t in definition.transitions_from(change.state)}
            raise definition.not_allowed(decision, change.state, allowed - definition.gate_triggers())
        subject = ChangeSubject(rt, session, change, definition)
        why = decision_blocker(rt, actor, change, gate, subject)
        if why:
            raise NotPermitted(why)
        if on_behalf_of is not None and acting.id in _deciders(subject):
            raise NotPermitted("you have already decided at this gate: one person has one vote at a gate, "
                               "in their own name or another's")
        requirements = subject.gate_requirements
        counts: dict[str, int] = {}
        for a in subject.approvals:
            if a.decision == "approve":
                counts[a.role] = counts.get(a.role, 0) + 1
        try:
            used = deciding_role(subject.deciding_roles(actor.roles), requirements, counts, role,
                                 others_holding=others_holding(session, actor.id),
                                 approving=decision == "approve")
        except ValueError as better:
            raise NotPermitted(f"{rt.roles.label(role or '')} has the approvals it needs at {gate.title}: "
                               f"your one vote counts as {rt.roles.label(str(better))}") from None
        if used is None:
            raise NotPermitted(f"you do not hold the role '{role}' at {gate.title}")
        if on_behalf_of is not None:
            _within_limit(rt, change, used)
        if decision == "approve":
            _check_window(definition, gate, subject, comment)
        outcome = _record(rt, session, workflow, change, actor, gate, subject, used, decision, comment,
                          acting if acting.id != actor.id else None)
        return DecisionResult(common.view_of(session, rt, change), outcome,
                              tuple(gate_quorum(subject)) if outcome == PENDING else ())


def _check_window(definition: WorkflowDefinition, gate: Gate, subject: ChangeSubject, comment: str) -> None:
    """Every approval, not only the one completing the quorum, is refused for a window in a
    freeze (or a caution period without a reason): nobody approves what cannot go ahead."""
    spec = definition.transition(gate.approve, gate.state)
    subject.reason = comment.strip()
    missing = [m for name in (spec.guards if spec else ()) if name != "gate_quorum"
               for m in GUARDS[name](subject)]
    if missing:
        raise GateNotSatisfied(f"Approve ({gate.title})", missing)


def _record(rt: Runtime, session: Session, workflow: Workflow, change: ChangeRecord, actor: Actor,
            gate: Gate, subject: ChangeSubject, role: str, decision: str, comment: str,
            substitute: Actor | None = None) -> str:
    comment = comment.strip()
    queries.add_approval(session, change_id=change.id, gate=gate.name, round_=change.approval_round,
                         approver_id=actor.id, role=role, decision=decision, comment=comment,
                         decided_at=rt.now(), acted_by=substitute.id if substitute else None)
    subject.approvals.append(queries.Vote(actor.id, role, decision, substitute.id if substitute else None))
    audit_store.append(session, actor=substitute.label if substitute else actor.label, change_ref=change.ref,
                       event_type="approval.decided",
                       payload={"gate": gate.name, "round": change.approval_round, "role": role,
                                "decision": decision, "comment": comment,
                                "digest": approved.digest_now(rt, subject, gate),
                                **({"escalated": True} if role not in actor.roles else {}),
                                **({"on_behalf_of": actor.label} if substitute else {})})
    extra: dict[str, Any] = {"gate": gate.name, "reason": comment} if comment else {"gate": gate.name}
    mover = actor
    if substitute is not None:  # the gate's transition names who acted, and for whom
        extra["on_behalf_of"] = actor.label
        mover = substitute
        _tell_of_substitute(rt, session, change, gate, actor, substitute, decision, subject)
    if decision == "reject":
        run(rt, session, workflow, change, mover, gate.reject, extra, subject)
        outcome = REJECTED
    elif not gate_quorum(subject):
        run(rt, session, workflow, change, mover, gate.approve, extra, subject)
        approved.record_pass(rt, session, change, gate, subject)
        outcome = PASSED
    else:
        outcome = PENDING
        change_store.note_activity(session, change, rt.now())  # moved on: the transition saves it
    signals.decided.send(change, runtime=rt, session=session, actor=actor, workflow=workflow.definition,
                         gate=gate, decision=decision, comment=comment, outcome=outcome,
                         decisions=list(subject.approvals))
    return outcome


def _tell_of_substitute(rt: Runtime, session: Session, change: ChangeRecord, gate: Gate, absent: Actor,
                        substitute: Actor, decision: str, subject: ChangeSubject) -> None:
    """The person away, and the others deciding at the gate, learn a substitute decided."""
    others = {a.approver_id for a in subject.approvals} - {absent.id, substitute.id}
    verb = "approved" if decision == "approve" else "rejected"
    account_notices.tell(session, [absent.id, *sorted(others)], at=rt.now(), event="decided",
                         subject=f"[{change.ref}] {substitute.name} {verb} on behalf of {absent.name}"[:300],
                         body=f"{substitute.name} {verb} {change.ref} ({change.title}) at {gate.title} "
                              f"on behalf of {absent.name}, who is away.", link=f"/changes/{change.ref}")
