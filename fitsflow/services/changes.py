"""Use cases on a change's lifecycle: raise, fire a trigger, spawn a follow-up, read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain import limits
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.guards import GUARDS
from ..domain.permissions import may_fire, voting_roles
from ..domain.roles import REQUESTER
from ..domain.stages import FinancialPlan
from ..domain.text import first_line_problem, long_text_problem, normalise_newlines, one_line_problem
from ..domain.vocabulary import (
    CATEGORIES,
    EMERGENCY_PURPOSES,
    FOLLOW_UP_CATEGORIES,
    SCHEDULED,
    UNDOING_KINDS,
    WITHDRAWN,
)
from ..persistence import audit_store, change_store, owner_store, peer_store, queries, school_store
from ..persistence.change_store import ChangeRecord
from ..persistence.refs import next_ref
from ..workflow.definition import WorkflowDefinition
from ..workflow.registry import Workflow
from . import absences, approved, assets, catalogue, common, policies, schools, templates, workflow_versions
from .audit import TimelineEvent, timeline_in
from .common import unit_of_work
from .gates import decision_blocker, others_holding
from .machine import CALENDAR_GUARD, CLASH_GUARD, EARLY_GUARD, run
from .notices import NoticeView, notices_in, settle
from .ownership import owns
from .runtime import Runtime
from .subject import ChangeSubject
from .views import Action, ApprovalView, ChangeDetail, ChangeView, GateApprovers, GateStatus, Returned


def _clean_services(services: Iterable[str] | str) -> list[str]:
    if isinstance(services, str):
        services = services.replace(",", "\n").splitlines()
    return list(dict.fromkeys(s.strip() for s in services if isinstance(s, str) and s.strip()))


def _validate_header(title: str, description: str, category: str, rt: Runtime,
                     services: list[str] | None = None) -> dict[str, str]:
    problems: dict[str, str] = {}
    title_problem = one_line_problem((title or "").strip(), limits.TITLE)
    if title_problem:
        problems["title"] = title_problem
    if wrong := long_text_problem(normalise_newlines(description or ""), limits.TEXT):
        problems["description"] = wrong
    if services is not None and len(services) > limits.SERVICES:
        problems["affected_services"] = f"list at most {limits.SERVICES} services"
    elif services and (wrong := first_line_problem(services, limits.SERVICE)):
        problems["affected_services"] = (f"each service is one line of at most {limits.SERVICE} "
                                         f"characters: {wrong}")
    if not (category or "").strip():
        problems["category"] = f"choose one: {', '.join(c for c in CATEGORIES if _served(rt, c))}"
    else:
        try:
            rt.workflows.for_category(category)
        except NotFound as err:
            problems["category"] = str(err)
    return problems


def _served(rt: Runtime, category: str) -> bool:
    try:
        rt.workflows.for_category(category)
    except NotFound:
        return False
    return True


def _insert_change(session: Session, rt: Runtime, actor: Actor, *, title: str, description: str,
                   category: str, affected_services: Iterable[str] | str,
                   parent: ChangeRecord | None, urgency: str = "", emergency_purpose: str = "",
                   use: templates.Use | None = None, school_id: int | None = None,
                   window: tuple[datetime, datetime] | None = None) -> ChangeRecord:
    workflow = rt.workflows.for_category(category)
    # A follow-up is its parent's school's (as far as the person acts there); anything else
    # names its school (schools.for_new_change).
    school = schools.for_follow_up(rt, session, actor, parent.school_id) if parent is not None else school_id
    assert school is not None
    stamp = rt.now()
    change = change_store.insert(session, dict(
        ref=next_ref(session, stamp.year), title=title.strip(),
        description=normalise_newlines(description).strip(),
        category=category, workflow=workflow.name, requester_id=actor.id,
        affected_services="\n".join(_clean_services(affected_services)), state=workflow.definition.initial,
        approval_round=0, horizon_years=rt.horizon_years, parent_id=parent.id if parent else None,
        created_at=stamp, updated_at=stamp, urgency=urgency.strip(), emergency_purpose=emergency_purpose,
        template_id=use.template.id if use else None, workflow_version=workflow.definition.version,
        school_id=school,
    ), requester_name=actor.name)
    workflow_versions.record(session, workflow.definition)
    # In a trust, the history says which school (or schools, trust-wide) the change is for.
    where = schools.slugs_of(session, school) if school_store.count(session) > 1 else []
    audit_store.append(
        session, actor=actor.label, change_ref=change.ref, event_type="change.raised",
        payload={"title": change.title, "category": category, "workflow": workflow.name,
                 "state": change.state, "description": change.description,
                 "affected_services": [s for s in change.affected_services.split("\n") if s],
                 "parent": parent.ref if parent else None, "urgency": change.urgency,
                 **({"emergency_purpose": emergency_purpose} if emergency_purpose else {}),
                 **({"schools": where} if where else {}),
                 **({"template": templates.ref_of(use.template.id or 0), "cost": str(use.cost)}
                    if use else {})},
    )
    if use:
        templates.record_use(session, actor, use, change, window)
    signals.raised.send(change, runtime=rt, session=session, actor=actor, workflow=workflow.definition)
    return change


def raise_change(rt: Runtime, *, actor_id: int, title: str, category: str, description: str = "",
                 affected_services: Iterable[str] | str = (), urgency: str = "",
                 template: str | int | None = None, cost: Any = None,
                 emergency_purpose: str = "", school: str | None = None) -> ChangeView:
    """Raise a new change; it starts in its workflow's initial state. An emergency says why
    it cannot wait for the normal approvals (``urgency``: the incident or reason) and whether
    it restores a service that is down or protects one at risk (``emergency_purpose``); a
    standard change is raised from an active ``template`` (its reference or number), within
    its services and ``cost``. ``school``: the school it is for (a slug), when the requester
    belongs to several."""
    problems = _validate_header(title, description, category, rt, _clean_services(affected_services))
    urgency = normalise_newlines(urgency or "").strip()
    if wrong := long_text_problem(urgency, limits.REASON):
        problems["urgency"] = wrong
    elif "category" not in problems and rt.workflows.for_category(category).definition.emergency \
            and not urgency:
        problems["urgency"] = "say why this cannot wait for the normal approvals (an emergency needs it)"
    emergency = "category" not in problems and rt.workflows.for_category(category).definition.emergency
    emergency_purpose = (emergency_purpose or "").strip() if emergency else ""
    if emergency and emergency_purpose not in EMERGENCY_PURPOSES:
        problems["emergency_purpose"] = ("say whether it restores a service that is down or protects one "
                                         "at immediate risk (restore or protect): an emergency is only for "
                                         "these")
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        if REQUESTER not in actor.roles:
            raise NotPermitted("only a requester may raise a change")
        school_id: int | None = None
        try:
            school_id = schools.for_new_change(rt, session, actor, school)
            if "category" not in problems and "," in (school or "") \
                    and not rt.workflows.for_category(category).definition.gates \
                    and len(school_store.reach(session, school_id)) > 1:
                # The trust's approvals are asked for at a gate: a workflow without one (a
                # standard change) is one school's.
                problems["school"] = (f"a {category} change is one school's: a change affecting several "
                                      "schools goes through the trust's approval gates")
        except InvalidInput as err:
            problems |= err.problems
        # The trust's services, and the school's own when it is one school's (a trust-wide
        # change names only the trust's: one school's own service is not the others').
        reach = school_store.reach(session, school_id) if school_id is not None else ()
        services, unknown = catalogue.canonical(session, _clean_services(affected_services),
                                                reach if len(reach) == 1 else ())
        if unknown and "affected_services" not in problems:
            problems["affected_services"] = unknown
        if problems:
            raise InvalidInput(problems)
        assert school_id is not None
        use = None
        if rt.workflows.for_category(category).definition.from_template:
            use = templates.check_use(rt, session, actor, template, services, cost, description,
                                      school_id=school_id)
            services, description = list(use.services), use.description
        elif template not in (None, ""):
            raise InvalidInput({"template": "only a standard change is raised from a template"})
        change = _insert_change(session, rt, actor, title=title, description=description,
                                category=category, affected_services=services, parent=None,
                                urgency=urgency, emergency_purpose=emergency_purpose, use=use,
                                school_id=school_id)
        return common.view_of(session, rt, change)


def insert_from_template(session: Session, rt: Runtime, actor: Actor, *, template: str, title: str,
                         cost: Any, school_id: int, window: tuple[datetime, datetime]) -> ChangeRecord:
    """A standard change raised by ``actor`` from ``template`` in the caller's transaction (a
    recurrence's occurrence, its release window ``window``), checked as one raised by hand is."""
    category = next(c for wf in rt.workflows if wf.definition.from_template for c in wf.definition.categories)
    use = templates.check_use(rt, session, actor, template, [], cost, "", school_id=school_id)
    return _insert_change(session, rt, actor, title=title, description=use.description, category=category,
                          affected_services=list(use.services), parent=None, use=use, school_id=school_id,
                          window=window)


