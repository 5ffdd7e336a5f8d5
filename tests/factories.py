"""Factories with random references instead of shared fixtures."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from fitsflow.domain.vocabulary import CLOSED, IN_REVIEW, RELEASED, UNDOING_KINDS
from fitsflow.persistence import feedback_store
from fitsflow.persistence.models import AuditEvent, Change, OutboxMessage
from fitsflow.services import catalogue, stages, templates, users
from fitsflow.services import changes as changes_service
from fitsflow.services import feedback as feedback_service
from fitsflow.services import gates as gates_service
from fitsflow.services import notices as notices_service
from fitsflow.services import peer_review as peer_review_service
from fitsflow.services.common import unit_of_work
from fitsflow.services.runtime import Runtime


def user(rt: Runtime, roles: str = "", audiences: str = "", name: str = "") -> int:
    tag = uuid.uuid4().hex[:10]
    return users.add_user(rt, name=name or f"User {tag}", email=f"u{tag}@test.school",
                             roles=roles, audiences=audiences)


class School:
    """A requester and approvers enough for every shipped gate."""

    def __init__(self, rt: Runtime):
        self.rt = rt
        self.requester = user(rt, "requester", "support", "Requester")
        self.other_requester = user(rt, "requester", "", "Other requester")
        self.cab = [user(rt, "cab", "support", f"CAB {i}") for i in range(2)]
        self.slt = user(rt, "slt", "slt", "SLT")
        self.finance = user(rt, "finance", "slt", "Finance")
        self.head = user(rt, "head", "slt", "Head")
        self.auditor = user(rt, "auditor", "", "Auditor")
        self.admin = user(rt, "admin", "", "Admin")
        self.staff = user(rt, "", "staff", "Teacher")
        self.trust: dict[str, list[int]] = {}  # trust roles' holders, when a test makes them

    def approvers_for(self, role: str) -> list[int]:
        return {"cab": self.cab, "slt": [self.slt], "finance": [self.finance],
                "head": [self.head], **self.trust}[role]


NEEDS = {"need": "Old PCs are too slow for the new GCSE units", "stakeholders": ["Head of Computing"],
         "sdp_priority": "SDP 2", "options_considered": "Refurbish or replace",
         "screening": {"personal_data": "none", "safeguarding": "no"},
         "success_measures": [{"statement": "A GCSE practical lesson loads in under a minute",
                               "method": "Timed in three lessons by the head of computing",
                               "check_by": "2027-07-16"}]}
# Screening answers that call for no specialist (no new personal data, no safeguarding).
SCREENED_CLEAR = {"personal_data": "none", "safeguarding": "no"}
URGENCY = "The exam-board portal is down: coursework cannot be uploaded before the deadline"
# Answers the shipped policy scores as low risk (2 points).
LOW_RISK = {"people": "group", "teaching": "no", "services": "one", "tested": "yes", "backout": "minutes",
            "supplier": "yes", "data": "no"}


def five_year_lines(years: int = 5) -> list[dict[str, Any]]:
    # £1,700 over five years: within what the shipped policy allows a minor change.
    lines: list[dict[str, Any]] = [{"year": 1, "kind": "capital", "amount": "1200",
                                    "funding_source": "Capital grant"}]
    lines += [{"year": y, "kind": "licence", "amount": "100", "funding_source": "ICT budget"}
              for y in range(1, years + 1)]
    return lines


def release_plan(rt: Runtime) -> dict[str, Any]:
    """A complete release plan, its window ten days from the runtime's now."""
    return release_plan_from(rt.now() + timedelta(days=10))


def release_plan_from(start: datetime) -> dict[str, Any]:
    return {"window_start": start.isoformat(), "window_end": (start + timedelta(hours=2)).isoformat(),
            "backout_plan": "Reimage from backup", "test_plan": "Log in as a student",
            "risk_answers": dict(LOW_RISK), "impact": "Suite closed for an afternoon",
            "training": "Drop-in session on Monday", "contact": "Helpdesk ext. 204"}


REVIEW = {"outcome": "successful", "notes": "Went well",
          "actual_costs": [{"year": 1, "kind": "capital", "amount": "11800",
                            "funding_source": "Capital grant"}]}


