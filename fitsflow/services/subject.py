"""What guards read about one change, fetched from its stage data only when asked."""

from __future__ import annotations

from functools import cached_property

from sqlmodel import Session

from ..domain import stages
from ..domain.calendar import SchoolCalendar
from ..domain.guards import Decision
from ..persistence import queries, stage_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import calendar, clashes
from .clashes import Clash
from .common import now
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

    @property
    def gate_requirements(self) -> dict[str, int]:
        return self._gate.requirements(self.change.category) if self._gate else {}

    @property
    def emergency(self) -> bool:
        return self.workflow.emergency

    @cached_property
    def school(self) -> SchoolCalendar:
        return calendar.school_calendar(self.rt, self.session)

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
        return calendar.timing_problem(self.rt, self.school, plan.window_start, now())

    @cached_property
    def clashes(self) -> tuple[Clash, ...]:
        plan = self.release_plan
        if plan is None or plan.window_start is None or plan.window_end is None:
            return ()
        services = [s for s in self.change.affected_services.split("\n") if s]
        return tuple(clashes.find(self.rt, self.session, change_id=self.change_id, services=services,
                                  start=plan.window_start, end=plan.window_end))

    @property
    def window_clashes(self) -> tuple[str, ...]:
        return tuple(c.describe(self.rt.timezone) for c in self.clashes)
