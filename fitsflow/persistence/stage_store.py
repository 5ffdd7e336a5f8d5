"""A change's stage data — needs analysis, cost lines, release plan, review — read as
domain values and written from them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, delete

from ..domain import stages
from .models import CostLine, NeedsAnalysis, PilotStudy, ReleasePlan, Review, SuccessMeasure

# The stage reads run on every change page view and gate decision: statements built once,
# run on the connection (an ORM get or select cost 0.3–0.6 ms each).
_NEEDS_T = NeedsAnalysis.__table__  # type: ignore[attr-defined]
_NEEDS = (core_select(_NEEDS_T.c.need, _NEEDS_T.c.stakeholders, _NEEDS_T.c.sdp_priority,
                      _NEEDS_T.c.options_considered, _NEEDS_T.c.screening, _NEEDS_T.c.dpia_reference)
          .where(_NEEDS_T.c.change_id == bindparam("cid")))
_LINES_T = CostLine.__table__  # type: ignore[attr-defined]
_LINES = (core_select(_LINES_T.c.year_offset, _LINES_T.c.kind, _LINES_T.c.amount, _LINES_T.c.funding_source,
                      _LINES_T.c.description)
          .where(_LINES_T.c.change_id == bindparam("cid"), _LINES_T.c.actual == bindparam("actual"))
          .order_by(_LINES_T.c.year_offset, _LINES_T.c.id))
_MEASURES_T = SuccessMeasure.__table__  # type: ignore[attr-defined]
_MEASURES = (core_select(_MEASURES_T.c.statement, _MEASURES_T.c.method, _MEASURES_T.c.check_by,
                         _MEASURES_T.c.result, _MEASURES_T.c.evidence)
             .where(_MEASURES_T.c.change_id == bindparam("cid")).order_by(_MEASURES_T.c.position))
_REVIEW_T = Review.__table__  # type: ignore[attr-defined]
_REVIEW = (core_select(_REVIEW_T.c.outcome, _REVIEW_T.c.notes, _REVIEW_T.c.refresh_on)
           .where(_REVIEW_T.c.change_id == bindparam("cid")))


def _flushed(session: Session) -> Session:
    if session.new or session.dirty:
        session.flush()  # what was saved earlier in this transaction is read back
    return session


def needs(session: Session, change_id: int) -> stages.Needs | None:
    row = _flushed(session).connection().execute(_NEEDS, {"cid": change_id}).first()
    if row is None:
        return None
    return stages.Needs(row[0], tuple(json.loads(row[1] or "[]")), row[2], row[3], json.loads(row[4] or "{}"),
                        row[5], measures(session, change_id))


def measures(session: Session, change_id: int) -> tuple[stages.SuccessMeasure, ...]:
    """The change's success measures in order, with the review's word on each so far."""
    rows = _flushed(session).connection().execute(_MEASURES, {"cid": change_id})
    return tuple(stages.SuccessMeasure(*row) for row in rows)


def _save_measures(session: Session, change_id: int, new: Sequence[stages.SuccessMeasure]) -> None:
    """Replace the measures; one kept word for word keeps the review's assessment of it."""
    assessed = {m.statement: m for m in measures(session, change_id) if m.result}
    session.execute(delete(SuccessMeasure).where(SuccessMeasure.change_id == change_id))  # type: ignore[arg-type]
    session.flush()  # the old positions go before the new take them
    for position, m in enumerate(new):
        kept = assessed.get(m.statement) or m
        session.add(SuccessMeasure(change_id=change_id, position=position, statement=m.statement,
                                   method=m.method, check_by=m.check_by, result=kept.result,
                                   evidence=kept.evidence))


def save_needs(session: Session, change_id: int, value: stages.Needs, now: datetime) -> None:
    row = session.get(NeedsAnalysis, change_id) or NeedsAnalysis(change_id=change_id, need="", updated_at=now)
    row.need, row.stakeholders = value.need, json.dumps(list(value.stakeholders))
    row.sdp_priority, row.options_considered = value.sdp_priority, value.options_considered
    row.screening = json.dumps(dict(value.screening), sort_keys=True)
    row.dpia_reference = value.dpia_reference
    row.updated_at = now
    session.add(row)
    _save_measures(session, change_id, value.measures)


def cost_lines(session: Session, change_id: int, *, actual: bool) -> tuple[stages.CostLine, ...]:
    """Planned (or, with ``actual``, actual) cost lines, year by year."""
    rows = _flushed(session).connection().execute(_LINES, {"cid": change_id, "actual": actual})
    return tuple(stages.CostLine(*row) for row in rows)


