"""What an approver needs beside each change in their queue, read for a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, false, func, select
from sqlmodel import Session

from .models import Change, CostLine, GateRequirement, ReleasePlan

_CHANGES = Change.__table__  # type: ignore[attr-defined]
_COSTS = CostLine.__table__  # type: ignore[attr-defined]
_PLANS = ReleasePlan.__table__  # type: ignore[attr-defined]
_REQUIREMENTS = GateRequirement.__table__  # type: ignore[attr-defined]
_THIS_ROUND = and_(_CHANGES.c.id == _REQUIREMENTS.c.change_id,
                   _CHANGES.c.approval_round == _REQUIREMENTS.c.round)


@dataclass
class QueueFacts:
    """A change's planned cost by year of its plan (0 is the first), its release window and
    risk, and when the round now waiting opened."""

    cost_by_year: dict[int, Decimal] = field(default_factory=dict)
    window_start: datetime | None = None
    window_end: datetime | None = None
    risk: str = ""
    waiting_since: datetime | None = None


def round_opened() -> Any:
    """When the change's current round opened (a correlated scalar subquery, to sort by)."""
    return (select(func.min(_REQUIREMENTS.c.opened_at))
            .where(_REQUIREMENTS.c.change_id == _CHANGES.c.id,
                   _REQUIREMENTS.c.round == _CHANGES.c.approval_round)
            .scalar_subquery())


def facts(session: Session, change_ids: Sequence[int]) -> dict[int, QueueFacts]:
    """Three statements for a whole page, whatever its size."""
    found = {cid: QueueFacts() for cid in change_ids}
    if not change_ids:
        return found
    connection = session.connection()
    for cid, year, total in connection.execute(
            select(_COSTS.c.change_id, _COSTS.c.year_offset, func.sum(_COSTS.c.amount))
            .where(_COSTS.c.change_id.in_(change_ids), _COSTS.c.actual == false())
            .group_by(_COSTS.c.change_id, _COSTS.c.year_offset)):
        found[cid].cost_by_year[int(year)] = Decimal(str(total)).quantize(Decimal("0.01"))
    for cid, start, end, risk in connection.execute(
            select(_PLANS.c.change_id, _PLANS.c.window_start, _PLANS.c.window_end, _PLANS.c.risk)
            .where(_PLANS.c.change_id.in_(change_ids))):
        found[cid].window_start, found[cid].window_end, found[cid].risk = start, end, risk or ""
    for cid, opened in connection.execute(
            select(_REQUIREMENTS.c.change_id, func.min(_REQUIREMENTS.c.opened_at))
            .select_from(_REQUIREMENTS.join(_CHANGES, _THIS_ROUND))
            .where(_REQUIREMENTS.c.change_id.in_(change_ids))
            .group_by(_REQUIREMENTS.c.change_id)):
        found[cid].waiting_since = opened
    return found