def spawn_follow_up(rt: Runtime, *, actor_id: int, ref: str, title: str, description: str = "",
                    category: str | None = None) -> ChangeView:
    """Turn what a review found into a new need, linked to the change reviewed."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        parent = common.load_change(session, ref, actor)
        if REQUESTER not in actor.roles:
            raise NotPermitted("only a requester may raise a follow-up change")
        definition = common.workflow_of(rt, parent).definition
        if not _may_follow_up(definition, parent.state):
            raise definition.not_allowed("follow_up", parent.state, action="Raise a follow-up",
                                         possible=["a follow-up once the change is in review or closed"])
        category = category or (parent.category if parent.category in FOLLOW_UP_CATEGORIES
                                else "minor")
        problems = _validate_header(title, description, category, rt)
        if category not in FOLLOW_UP_CATEGORIES:
            problems["category"] = (f"a follow-up starts with a needs analysis, so it is one of: "
                                    f"{', '.join(FOLLOW_UP_CATEGORIES)}")
        if not problems:
            child_wf = rt.workflows.for_category(category).definition
            if "needs" not in child_wf.states[child_wf.initial].edits:
                problems["category"] = (f"'{category}' changes do not start with a needs analysis; "
                                        "choose minor, significant or major")
        if problems:
            raise InvalidInput(problems)
        child = insert_follow_up(session, rt, actor, parent=parent, title=title, description=description,
                                 category=category)
        return common.view_of(session, rt, child)


def insert_raised(session: Session, rt: Runtime, actor: Actor, *, title: str, description: str,
                  category: str, school_id: int) -> ChangeRecord:
    """A new change raised by ``actor`` in the caller's transaction (from a staff proposal of
    the school ``school_id``)."""
    problems = _validate_header(title, description, category, rt)
    if problems:
        raise InvalidInput(problems)
    return _insert_change(session, rt, actor, title=title, description=description, category=category,
                          affected_services=(), parent=None, school_id=school_id)


def insert_follow_up(session: Session, rt: Runtime, actor: Actor, *, parent: ChangeRecord, title: str,
                     description: str, category: str) -> ChangeRecord:
    """A new change at needs analysis, linked to ``parent`` (its follow-up), in the caller's
    transaction: a review's next need, or a pilot adopted."""
    child = _insert_change(session, rt, actor, title=title, description=description, category=category,
                           affected_services=parent.affected_services, parent=parent)
    audit_store.append(session, actor=actor.label, change_ref=parent.ref,
                       event_type="follow_up.spawned", payload={"follow_up": child.ref})
    return child


