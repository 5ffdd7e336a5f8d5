"""Helpers every service shares: the unit of work, loading with permission checks,
recording a transition (audit + signal) and building views."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain.actor import Actor
from ..domain.errors import NotFound, NotPermitted, Stale
from ..domain.policy import Requirement
from ..domain.roles import may_view_changes, needs_mfa
from ..domain.templates import ref_of
from ..persistence import approved_store, audit_store, change_store, queries, school_scope, school_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import Gate, Transition, WorkflowDefinition
from ..workflow.registry import Workflow
from .runtime import Runtime
from .views import ChangeView


@contextmanager
def unit_of_work(rt: Runtime) -> Iterator[Session]:
    """One write transaction: state, audit and outbox commit together or not at all.
    A change saved over a newer version raises ``Stale`` at commit (change_store)."""
    with rt.db.transaction() as session:
        yield session


def load_actor(rt: Runtime, session: Session, actor_id: int) -> Actor:
    """The person acting, with the roles they hold that the school still defines. The local
    second factor guards the local password: someone with none (who signs in with the
    school's provider, whose own second factor the provider's settings require) enrols
    none."""
    row = rt.db.remembered(("actor", actor_id), lambda: queries.actor_row(session, actor_id))
    if row is None or not row.active:
        raise NotPermitted("unknown or inactive user")
    roles = rt.roles.known(row.roles)
    missing = needs_mfa(roles, rt.roles) and not row.has_second_factor and not row.mfa_exempt
    schools = schools_seen(rt, row)
    # From here on the session reads only the changes of their schools (school_scope), and the
    # trust-wide changes' sets of them (read once a request, as the person is).
    sets = None if schools is None else rt.db.remembered(
        ("school sets", schools), lambda: school_store.sets_touching(session, schools))
    school_scope.limit_to(session, schools, sets=sets)
    return Actor(row.id, row.name, row.email, roles, row.must_change_password,
                 mfa_enrolment_due=missing and row.has_password, second_factor_missing=missing,
                 schools=schools)


def schools_seen(rt: Runtime, row: queries.ActorRow) -> frozenset[int] | None:
    """The schools whose changes this person sees: None for every school (a trust role, or
    they belong to every school there is)."""
    if row.every_school or rt.roles.known(row.roles) & set(rt.roles.trust_roles):
        return None
    return row.schools


def load_change(session: Session, ref: str, actor: Actor, *, lock: bool = False) -> ChangeRecord:
    """The change, or NotFound when it does not exist or the actor may not see it.
    In a write transaction it is saved (version-checked) at commit if touched; ``lock``
    (write transactions only) makes concurrent writers of it take turns."""
    change = change_store.load(session, ref, lock=lock) if may_view_changes(actor.roles) else None
    if change is None:
        raise NotFound(f"no change {ref.strip().upper()[:40]}")
    return change


def check_version(change: ChangeRecord, expected: int | None) -> None:
    if expected is not None and change.version != expected:
        raise Stale(change.ref)


def touch(rt: Runtime, change: ChangeRecord) -> None:
    """Mark the change modified: saved with a version bump, so concurrent edits conflict."""
    change.updated_at = rt.now()
    change.touched = True


def record_transition(rt: Runtime, session: Session, *, change: ChangeRecord,
                      workflow: WorkflowDefinition, actor: Actor, spec: Transition, source: str,
                      dest: str, extra: dict[str, Any],
                      approvers: Callable[[Gate], Mapping[str, Requirement]]) -> None:
    """Audit a state change, open a gate's round if it enters one (with the approvers the
    policy asks for, kept for the round), send its signal."""
    touch(rt, change)
    payload: dict[str, Any] = {"trigger": spec.trigger, "from": source, "to": dest}
    payload.update({k: v for k, v in extra.items() if k in {"reason", "gate", "comment", "on_behalf_of"}})
    audit_store.append(session, actor=actor.label, change_ref=change.ref,
                       event_type="transition", payload=payload)
    left = workflow.gate_at(source)
    if left is not None and "gate" not in extra:  # left a gate other than by its decision
        extra = {**extra, "left_gate": left.name}
    gate = workflow.gate_at(dest)
    if gate is not None:
        open_round(rt, session, change, gate, approvers(gate), actor.label)
        extra = {**extra, "gate_title": gate.title}
    if spec.signal:
        signals.by_name(spec.signal).send(change, runtime=rt, session=session, actor=actor,
                                          workflow=workflow, **extra)


def open_round(rt: Runtime, session: Session, change: ChangeRecord, gate: Gate,
               needed: Mapping[str, Requirement], actor: str) -> None:
    """A new round of decisions at ``gate``, asking ``needed`` (kept for the round): the
    earlier approval ends."""
    change.approval_round += 1
    touch(rt, change)
    approved_store.end(session, change.id, gate.name)
    queries.save_requirements(session, change_id=change.id, gate=gate.name, round_=change.approval_round,
                              needed={r.role: (r.count, "\n".join(r.why)) for r in needed.values()},
                              opened_at=rt.now())
    audit_store.append(session, actor=actor, change_ref=change.ref, event_type="approval.requested",
                       payload={"gate": gate.name, "round": change.approval_round,
                                "requires": {r.role: r.count for r in needed.values()},
                                "why": {r.role: list(r.why) for r in needed.values()}})


def workflow_of(rt: Runtime, change: Any) -> Workflow:
    """The workflow version the change (a record or a row with its workflow columns) runs on."""
    return rt.workflows.of(change.workflow, change.workflow_version)


def view_of(session: Session, rt: Runtime, change: ChangeRecord) -> ChangeView:
    definition = workflow_of(rt, change).definition
    state = definition.states.get(change.state)
    parent_ref = None
    if change.parent_id is not None:
        parent_ref = change_store.ref_of(session, change.parent_id)
    services = tuple(s for s in change.affected_services.split("\n") if s)
    return ChangeView(
        ref=change.ref, title=change.title, description=change.description,
        category=change.category, workflow=change.workflow, state=change.state,
        state_title=state.title if state else change.state,
        phase=state.phase if state else "", version=change.committed_version,
        requester_id=change.requester_id,
        requester_name=change.requester_name, affected_services=services,
        parent_ref=parent_ref, created_at=change.created_at, updated_at=change.updated_at,
        urgency=change.urgency, emergency_purpose=change.emergency_purpose, template_id=change.template_id,
        template_ref=ref_of(change.template_id) if change.template_id else "",
        workflow_version=change.workflow_version or "", school_id=change.school_id,
    )


def follow_up_refs(session: Session, change: ChangeRecord) -> tuple[str, ...]:
    return change_store.follow_up_refs(session, change.id)
