"""What each gate approved, per change (see domain.approved)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from ..domain.approved import FieldChange
from .models import ApprovedSnapshot


def get(session: Session, change_id: int, gate: str) -> ApprovedSnapshot | None:
    return session.get(ApprovedSnapshot, (change_id, gate))


def of_change(session: Session, change_id: int) -> list[ApprovedSnapshot]:
    return list(session.exec(select(ApprovedSnapshot).where(ApprovedSnapshot.change_id == change_id)).all())


def save(session: Session, *, change_id: int, gate: str, round_: int, digest: str,
         values: dict[str, Any], at: datetime) -> None:
    """The gate's approval now stands for ``values``."""
    row = get(session, change_id, gate) or ApprovedSnapshot(change_id=change_id, gate=gate, round=round_,
                                                            digest=digest, snapshot="", approved_at=at)
    row.round, row.digest, row.snapshot = round_, digest, json.dumps(values, sort_keys=True)
    row.active, row.acknowledge, row.approved_at = True, "", at
    session.add(row)


def end(session: Session, change_id: int, gate: str) -> None:
    """A new round of the gate: its earlier approval no longer stands (kept to show what changed)."""
    row = get(session, change_id, gate)
    if row is not None:
        row.active, row.acknowledge = False, ""
        session.add(row)


def ask_acknowledgement(session: Session, row: ApprovedSnapshot, changes: list[dict[str, Any]]) -> None:
    row.acknowledge = json.dumps(changes, sort_keys=True) if changes else ""
    session.add(row)


def pending_lines(session: Session, change_id: int) -> list[str]:
    """Changes within tolerance since a standing approval, not yet acknowledged, described."""
    out: list[str] = []
    for row in of_change(session, change_id):
        if row.active and row.acknowledge:
            out += [FieldChange(**c).describe() for c in json.loads(row.acknowledge)]
    return out