def replace_cost_lines(session: Session, change_id: int, lines: Sequence[stages.CostLine], *,
                       actual: bool) -> Decimal:
    """Replace the change's planned (or actual) cost lines; return their total (the caller
    keeps a planned total on the change record, saved with it)."""
    session.execute(delete(CostLine).where(
        CostLine.change_id == change_id, CostLine.actual == actual))  # type: ignore[arg-type]
    session.add_all(CostLine(change_id=change_id, actual=actual, year_offset=line.year_offset, kind=line.kind,
                             amount=line.amount, funding_source=line.funding_source,
                             description=line.description) for line in lines)
    return sum((line.amount for line in lines), Decimal(0))


_PLANS = ReleasePlan.__table__  # type: ignore[attr-defined]
# Read on every gate decision (the window guards): a statement built once, run on the
# connection — an ORM get cost about 0.4 ms a decision.
_PLAN = (core_select(_PLANS.c.window_start, _PLANS.c.window_end, _PLANS.c.backout_plan, _PLANS.c.test_plan,
                     _PLANS.c.risk, _PLANS.c.impact, _PLANS.c.training, _PLANS.c.contact,
                     _PLANS.c.risk_answers, _PLANS.c.risk_score)
         .where(_PLANS.c.change_id == bindparam("cid")))


def release_plan(session: Session, change_id: int) -> stages.ReleasePlan | None:
    row = _flushed(session).connection().execute(_PLAN, {"cid": change_id}).first()
    if row is None:
        return None
    return stages.ReleasePlan(*row[:8], json.loads(row[8] or "{}"), row[9])


def save_release_plan(session: Session, change_id: int, plan: stages.ReleasePlan, now: datetime) -> None:
    row = session.get(ReleasePlan, change_id) or ReleasePlan(change_id=change_id, updated_at=now)
    if (row.window_start, row.window_end) != (plan.window_start, plan.window_end):
        row.window_sequence = (row.window_sequence or 0) + 1
    row.window_start, row.window_end = plan.window_start, plan.window_end
    row.backout_plan, row.test_plan = plan.backout_plan, plan.test_plan
    row.risk, row.impact, row.training, row.contact = plan.risk, plan.impact, plan.training, plan.contact
    row.risk_answers, row.risk_score = json.dumps(dict(plan.risk_answers), sort_keys=True), plan.risk_score
    row.updated_at = now
    session.add(row)


def review(session: Session, change_id: int) -> stages.Review | None:
    row = _flushed(session).connection().execute(_REVIEW, {"cid": change_id}).first()
    if row is None:
        return None
    said = tuple(stages.Assessment(m.result, m.evidence) for m in measures(session, change_id))
    return stages.Review(row[0], row[1], cost_lines(session, change_id, actual=True), said, row[2])


def save_review(session: Session, change_id: int, value: stages.Review, now: datetime) -> None:
    row = session.get(Review, change_id) or Review(change_id=change_id, outcome="", updated_at=now)
    row.outcome, row.notes, row.updated_at = value.outcome, value.notes, now
    row.refresh_on = value.refresh_on
    session.add(row)
    replace_cost_lines(session, change_id, value.actual_costs, actual=True)
    rows = session.connection().execute(
        core_select(_MEASURES_T.c.id).where(_MEASURES_T.c.change_id == change_id)
        .order_by(_MEASURES_T.c.position)).scalars().all()
    for measure_id, said in zip(rows, value.assessments, strict=False):
        session.connection().execute(_MEASURES_T.update().where(_MEASURES_T.c.id == measure_id)
                                     .values(result=said.result, evidence=said.evidence))


def pilot(session: Session, change_id: int) -> stages.Pilot | None:
    row = _flushed(session).get(PilotStudy, change_id)
    if row is None:
        return None
    return stages.Pilot(row.hypothesis, row.trial_group, row.weeks, row.outcome, row.learnt,
                        row.adopt_category)


def save_pilot(session: Session, change_id: int, now: datetime, **values: object) -> None:
    """Save some of the pilot's fields (its design, or its outcome)."""
    row = session.get(PilotStudy, change_id) or PilotStudy(change_id=change_id, updated_at=now)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = now
    session.add(row)


def adopted_as(session: Session, change_id: int) -> int | None:
    row = _flushed(session).get(PilotStudy, change_id)
    return row.adopted_as if row is not None else None
