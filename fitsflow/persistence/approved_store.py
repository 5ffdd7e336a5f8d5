"""What each gate approved, per change (see domain.approved)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, select

from ..domain.approved import FieldChange
from .models import ApprovedSnapshot


def get(session: Session, change_id: int, gate: str) -> ApprovedSnapshot | None:
    return session.get(ApprovedSnapshot, (change_id, gate))


def of_change(session: Session, change_id: int) -> list[ApprovedSnapshot]:
    return list(session.exec(select(ApprovedSnapshot).where(ApprovedSnapshot.change_id == change_id)).all())


_SNAPSHOTS = ApprovedSnapshot.__table__  # type: ignore[attr-defined]
# Written on every gate that passes: statements built once, run on the connection.
_FORGET = _SNAPSHOTS.delete().where(_SNAPSHOTS.c.change_id == bindparam("cid"),
                                    _SNAPSHOTS.c.gate == bindparam("g"))
_KEEP = _SNAPSHOTS.insert()


def save(session: Session, *, change_id: int, gate: str, round_: int, digest: str,
         values: dict[str, Any], at: datetime) -> None:
    """The gate's approval now stands for ``values``."""
    if session.new or session.dirty:
        session.flush()
    connection = session.connection()
    connection.execute(_FORGET, {"cid": change_id, "g": gate})
    connection.execute(_KEEP, {"change_id": change_id, "gate": gate, "round": round_, "digest": digest,
                               "snapshot": json.dumps(values, sort_keys=True), "active": True,
                               "acknowledge": "", "approved_at": at})


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
