"""Firing a workflow's shared machine on a change inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..domain.actor import Actor
from ..domain.errors import GateNotSatisfied
from ..persistence.change_store import ChangeRecord
from ..workflow.registry import FireContext, Workflow
from . import common
from .runtime import Runtime
from .subject import ChangeSubject


def run(rt: Runtime, session: Session, workflow: Workflow, change: ChangeRecord, actor: Actor,
        trigger: str, extra: dict[str, Any], subject: ChangeSubject | None = None) -> None:
    """Fire the trigger; the transition records itself (audit, round, signal) through the
    context's hook, or GateNotSatisfied lists everything its guards found missing."""
    definition = workflow.definition

    def after(spec: Any, source: str, dest: str) -> None:
        common.record_transition(rt, session, change=change, workflow=definition, actor=actor,
                                 spec=spec, source=source, dest=dest, extra=extra)

    subject = subject or ChangeSubject(session, change, definition, rt.roles)
    ctx = FireContext(subject=subject, after=after)
    if not workflow.fire(change, trigger, ctx):
        spec = definition.transition(trigger, change.state)
        title = spec.title if spec and spec.title else trigger.replace("_", " ")
        raise GateNotSatisfied(title[:1].lower() + title[1:], ctx.missing)