def _may_follow_up(definition: WorkflowDefinition, state: str) -> bool:
    """A review (in progress or done) feeds the next need; a withdrawn change has none."""
    return definition.states[state].phase == "review" and definition.kind_of(state) != WITHDRAWN


def _permitted(workflow: Workflow, actor: Actor, change: ChangeRecord, trigger: str) -> bool:
    spec = workflow.definition.transition(trigger, change.state)
    return spec is not None and may_fire(actor.roles, spec.roles,
                                         is_requester=actor.id == change.requester_id)


def fire(rt: Runtime, *, actor_id: int, ref: str, trigger: str, expected_version: int | None = None,
         reason: str = "", notices: Mapping[int, tuple[str, str]] | None = None) -> ChangeView:
    """Take one transition: permission, guards, state, audit and notifications, or nothing.
    ``notices`` settles release notices still unsent first (id → ("publish" | "cancel",
    reason)): a release or a close goes ahead only with none left."""
    reason = normalise_newlines(reason or "")
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        workflow = common.workflow_of(rt, change)
        definition = workflow.definition
        gate_triggers = definition.gate_triggers()
        spec = definition.transition(trigger, change.state)
        if spec is None or trigger in gate_triggers:
            allowed = {t.trigger for t in definition.transitions_from(change.state)} - gate_triggers
            if definition.gate_at(change.state):
                allowed |= {"approve", "reject"}
            raise definition.not_allowed(trigger, change.state, allowed)
        if not _permitted(workflow, actor, change, trigger):
            raise NotPermitted(f"'{trigger}' needs one of the roles: {', '.join(spec.roles)}"
                               + (" (as this change's requester)" if "requester" in spec.roles else ""))
        if definition.kind_of(spec.dest) in UNDOING_KINDS and not reason.strip():
            raise InvalidInput({"reason": f"say why (“{spec.title or trigger}” cannot be undone; "
                                          "the reason is recorded and sent with the notices)"})
        if wrong := long_text_problem(reason, limits.REASON):
            raise InvalidInput({"reason": wrong})
        common.check_version(change, expected_version)
        extra: dict[str, Any] = {"reason": reason.strip()} if reason.strip() else {}
        if notices:
            settle(rt, session, actor, change, notices)
        run(rt, session, workflow, change, actor, trigger, extra)
        return common.view_of(session, rt, change)


