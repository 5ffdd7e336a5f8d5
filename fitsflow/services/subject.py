"""What guards read about one change, fetched from its stage data only when asked."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlmodel import Session

from ..domain import approved, stages
from ..domain.calendar import SchoolCalendar
from ..domain.guards import Decision
from ..domain.maintenance_windows import MaintenanceWindow, covering
from ..domain.policy import ApprovalPolicy, Facts, Requirement
from ..domain.vocabulary import PROTECT
from ..persistence import (
    approved_store,
    asset_store,
    notice_store,
    peer_store,
    queries,
    school_store,
    stage_store,
    window_store,
)
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import Gate, WorkflowDefinition
from . import calendar, clashes, policies
from .clashes import Clash
from .runtime import Runtime


class ChangeSubject:
    """What guards read (``GuardSubject``), fetched only when a guard asks."""

    def __init__(self, rt: Runtime, session: Session, change: ChangeRecord, workflow: WorkflowDefinition,
                 reason: str = ""):
        self.rt = rt
        self.session = session
        self.roles = rt.roles
        self.reason = reason  # given with the action being tried (a freeze override, a caution)
        self.change = change
        self.workflow = workflow
        self.change_id: int = change.id
        self._gate = workflow.gate_at(change.state)
        # What a gate approves, as it stands, by the scopes read (services/approved.py).
        self.snapshots: dict[tuple[str, ...], dict[str, Any]] = {}

    @property
    def category(self) -> str:
        return self.change.category

    @property
    def horizon_years(self) -> int:
        return self.change.horizon_years

    @cached_property
    def needs(self) -> stages.Needs | None:
        return stage_store.needs(self.session, self.change_id)

    @cached_property
    def feedback_problems(self) -> tuple[str, ...]:
        from .feedback import settled_problems

        return tuple(settled_problems(self.rt, self.session, self.change)[0])

    @cached_property
    def register_problems(self) -> tuple[str, ...]:
        return tuple(asset_store.register_problems(self.session, self.change_id))

    @cached_property
    def pilot(self) -> stages.Pilot | None:
        return stage_store.pilot(self.session, self.change_id)

    @property
    def measures_required(self) -> bool:
        return self.change.category in self.rt.settings.review.success_measures_for

    @cached_property
    def cost_lines(self) -> tuple[stages.CostLine, ...]:
        return stage_store.cost_lines(self.session, self.change_id, actual=False)

    @cached_property
    def release_plan(self) -> stages.ReleasePlan | None:
        return stage_store.release_plan(self.session, self.change_id)

    @cached_property
    def review(self) -> stages.Review | None:
        return stage_store.review(self.session, self.change_id)

    @cached_property
    def approvals(self) -> list[queries.Vote]:
        if self._gate is None:
            return []
        return queries.approvals_in_round(self.session, self.change_id, self._gate.name,
                                          self.change.approval_round)

    @property
    def gate_decisions(self) -> tuple[Decision, ...]:
        return tuple(Decision(a.role, a.decision) for a in self.approvals)

    def role_label(self, role: str) -> str:
        return self.roles.label(role)

    @cached_property
    def policy(self) -> ApprovalPolicy:
        """The approval policy of the change's school (its own, or the trust's)."""
        return policies.of_school(self.rt, self.session, self.change.school_id)

    @cached_property
    def facts(self) -> Facts:
        """What the approval policy weighs: five-year cost, assessed risk, screening answers."""
        lines = self.cost_lines
        plan, needs = self.release_plan, self.needs
        total = sum((line.amount for line in lines), Decimal(0)) if lines else None
        policy = self.policy
        trust_wide = self.change.school_id != school_store.FIRST and len(self.reach) > 1
        # Whether the trust's cost bands can apply at all is asked of the database only when
        # the cost is above one of them (a school of one never holds more than its first).
        in_trust = trust_wide or (
            total is not None and any(total > band.above for band in policy.trust_cost_bands)
            and (self.change.school_id != school_store.FIRST or school_store.count(self.session) > 1))
        return Facts(self.change.category, total, plan.risk if plan and plan.risk else None,
                     dict(needs.screening) if needs else {}, in_trust=in_trust, trust_wide=trust_wide)

    @cached_property
    def reach(self) -> tuple[int, ...]:
        """The schools the change affects (several: a trust-wide change)."""
        if self.change.school_id == school_store.FIRST:
            return (school_store.FIRST,)
        return school_store.reach(self.session, self.change.school_id)

    def requirements_for(self, gate: Gate) -> dict[str, Requirement]:
        """Who the policy asks for at ``gate`` given the change's facts now, and why. The
        policy's rules apply to every workflow: an emergency meets them at its approval when
        it protects a service, at its retrospective (before it closes) when it restores one
        that was down — there with the larger of its planned and actual spend."""
        policy = self.policy
        base = gate.requirements(self.change.category)
        why = f"{self.change.category} changes ({self.workflow.title})"
        if not self.workflow.emergency:
            return policy.requirements(gate.name, base, self.facts, self.rt.money, why)
        before_release = self.workflow.states[gate.state].phase != "review"
        if before_release != (self.change.emergency_purpose == PROTECT):
            return policy.requirements("", base, self.facts, self.rt.money, why)  # the workflow's own
        facts = self.facts
        if not before_release:
            actual = stage_store.cost_lines(self.session, self.change_id, actual=True)
            spent = sum((line.amount for line in actual), Decimal(0)) if actual else None
            if spent is not None and (facts.five_year_cost is None or spent > facts.five_year_cost):
                facts = replace(facts, five_year_cost=spent)
        return policy.emergency_requirements(base, facts, self.rt.money, why)

    @cached_property
    def gate_requirement_details(self) -> dict[str, Requirement]:
        """The current round's approvers as the policy computed them when it opened (a round
        opened before the policy existed: as computed now)."""
        if self._gate is None:
            return {}
        stored = queries.round_requirements(self.session, self.change_id, self._gate.name,
                                            self.change.approval_round)
        if stored:
            return {role: Requirement(role, n, tuple(why.split("\n"))) for role, (n, why) in stored.items()}
        return self.requirements_for(self._gate)

    @property
    def gate_requirements(self) -> dict[str, int]:
        return {role: r.count for role, r in self.gate_requirement_details.items()}

    @cached_property
    def escalated(self) -> bool:
        """Whether this round of the gate has been escalated (its approvers were reminded and
        then the escalation role told): from then on that role may decide in place of any
        approver still missing."""
        if self._gate is None:
            return False
        return queries.round_escalated(self.session, self.change_id, self._gate.name,
                                       self.change.approval_round)

    def short_roles(self) -> list[str]:
        """The roles this round still needs approvals from."""
        return [role for role, n in self.gate_requirements.items()
                if sum(1 for a in self.approvals if a.role == role and a.decision == "approve") < n]

    def deciding_roles(self, held: frozenset[str] | set[str]) -> set[str]:
        """The roles someone holding ``held`` may decide in at this round: their own, and once
        the round is escalated, for the escalation role, every role still short — but a trust
        role's: a school's head never decides for the trust."""
        roles = set(held)
        if self.rt.settings.reminders.escalation_role in roles and self.escalated:
            roles |= set(self.short_roles()) - set(self.rt.roles.trust_roles)
        return roles

    @cached_property
    def policy_problems(self) -> list[str]:
        """A category lighter than the facts allow; a reference the screening asks for."""
        policy = self.policy
        found = []
        problem = policy.category_problem(self.facts, self.workflow.categories, self.rt.money)
        if problem:
            found.append(problem)
        needs = self.needs
        for name, _ in policy.required_fields(self.facts):
            if name == "dpia_reference" and not (needs and needs.dpia_reference):
                found.append("no DPIA reference: personal data processed in a new way needs a "
                             "data-protection impact assessment")
        return found

    @cached_property
    def plan_digest(self) -> str:
        """The digest of the release plan as it stands (what a peer review approves)."""
        return approved.digest(approved.snapshot(("release_plan",), needs=None, lines=(),
                                                 plan=self.release_plan, services=()))

    @cached_property
    def peer_review_problems(self) -> tuple[str, ...]:
        policy = self.policy
        if self.change.category not in policy.peer_review:
            return ()
        reviews = peer_store.of_change(self.session, self.change_id)
        if not reviews:
            return ("no technical peer review of the release, back-out and test plans "
                    f"(by a member of the {self.rt.roles.audiences[policy.peer_review_audience].label} "
                    "other than the change's owners)",)
        _, name, outcome, comments, digest, _, _ = reviews[-1]
        if outcome != "approve":
            return (f"the peer review by {name} returned the plan: {comments}",)
        if digest != self.plan_digest:
            return ("the release plan changed since its peer review: it needs another",)
        return ()

    @cached_property
    def unacknowledged_changes(self) -> tuple[str, ...]:
        return tuple(approved_store.pending_lines(self.session, self.change_id))

    @cached_property
    def screening_missing(self) -> tuple[str, ...]:
        answers = self.needs.screening if self.needs else {}
        return tuple(q.text.rstrip(":") for q in self.policy.screening_questions
                     if q.name not in answers)

    @property
    def emergency(self) -> bool:
        return self.workflow.emergency

    @cached_property
    def school(self) -> SchoolCalendar:
        return calendar.school_calendar(self.rt, self.session, self.change.school_id)

    def _window_periods(self, effect: str) -> tuple[str, ...]:
        plan = self.release_plan
        if plan is None or plan.window_start is None or plan.window_end is None:
            return ()
        return tuple(p.describe(self.rt.timezone)
                     for p in self.school.overlapping(plan.window_start, plan.window_end, [effect]))

    @cached_property
    def window_freezes(self) -> tuple[str, ...]:
        return self._window_periods("freeze")

    @cached_property
    def window_cautions(self) -> tuple[str, ...]:
        return self._window_periods("caution")

    @cached_property
    def window_timing(self) -> str:
        plan = self.release_plan
        if plan is None or plan.window_start is None:
            return ""
        return calendar.timing_problem(self.rt, self.school, plan.window_start, self.rt.now(),
                                       agreed=self.maintenance_window)

    @cached_property
    def maintenance_window(self) -> MaintenanceWindow | None:
        """The agreed maintenance window a standard change's release lies inside (its services
        every one covered), whose own notice then stands for the audiences' lead times."""
        plan = self.release_plan
        if not self.workflow.from_template or plan is None or plan.window_start is None \
                or plan.window_end is None:
            return None
        services = [s for s in self.change.affected_services.split("\n") if s]
        return covering(window_store.every(self.session, schools=self.reach), services, plan.window_start,
                        plan.window_end, self.school, self.rt.timezone)

    @property
    def window_opens_later(self) -> str:
        """When the window opens, if that is still ahead (else "")."""
        plan = self.release_plan
        if plan is None or plan.window_start is None or plan.window_start <= self.rt.now():
            return ""
        return f"{plan.window_start.astimezone(self.rt.timezone):%a %d %b %Y at %H:%M}".replace(" 0", " ")

    @property
    def unsent(self) -> list[Any]:
        """The change's release notices still a draft or held (read afresh: an action may
        just have settled some)."""
        return [n for n in notice_store.of_change(self.session, self.change_id)
                if n.status in (notice_store.DRAFT, notice_store.HELD)]

    @property
    def unsent_notices(self) -> tuple[str, ...]:
        tz = self.rt.timezone
        found = []
        for n in self.unsent:
            label = self.roles.audience_label(n.audience)
            due = f"{n.publish_at.astimezone(tz):%d %b %H:%M}"
            found.append(f"the {label} notice is held for your word" if n.status == notice_store.HELD
                         else f"the {label} notice is still a draft (due {due})")
        return tuple(found)

    @cached_property
    def clashes(self) -> tuple[Clash, ...]:
        plan = self.release_plan
        if plan is None or plan.window_start is None or plan.window_end is None:
            return ()
        services = [s for s in self.change.affected_services.split("\n") if s]
        return tuple(clashes.find(self.rt, self.session, change_id=self.change_id, services=services,
                                  start=plan.window_start, end=plan.window_end, schools=self.reach))

    @property
    def window_clashes(self) -> tuple[str, ...]:
        return tuple(c.describe(self.rt.timezone) for c in self.clashes)
