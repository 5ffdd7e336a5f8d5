"""What was approved stays approved. When a gate passes, what it approved (the policy's
``approves``: needs, finance, release plan, services) is kept with its digest; a later edit
of it reopens the gate in a new round and tells its approvers, unless it is within the
policy's tolerance (the window alone moved a little), which needs only an acknowledgement."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain import approved
from ..domain.actor import Actor
from ..domain.approved import FieldChange
from ..domain.errors import NotPermitted
from ..persistence import approved_store, audit_store, queries
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import Gate, WorkflowDefinition
from . import common, notifications, policies
from .common import unit_of_work
from .ownership import owns
from .runtime import Runtime
from .subject import ChangeSubject
from .views import ChangeView


def _values(rt: Runtime, subject: ChangeSubject, scopes: tuple[str, ...]) -> dict[str, Any]:
    # Only the stages the gate approves are read (each is a query on every decision); a
    # decision that passes its gate asks twice (its digest, then the snapshot): built once.
    known = subject.snapshots.get(scopes)
    if known is None:
        services = [s for s in subject.change.affected_services.split("\n") if s]
        known = subject.snapshots[scopes] = approved.snapshot(
            scopes, needs=subject.needs if "needs" in scopes else None,
            lines=subject.cost_lines if "finance" in scopes else (),
            plan=subject.release_plan if "release_plan" in scopes else None, services=services)
    return known


def digest_now(rt: Runtime, subject: ChangeSubject, gate: Gate) -> str:
    """The digest of what ``gate`` approves as the change stands (recorded with each decision)."""
    return approved.digest(_values(rt, subject, subject.policy.approves.get(gate.name, ())))


def record_pass(rt: Runtime, session: Session, change: ChangeRecord, gate: Gate,
                subject: ChangeSubject) -> None:
    """The gate has passed: keep what it approved."""
    scopes = subject.policy.approves.get(gate.name, ())
    if scopes:
        values = _values(rt, subject, scopes)
        approved_store.save(session, change_id=change.id, gate=gate.name, round_=change.approval_round,
                            digest=approved.digest(values), values=values, at=rt.now())


@dataclass(frozen=True)
class SinceApproval:
    gate: str
    title: str
    changes: tuple[FieldChange, ...]
    standing: bool  # the approval still stands (the changes await an acknowledgement)


def since_approval(rt: Runtime, session: Session, change: ChangeRecord, definition: WorkflowDefinition,
                   subject: ChangeSubject) -> list[SinceApproval]:
    """For each gate that passed before, what differs from what it approved: shown to its
    approvers in a reopened round and to whoever must acknowledge a change within tolerance."""
    out = []
    for row in approved_store.of_change(session, change.id):
        gate = definition.gates.get(row.gate)
        if gate is None:
            continue
        if row.active and not row.acknowledge:
            continue
        if not row.active and change.state != gate.state:
            continue
        now = _values(rt, subject, subject.policy.approves.get(gate.name, ()))
        found = approved.differences(json.loads(row.snapshot), now)
        if found:
            out.append(SinceApproval(gate.name, gate.title, tuple(found), row.active))
    return out


def after_edit(rt: Runtime, session: Session, change: ChangeRecord, definition: WorkflowDefinition,
               actor: Actor, stage: str) -> str | None:
    """Weigh an edit against what passed gates approved; returns the title of a gate it
    reopened, if any."""
    subject = ChangeSubject(rt, session, change, definition)
    policy = subject.policy
    for row in approved_store.of_change(session, change.id):
        gate = definition.gates.get(row.gate)
        scopes = policy.approves.get(row.gate, ())
        if not row.active or gate is None or stage not in scopes:
            continue
        changes = approved.differences(json.loads(row.snapshot), _values(rt, subject, scopes))
        if not changes:
            if row.acknowledge:  # edited back to what was approved
                approved_store.ask_acknowledgement(session, row, [])
            continue
        lines = [c.describe() for c in changes]
        if _within_tolerance(rt, subject, changes):
            approved_store.ask_acknowledgement(session, row, [asdict(c) for c in changes])
            audit_store.append(session, actor=actor.label, change_ref=change.ref,
                               event_type="approval.acknowledgement_requested",
                               payload={"gate": gate.name, "changes": lines})
            notifications.queue("approval_changed", change, runtime=rt, session=session, actor=actor,
                                workflow=definition, gate_title=gate.title, changed=lines)
            continue
        _reopen(rt, session, change, definition, gate, actor, subject, lines)
        return gate.title
    return None


def _within_tolerance(rt: Runtime, subject: ChangeSubject, changes: list[FieldChange]) -> bool:
    tolerance = subject.policy.tolerance
    shift = approved.window_shift_days(changes)
    if shift is None or shift > tolerance.window_days:
        return False
    if subject.window_freezes or subject.window_cautions or subject.window_clashes:
        return False
    if tolerance.same_term:
        before = next((c.before for c in changes if c.field == approved.WINDOW_FIELDS[0]), None)
        plan = subject.release_plan
        if before and plan is not None and plan.window_start is not None:
            if not subject.school.same_term(datetime.fromisoformat(before), plan.window_start):
                return False
    return True


def _reopen(rt: Runtime, session: Session, change: ChangeRecord, definition: WorkflowDefinition, gate: Gate,
            actor: Actor, subject: ChangeSubject, lines: list[str]) -> None:
    """Back to the gate's state in a new round: earlier decisions no longer count."""
    source = change.state
    change.state = gate.state
    change.approval_round += 1
    common.touch(rt, change)
    needed = subject.requirements_for(gate)
    queries.save_requirements(session, change_id=change.id, gate=gate.name, round_=change.approval_round,
                              needed={r.role: (r.count, "\n".join(r.why)) for r in needed.values()},
                              opened_at=rt.now())
    approved_store.end(session, change.id, gate.name)
    audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="approval.reopened",
                       payload={"gate": gate.name, "round": change.approval_round, "from": source,
                                "to": gate.state, "changes": lines,
                                "requires": {r.role: r.count for r in needed.values()}})
    signals.submitted.send(change, runtime=rt, session=session, actor=actor, workflow=definition,
                           gate_title=gate.title, changed=lines)


def acknowledge(rt: Runtime, *, actor_id: int, ref: str, expected_version: int | None = None) -> ChangeView:
    """Someone in the policy's ``acknowledged_by`` roles accepts the changes within tolerance."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        allowed = policies.of_school(rt, session, change.school_id).tolerance.acknowledged_by
        if not actor.roles & set(allowed):
            raise NotPermitted(f"changes since approval are acknowledged by: "
                               f"{', '.join(rt.roles.label(r) for r in allowed)}")
        if owns(session, change, actor.id):
            raise NotPermitted("nobody acknowledges changes to a change they own")
        rows = [r for r in approved_store.of_change(session, change.id) if r.active and r.acknowledge]
        if not rows:
            raise common.workflow_of(rt, change).definition.not_allowed(
                "acknowledge", change.state, action="Acknowledge the changes since approval",
                possible=["nothing to acknowledge: no change since approval asks for it"])
        common.check_version(change, expected_version)
        for row in rows:
            lines = [FieldChange(**c).describe() for c in json.loads(row.acknowledge)]
            approved_store.ask_acknowledgement(session, row, [])
            audit_store.append(session, actor=actor.label, change_ref=change.ref,
                               event_type="approval.acknowledged",
                               payload={"gate": row.gate, "changes": lines})
        common.touch(rt, change)
        return common.view_of(session, rt, change)