def _actions(workflow: Workflow, actor: Actor, change: ChangeRecord, subject: ChangeSubject) -> list[Action]:
    definition = workflow.definition
    gate_triggers = definition.gate_triggers()
    actions = []
    for spec in definition.transitions_from(change.state):
        if spec.trigger in gate_triggers or not _permitted(workflow, actor, change, spec.trigger):
            continue
        missing = [m for name in spec.guards for m in GUARDS[name](subject)]
        early = EARLY_GUARD in spec.guards and bool(subject.window_opens_later)
        asks = (CALENDAR_GUARD in spec.guards and bool(
            subject.window_cautions or (subject.emergency and subject.window_freezes))) or \
            (CLASH_GUARD in spec.guards and bool(subject.window_clashes)) or early
        unsent = tuple(zip((n.id for n in subject.unsent), subject.unsent_notices, strict=True)) \
            if "notices_settled" in spec.guards else ()
        label = f"Reason for releasing before the window opens ({subject.window_opens_later}; recorded as " \
                "an early release)" if early else Action.reason_label
        actions.append(Action(spec.trigger, spec.title, tuple(missing), asks,
                              destructive=definition.kind_of(spec.dest) in UNDOING_KINDS,
                              reason_label=label, unsent=unsent))
    return actions


def _gate_status(rt: Runtime, workflow: Workflow, actor: Actor, change: ChangeRecord,
                 subject: ChangeSubject) -> GateStatus | None:
    gate = workflow.definition.gate_at(change.state)
    if gate is None:
        return None
    counts: dict[str, int] = {}
    for decision in subject.gate_decisions:
        if decision.decision == "approve":
            counts[decision.role] = counts.get(decision.role, 0) + 1
    why = decision_blocker(rt, actor, change, gate, subject)
    decide_as = voting_roles(subject.deciding_roles(actor.roles), subject.gate_requirements, counts,
                             others_holding(subject.session, actor.id)) if why is None else []
    return GateStatus(gate.name, gate.title, subject.gate_requirements, counts,
                      tuple(GUARDS["gate_quorum"](subject)), may_decide=why is None, why_not=why or "",
                      decide_as=tuple(decide_as))


def get_change(rt: Runtime, *, actor_id: int, ref: str) -> ChangeDetail:
    """A change with its stage data, decisions, and what the viewer may do now."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        return _detail(rt, session, actor, common.load_change(session, ref, actor))


@dataclass(frozen=True)
class ChangePage:
    detail: ChangeDetail
    timeline: list[TimelineEvent]
    notices: list[NoticeView]
    names: dict[str, str]  # the timeline's actors (their sign-in) → their names


def change_page(rt: Runtime, *, actor_id: int, ref: str) -> ChangePage:
    """Everything the change page shows — the change, its timeline, its release notices —
    read together (one transaction, the person and the change loaded once)."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        events = timeline_in(session, change.ref)
        people = queries.users_by_emails(session, {e.actor for e in events if "@" in e.actor})
        return ChangePage(_detail(rt, session, actor, change), events, notices_in(rt, session, actor, change),
                          {u.email: u.name for u in people})