def fill_stages(rt: Runtime, actor: int, ref: str, editable: tuple[str, ...],
                window: datetime | None = None) -> None:
    if "needs" in editable:
        stages.record_needs(rt, actor_id=actor, ref=ref, data=NEEDS)
    if "finance" in editable:
        stages.record_financial_plan(rt, actor_id=actor, ref=ref, lines=five_year_lines())
    # A plan recorded before stays (its window is made from the clock: recording it again
    # after approval would be an edit of what was approved); one started from a standard
    # template has no window yet.
    if "release_plan" in editable:
        plan = changes_service.get_change(rt, actor_id=actor, ref=ref).release_plan
        if plan is None or plan.window_start is None:
            data = release_plan_from(window) if window else release_plan(rt)
            stages.record_release_plan(rt, actor_id=actor, ref=ref, data=data)
    if "review" in editable:
        stages.record_review(rt, actor_id=actor, ref=ref, data=review_of(rt, actor, ref))
    if "pilot" in editable:
        stages.record_pilot(rt, actor_id=actor, ref=ref, data=PILOT)
    if "pilot_outcome" in editable:
        stages.record_pilot_outcome(rt, actor_id=actor, ref=ref, data=PILOT_ADAPTED)


PILOT = {"hypothesis": "If Year 8 use tablets in science, practicals are recorded in half the time",
         "trial_group": "Two Year 8 science classes", "weeks": 6}
PILOT_ADAPTED = {"outcome": "adapt", "learnt": "Recording was quicker; charging was the bottleneck"}


def review_of(rt: Runtime, actor: int, ref: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A review (REVIEW, or ``data``) that assesses each of the change's success measures."""
    needs = changes_service.get_change(rt, actor_id=actor, ref=ref).needs
    said = [{"result": "met", "evidence": "Timed in three lessons: 40 seconds at most"}
            for _ in (needs.measures if needs else ())]
    return {**(data or REVIEW), "measures": said}


def path_to(rt: Runtime, workflow: str, target: str) -> list[str]:
    definition = rt.workflows.get(workflow).definition
    return definition.path(target, avoid=frozenset(g.reject for g in definition.gates.values()))


def approve_gate(rt: Runtime, school: School, ref: str) -> None:
    detail = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    assert detail.gate is not None
    for role, needed in detail.gate.requirements.items():
        for uid in school.approvers_for(role)[:needed]:
            gates_service.decide(rt, actor_id=uid, ref=ref, decision="approve", role=role)


TEMPLATE_SERVICE = "Classroom AV"


def standard_template(rt: Runtime, school: School, *, max_cost: str = "500",
                      services_: tuple[str, ...] = (TEMPLATE_SERVICE,), used_by: str = "requester",
                      for_school: str = "") -> str:
    """An active standard-change template (the requester proposed it, a CAB member approved
    it; ``for_school``: the school whose it is, in a trust); returns its reference."""
    for name in services_:
        catalogue.save_service(rt, actor_id=None, name=name)
    view = templates.propose(rt, actor_id=school.requester, data={
        "title": "Replace a classroom projector lamp", "description": "Swap the lamp, reset the hours",
        "services": list(services_), "max_cost": max_cost, "steps": "1. Power off\n2. Swap the lamp",
        "backout_plan": "Refit the old lamp", "used_by": used_by, "screening": dict(SCREENED_CLEAR),
        "school": for_school})
    templates.act(rt, actor_id=school.cab[0], template_id=view.id, action="approve")
    return view.ref


def change_in(rt: Runtime, school: School, category: str, target: str, title: str = "Test change",
              affected: tuple[str, ...] = (), reason: str = "", window: datetime | None = None,
              schools: str | None = None) -> str:
    """Raise a change and drive it, through the services, to ``target`` (``reason`` goes
    with each action: a clash or a caution period on the way). A standard change is raised
    from a new template covering ``affected``; its release window starts at ``window``
    (by default ten days after the runtime's now); ``schools``: the school or schools it is
    for (their slugs, separated by commas: a trust-wide change)."""
    template, cost = None, None
    if rt.workflows.for_category(category).definition.from_template:
        template = standard_template(rt, school, services_=affected or (TEMPLATE_SERVICE,))
        cost = "120"
    view = changes_service.raise_change(rt, actor_id=school.requester, title=title, category=category,
                                 affected_services=affected,
                                 urgency=URGENCY if category == "emergency" else "",
                                 emergency_purpose="restore" if category == "emergency" else "",
                                 template=template, cost=cost, school=schools)
    definition = rt.workflows.get(view.workflow).definition
    state = view.state
    for trigger in path_to(rt, view.workflow, target):
        fill_stages(rt, school.requester, view.ref, definition.states[state].edits, window)
        if definition.kind_of(state) == IN_REVIEW:
            give_feedback(rt, view.ref)
        if trigger in definition.gate_triggers():
            approve_gate(rt, school, view.ref)
        else:
            peer_review(rt, school, view.ref, definition, state, trigger, category)
            dest_kind = definition.kind_of(definition.table()[(state, trigger)])
            undoing = dest_kind in UNDOING_KINDS
            settling = dest_kind in (RELEASED, CLOSED)
            changes_service.fire(rt, actor_id=school.requester, ref=view.ref, trigger=trigger,
                                 reason=reason or ("Test: no longer needed" if undoing else
                                                   "Test: released when the test needs it" if settling
                                                   else ""),
                                 notices=unsent_published(rt, school.requester, view.ref) if settling
                                 else None)
        state = definition.table()[(state, trigger)]
    return view.ref


FEEDBACK = {"meets_need": 4, "disruption": 5, "training": 3, "communication": 4,
            "worked": "Quick to sign in", "improve": "Tell us a week earlier"}


def give_feedback(rt: Runtime, ref: str, data: dict[str, Any] | None = None) -> int:
    """Everyone asked for 360° feedback on the change's review answers (FEEDBACK, or
    ``data``); return how many did."""
    with unit_of_work(rt) as session:
        change_id = session.execute(select(Change.id).where(Change.ref == ref)).scalar_one()
        people = list(feedback_store.asked(session, change_id))
    for uid in people:
        feedback_service.respond(rt, actor_id=uid, ref=ref, data=data or FEEDBACK)
    return len(people)


def unsent_published(rt: Runtime, requester: int, ref: str) -> dict[int, tuple[str, str]]:
    """Every notice of the change still unsent, to publish now (a release in a test comes
    before its window, its notices before their times)."""
    return {n.id: ("publish", "") for n in notices_service.notices_for(rt, actor_id=requester, ref=ref)
            if n.status in ("draft", "held")}


def peer_review(rt: Runtime, school: School, ref: str, definition: Any, state: str, trigger: str,
                category: str) -> None:
    """The technical peer review a trigger needs for this category (a CAB member in the
    support team reviews it)."""
    spec = definition.transition(trigger, state)
    if spec and "peer_reviewed" in spec.guards and category in rt.settings.policy.peer_review:
        peer_review_service.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="approve")


