"""Firing a workflow's shared machine on a change inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..domain.actor import Actor
from ..domain.errors import GateNotSatisfied
from ..persistence import audit_store
from ..persistence.change_store import ChangeRecord
from ..workflow.registry import FireContext, Workflow
from . import common
from .runtime import Runtime
from .subject import ChangeSubject

CALENDAR_GUARD = "window_clear_of_freezes"
CLASH_GUARD = "window_clear_of_clashes"
EARLY_GUARD = "window_started"


def record_calendar_exceptions(session: Session, change: ChangeRecord, actor: Actor, subject: ChangeSubject,
                               trigger: str) -> None:
    """A freeze overridden (an emergency) or a caution period accepted, with who and why:
    audit events the change page, approval requests and reports read."""
    if subject.window_freezes and subject.emergency and subject.reason:
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="freeze.overridden",
                           payload={"trigger": trigger, "freezes": list(subject.window_freezes),
                                    "reason": subject.reason})
    if subject.window_cautions and subject.reason:
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="caution.accepted",
                           payload={"trigger": trigger, "periods": list(subject.window_cautions),
                                    "reason": subject.reason})


def run(rt: Runtime, session: Session, workflow: Workflow, change: ChangeRecord, actor: Actor,
        trigger: str, extra: dict[str, Any], subject: ChangeSubject | None = None) -> None:
    """Fire the trigger; the transition records itself (audit, round, signal) through the
    context's hook, or GateNotSatisfied lists everything its guards found missing."""
    definition = workflow.definition

    subject = subject or ChangeSubject(rt, session, change, definition)
    subject.reason = str(extra.get("reason", ""))

    def after(spec: Any, source: str, dest: str) -> None:
        if spec.signal == "submitted":  # the approval request names what the approvers must weigh
            if subject.window_clashes:
                extra["clashes"] = list(subject.window_clashes)
            if subject.window_freezes or subject.window_cautions:
                extra["calendar"] = list(subject.window_freezes + subject.window_cautions)
        common.record_transition(rt, session, change=change, workflow=definition, actor=actor,
                                 spec=spec, source=source, dest=dest, extra=extra,
                                 approvers=subject.requirements_for)
        if EARLY_GUARD in spec.guards and subject.window_opens_later:
            plan = subject.release_plan
            assert plan is not None and plan.window_start is not None
            audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="release.early",
                               payload={"window": plan.window_start.isoformat(), "reason": subject.reason})
        if CALENDAR_GUARD in spec.guards:
            record_calendar_exceptions(session, change, actor, subject, trigger)
        if CLASH_GUARD in spec.guards and subject.reason and subject.window_clashes:
            audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="clash.accepted",
                               payload={"trigger": trigger, "clashes": list(subject.window_clashes),
                                        "reason": subject.reason})

    ctx = FireContext(subject=subject, after=after)
    if not workflow.fire(change, trigger, ctx):
        spec = definition.transition(trigger, change.state)
        title = spec.title if spec and spec.title else trigger.replace("_", " ")
        raise GateNotSatisfied(title[:1].upper() + title[1:], ctx.missing)