def _on_behalf_options(rt: Runtime, session: Session, change: ChangeRecord, subject: ChangeSubject,
                       owner: bool, actor_id: int) -> tuple[tuple[int, str], ...]:
    if owner or subject.workflow.gate_at(change.state) is None:
        return ()
    decided = {a.approver_id for a in subject.approvals}
    needed = set(subject.gate_requirements)
    return tuple((uid, name) for uid, name in absences.standing_in_for(rt, session, actor_id).items()
                 if uid != change.requester_id and uid not in decided
                 and needed & rt.roles.known(queries.roles_of(session, uid)))


def _may_peer_review(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord,
                     definition: WorkflowDefinition, owner: bool) -> bool:
    policy = policies.of_school(rt, session, change.school_id)
    return not owner and change.category in policy.peer_review \
        and any("peer_reviewed" in t.guards for t in definition.transitions_from(change.state)) \
        and policy.peer_review_audience in queries.audiences_of(session, actor.id)


def _detail(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord) -> ChangeDetail:
    workflow = common.workflow_of(rt, change)
    subject = ChangeSubject(rt, session, change, workflow.definition)
    assert change.id is not None
    approvals = [ApprovalView(**row._mapping) for row in queries.all_approvals(session, change.id)]
    since = approved.since_approval(rt, session, change, workflow.definition, subject)
    state = workflow.definition.states[change.state]
    editable_owner = REQUESTER in actor.roles and owns(session, change, actor.id)
    owner = owns(session, change, actor.id)
    editable = state.edits if editable_owner else ()
    return ChangeDetail(
        change=common.view_of(session, rt, change),
        needs=subject.needs,
        plan=FinancialPlan(change.horizon_years, subject.cost_lines),
        release_plan=subject.release_plan,
        review=subject.review,
        approvals=tuple(approvals),
        actions=tuple(_actions(workflow, actor, change, subject)),
        gate=_gate_status(rt, workflow, actor, change, subject),
        editable_stages=tuple(editable),
        follow_ups=common.follow_up_refs(session, change),
        may_follow_up=REQUESTER in actor.roles and _may_follow_up(workflow.definition, change.state),
        window_freezes=subject.window_freezes,
        window_cautions=subject.window_cautions,
        clashes=subject.window_clashes,
        approvers=tuple(GateApprovers(g.name, g.title, tuple(
            (subject.gate_requirement_details if g.state == change.state else subject.requirements_for(g))
            .values()), g.state == change.state) for g in workflow.definition.gates.values()),
        policy_problems=tuple(subject.policy_problems),
        since_approval=tuple(since),
        co_owners=tuple(owner_store.co_owners(session, change.id)),
        peer_reviews=tuple((name, outcome, comments, at, digest == subject.plan_digest)
                           for _, name, outcome, comments, digest, at, _
                           in peer_store.of_change(session, change.id)),
        peer_review_required=change.category in subject.policy.peer_review,
        may_peer_review=_may_peer_review(rt, session, actor, change, workflow.definition, owner),
        on_behalf_options=_on_behalf_options(rt, session, change, subject, owner, actor.id),
        may_move_release=workflow.definition.kind_of(change.state) == SCHEDULED and bool(editable_owner),
        may_manage_owners=actor.id == change.requester_id
        or bool(actor.roles & rt.settings.accounts.transfer_roles),
        may_acknowledge=any(s.standing for s in since) and actor.id != change.requester_id
        and bool(actor.roles & set(subject.policy.tolerance.acknowledged_by)),
        returned=_returned(workflow.definition, change, approvals),
        pilot=subject.pilot,
        assets=assets.of_change(rt, session, actor, change),
        policy=subject.policy,
    )


def _returned(definition: WorkflowDefinition, change: ChangeRecord,
              approvals: list[ApprovalView]) -> Returned | None:
    """The last decision, if it sent the change back (and nothing was decided since)."""
    if not approvals or approvals[-1].decision != "reject":
        return None
    last = approvals[-1]
    gate = definition.gates.get(last.gate)
    return Returned(gate.title if gate else last.gate, last.approver, last.role, last.comment,
                    last.decided_at, resubmitted=change.approval_round > last.round)
