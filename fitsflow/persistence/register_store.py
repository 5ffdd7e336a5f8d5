"""What the change register shows beside each change: when each gate last passed and who
approved it, the review's outcome and the actual cost, read for a batch of changes at once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, select, true
from sqlmodel import Session

from .models import Approval, ApprovedSnapshot, AuditEvent, Change, CostLine, Review, User

_SNAPSHOTS = ApprovedSnapshot.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_REVIEWS = Review.__table__  # type: ignore[attr-defined]
_COSTS = CostLine.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]


@dataclass
class RegisterFacts:
    passed: dict[str, datetime] = field(default_factory=dict)  # gate → when it last passed
    reopened: set[str] = field(default_factory=set)  # gates whose approval no longer stands
    approvers: dict[str, list[str]] = field(default_factory=dict)  # gate → who approved that round
    outcome: str = ""
    actual_cost: Decimal | None = None
    early_release: str = ""  # why it was released before its window opened


def facts(session: Session, change_ids: Sequence[int]) -> dict[int, RegisterFacts]:
    """Five statements for a whole batch."""
    found = {cid: RegisterFacts() for cid in change_ids}
    if not change_ids:
        return found
    connection = session.connection()
    passes = connection.execute(
        select(_SNAPSHOTS.c.change_id, _SNAPSHOTS.c.gate, _SNAPSHOTS.c.round, _SNAPSHOTS.c.approved_at,
               _SNAPSHOTS.c.active)
        .where(_SNAPSHOTS.c.change_id.in_(change_ids))).all()
    for cid, gate, _round, at, active in passes:
        found[cid].passed[gate] = at
        if not active:  # an edit beyond tolerance opened a new round: it waits to pass again
            found[cid].reopened.add(gate)
    rounds = {(cid, gate, rnd) for cid, gate, rnd, _, _ in passes}
    if rounds:
        for cid, gate, rnd, name in connection.execute(
                select(_APPROVALS.c.change_id, _APPROVALS.c.gate, _APPROVALS.c.round, _USERS.c.name)
                .select_from(_APPROVALS.join(_USERS, _USERS.c.id == _APPROVALS.c.approver_id))
                .where(_APPROVALS.c.change_id.in_(change_ids), _APPROVALS.c.decision == "approve")
                .order_by(_APPROVALS.c.decided_at)):
            if (cid, gate, rnd) in rounds:
                found[cid].approvers.setdefault(gate, []).append(name)
    for cid, outcome in connection.execute(
            select(_REVIEWS.c.change_id, _REVIEWS.c.outcome).where(_REVIEWS.c.change_id.in_(change_ids))):
        found[cid].outcome = outcome
    for cid, total in connection.execute(
            select(_COSTS.c.change_id, func.sum(_COSTS.c.amount))
            .where(and_(_COSTS.c.change_id.in_(change_ids), _COSTS.c.actual == true()))
            .group_by(_COSTS.c.change_id)):
        found[cid].actual_cost = Decimal(str(total)).quantize(Decimal("0.01"))
    for cid, payload in connection.execute(
            select(_CHANGES.c.id, _EVENTS.c.payload)
            .select_from(_EVENTS.join(_CHANGES, _CHANGES.c.ref == _EVENTS.c.change_ref))
            .where(_CHANGES.c.id.in_(change_ids), _EVENTS.c.event_type == "release.early")
            .order_by(_EVENTS.c.seq)):
        found[cid].early_release = str(json.loads(payload).get("reason") or "")
    return found
