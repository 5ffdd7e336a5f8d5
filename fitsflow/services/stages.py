"""Recording stage data: needs analysis, financial plan, release plan, review.

Each edit is allowed only in the states whose workflow entry lists the stage, only
by the change's requester, and is audited with what it was before and after."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlmodel import Session, delete

from ..domain import stages
from ..domain.errors import NotAllowed, NotPermitted
from ..persistence import audit_store, models
from ..persistence.change_store import ChangeRecord
from . import common
from .common import unit_of_work
from .runtime import Runtime
from .subject import cost_rows, cost_value, needs_value, release_value
from .views import ChangeView

Apply = Callable[[Session, ChangeRecord], tuple[Any, Any]]


def _edit(rt: Runtime, *, actor_id: int, ref: str, stage: str, expected_version: int | None,
          apply: Apply) -> ChangeView:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        if actor.id != change.requester_id or "requester" not in actor.roles:
            raise NotPermitted("only the change's requester may edit its stages")
        definition = rt.workflows.get(change.workflow).definition
        editable = definition.states[change.state].edits
        if stage not in editable:
            raise NotAllowed(f"edit {stage}", change.state, [f"edit {s}" for s in editable])
        common.check_version(change, expected_version)
        before, after = apply(session, change)
        common.touch(change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type=f"stage.{stage}", payload={"before": before, "after": after})
        return common.view_of(session, rt, change)


def _plain(value: Any) -> Any:
    return asdict(value) if value is not None else None


def record_needs(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                 expected_version: int | None = None) -> ChangeView:
    """Save the needs analysis: the need, stakeholders consulted, SDP priority, options."""
    needs = stages.parse_needs(data)

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        row = session.get(models.NeedsAnalysis, change.id)
        before = _plain(needs_value(row))
        if row is None:
            assert change.id is not None
            row = models.NeedsAnalysis(change_id=change.id, need="", updated_at=common.now())
        row.need = needs.need
        row.stakeholders = json.dumps(list(needs.stakeholders))
        row.sdp_priority = needs.sdp_priority
        row.options_considered = needs.options_considered
        row.updated_at = common.now()
        session.add(row)
        return before, _plain(needs)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="needs", expected_version=expected_version,
                 apply=apply)


def _replace_costs(session: Session, change: ChangeRecord, lines: tuple[stages.CostLine, ...],
                   *, actual: bool) -> list[dict[str, Any]]:
    assert change.id is not None
    before = [asdict(cost_value(r)) for r in cost_rows(session, change.id, actual=actual)]
    session.execute(delete(models.CostLine).where(
        models.CostLine.change_id == change.id,  # type: ignore[arg-type]
        models.CostLine.actual == actual))  # type: ignore[arg-type]
    for line in lines:
        session.add(models.CostLine(change_id=change.id, actual=actual, year_offset=line.year_offset,
                                    kind=line.kind, amount=line.amount,
                                    funding_source=line.funding_source,
                                    description=line.description))
    return before


def record_financial_plan(rt: Runtime, *, actor_id: int, ref: str,
                          lines: Sequence[Mapping[str, Any]],
                          expected_version: int | None = None) -> ChangeView:
    """Replace the planned cost lines (year 1 … horizon, kind, amount, funding source)."""

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        parsed = stages.parse_cost_lines(lines, change.horizon_years)
        before = _replace_costs(session, change, parsed, actual=False)
        return before, [asdict(line) for line in parsed]

    return _edit(rt, actor_id=actor_id, ref=ref, stage="finance", expected_version=expected_version,
                 apply=apply)


def record_release_plan(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                        expected_version: int | None = None) -> ChangeView:
    """Save the release plan: window, risk, impact, back-out plan and test plan."""
    plan = stages.parse_release_plan(data, rt.timezone)

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        row = session.get(models.ReleasePlan, change.id)
        before = _plain(release_value(row))
        if row is None:
            assert change.id is not None
            row = models.ReleasePlan(change_id=change.id, updated_at=common.now())
        row.window_start, row.window_end = plan.window_start, plan.window_end
        row.backout_plan, row.test_plan = plan.backout_plan, plan.test_plan
        row.risk, row.impact = plan.risk, plan.impact
        row.training, row.contact = plan.training, plan.contact
        row.updated_at = common.now()
        session.add(row)
        return before, _plain(plan)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="release_plan",
                 expected_version=expected_version, apply=apply)


def record_review(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                  expected_version: int | None = None) -> ChangeView:
    """Save the post-implementation review: outcome, notes and actual costs."""

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        review = stages.parse_review(data, change.horizon_years)
        row = session.get(models.Review, change.id)
        before: dict[str, Any] | None = {"outcome": row.outcome, "notes": row.notes} if row else None
        if row is None:
            assert change.id is not None
            row = models.Review(change_id=change.id, outcome="", updated_at=common.now())
        row.outcome, row.notes, row.updated_at = review.outcome, review.notes, common.now()
        session.add(row)
        before_costs = _replace_costs(session, change, review.actual_costs, actual=True)
        if before is not None:
            before["actual_costs"] = before_costs
        return before, _plain(review)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="review", expected_version=expected_version,
                 apply=apply)
