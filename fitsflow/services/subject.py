"""Stage data of one change, loaded lazily from the session and converted to domain values."""

from __future__ import annotations

import json
from functools import cached_property

from sqlmodel import Session, col, select

from ..domain import stages
from ..domain.guards import Decision
from ..domain.roles import RoleBook
from ..persistence import models, queries
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition


def needs_value(row: models.NeedsAnalysis | None) -> stages.Needs | None:
    if row is None:
        return None
    return stages.Needs(row.need, tuple(json.loads(row.stakeholders or "[]")), row.sdp_priority,
                        row.options_considered)


def cost_value(row: models.CostLine) -> stages.CostLine:
    return stages.CostLine(row.year_offset, row.kind, row.amount, row.funding_source, row.description)


def release_value(row: models.ReleasePlan | None) -> stages.ReleasePlan | None:
    if row is None:
        return None
    return stages.ReleasePlan(row.window_start, row.window_end, row.backout_plan, row.test_plan,
                              row.risk, row.impact, row.training, row.contact)


def cost_rows(session: Session, change_id: int, *, actual: bool) -> list[models.CostLine]:
    query = select(models.CostLine).where(models.CostLine.change_id == change_id,
                                          models.CostLine.actual == actual)
    return list(session.exec(query.order_by(col(models.CostLine.year_offset),
                                            col(models.CostLine.id))).all())


class ChangeSubject:
    """What guards read (``GuardSubject``), fetched only when a guard asks."""

    def __init__(self, session: Session, change: ChangeRecord, workflow: WorkflowDefinition,
                 roles: RoleBook):
        self.session = session
        self.roles = roles
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
        return needs_value(self.session.get(models.NeedsAnalysis, self.change_id))

    @cached_property
    def cost_lines(self) -> tuple[stages.CostLine, ...]:
        return tuple(cost_value(r) for r in cost_rows(self.session, self.change_id, actual=False))

    @cached_property
    def release_plan(self) -> stages.ReleasePlan | None:
        return release_value(self.session.get(models.ReleasePlan, self.change_id))

    @cached_property
    def review(self) -> stages.Review | None:
        row = self.session.get(models.Review, self.change_id)
        if row is None:
            return None
        actual = tuple(cost_value(r) for r in cost_rows(self.session, self.change_id, actual=True))
        return stages.Review(row.outcome, row.notes, actual)

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
