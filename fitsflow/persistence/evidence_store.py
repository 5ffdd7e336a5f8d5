"""What changes are evidence of."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from .models import ChangeEvidence


def get(session: Session, change_id: int) -> ChangeEvidence | None:
    return session.get(ChangeEvidence, change_id)


def save(session: Session, change_id: int, tags: list[str], vendor_released_on: date | None,
         at: datetime) -> None:
    row = session.get(ChangeEvidence, change_id) or ChangeEvidence(change_id=change_id, updated_at=at)
    row.tags, row.vendor_released_on, row.updated_at = "\n".join(tags), vendor_released_on, at
    session.add(row)
    session.flush()
