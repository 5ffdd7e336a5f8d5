"""Absences and their substitutes."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from .models import Absence


def add(session: Session, *, user_id: int, substitute_id: int, first_day: date, last_day: date, reason: str,
        created_by: str, at: datetime) -> Absence:
    row = Absence(user_id=user_id, substitute_id=substitute_id, first_day=first_day, last_day=last_day,
                  reason=reason, created_by=created_by, created_at=at)
    session.add(row)
    session.flush()
    return row


def get(session: Session, absence_id: int) -> Absence | None:
    return session.get(Absence, absence_id)


def of_user(session: Session, user_id: int) -> list[Absence]:
    """A person's absences and those they stand in for, newest first."""
    return list(session.exec(select(Absence).where(
        (col(Absence.user_id) == user_id) | (col(Absence.substitute_id) == user_id))
        .order_by(col(Absence.first_day).desc())).all())


def standing_in(session: Session, substitute_id: int, day: date) -> list[Absence]:
    """The absences ``substitute_id`` covers on ``day``."""
    return list(session.exec(select(Absence).where(
        Absence.substitute_id == substitute_id, col(Absence.cancelled_at).is_(None),
        col(Absence.first_day) <= day, col(Absence.last_day) >= day)).all())


def away(session: Session, user_ids: list[int], day: date) -> dict[int, int]:
    """Of ``user_ids``, those away on ``day`` → their substitute."""
    if not user_ids:
        return {}
    rows = session.exec(select(Absence.user_id, Absence.substitute_id).where(
        col(Absence.user_id).in_(user_ids), col(Absence.cancelled_at).is_(None),
        col(Absence.first_day) <= day, col(Absence.last_day) >= day)).all()
    return {uid: sub for uid, sub in rows}