def send_held_notices(rt: Runtime, school: School, ref: str) -> None:
    """The requester sends now the notices held because they would go at once."""
    for n in notices_service.notices_for(rt, actor_id=school.requester, ref=ref):
        if n.status == "held":
            notices_service.release_notice(rt, actor_id=school.requester, ref=ref, notice_id=n.id,
                                            action="send_now")


def counts(rt: Runtime) -> tuple[int, int]:
    """(audit events, outbox rows)."""
    with rt.db.read() as session:
        audit = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        outbox = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        return int(audit), int(outbox)


def snapshot(rt: Runtime, ref: str) -> tuple[str, int, int]:
    """(state, version, approval round) as stored."""
    with rt.db.read() as session:
        row = session.execute(select(Change.state, Change.version, Change.approval_round)
                              .where(Change.ref == ref)).one()
        return row[0], row[1], row[2]


def outbox_for(rt: Runtime, ref: str) -> list[tuple[str, int]]:
    with rt.db.read() as session:
        rows = session.execute(select(OutboxMessage.event, OutboxMessage.recipient_id)
                               .where(OutboxMessage.change_ref == ref)
                               .order_by(OutboxMessage.id)).all()
        return [(r[0], r[1]) for r in rows]


# £13,000 over five years: a significant change's plan, over the register's £10,000 filter.
BIG_PLAN = [
    {"year": 1, "kind": "capital", "amount": "9000", "funding_source": "Devolved capital"},
    *({"year": y, "kind": "licence", "amount": "800", "funding_source": "ICT budget"} for y in range(1, 6)),
]


def costly_change(rt: Runtime, school: School, title: str = "Replace the core switch") -> str:
    """A significant change in financial planning with BIG_PLAN recorded; returns its reference."""
    ref = changes_service.raise_change(rt, actor_id=school.requester, title=title, category="significant").ref
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=NEEDS)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=BIG_PLAN)
    return ref


def haystack(rt: Runtime, school: School, size: int = 1000) -> str:
    """``size`` changes, all routine but one about the MIS moving to Arbor; returns that one."""
    for i in range(size - 1):
        changes_service.raise_change(rt, actor_id=school.requester, title=f"Routine change {i}",
                                     category="minor",
                              description="Replace a classroom keyboard")
    return changes_service.raise_change(rt, actor_id=school.requester, title="Migrate the MIS to the cloud",
                                 category="minor", description="Arbor replaces SIMS").ref


def drain(worker: Any, rounds: int = 100) -> int:
    """Run the delivery worker until it finds nothing to do; how many it delivered. Bounded:
    a worker still busy after ``rounds`` batches is a test failure, not a hang."""
    delivered = 0
    for _ in range(rounds):
        done = worker.run_once()
        if not done:
            return delivered
        delivered += done
    raise AssertionError(f"the worker still had work after {rounds} batches")
