"""Absences and their substitutes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from .models import Absence, User


def add(session: Session, *, user_id: int, substitute_id: int, first_day: date, last_day: date, reason: str,
        created_by: str, at: datetime, roles: str, confirmed: bool) -> Absence:
    row = Absence(user_id=user_id, substitute_id=substitute_id, first_day=first_day, last_day=last_day,
                  reason=reason, created_by=created_by, created_at=at, roles=roles,
                  confirmed_at=at if confirmed else None)
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


_ABSENCES = Absence.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
# Asked on every page an approver opens (the queue and the decision card): built once.
_STANDING_IN = (core_select(_USERS.c.id, _USERS.c.name, _ABSENCES.c.roles)
                .select_from(_ABSENCES.join(_USERS, _USERS.c.id == _ABSENCES.c.user_id))
                .where(_ABSENCES.c.substitute_id == bindparam("substitute"),
                       _ABSENCES.c.cancelled_at.is_(None), _ABSENCES.c.confirmed_at.is_not(None),
                       _ABSENCES.c.first_day <= bindparam("day"),
                       _ABSENCES.c.last_day >= bindparam("day"), _USERS.c.active.is_(True))
                .order_by(_USERS.c.id))


def standing_in(session: Session, substitute_id: int, day: date) -> dict[int, str]:
    """The active people ``substitute_id`` stands in for on ``day`` → name."""
    return {uid: name for uid, (name, _) in delegated(session, substitute_id, day).items()}


def delegated(session: Session, substitute_id: int, day: date) -> dict[int, tuple[str, frozenset[str]]]:
    """The active people ``substitute_id`` stands in for on ``day`` → (name, the roles they
    may decide in for them). Only confirmed absences count."""
    found: dict[int, tuple[str, frozenset[str]]] = {}
    for uid, name, roles in session.connection().execute(_STANDING_IN, {"substitute": substitute_id,
                                                                        "day": day}):
        before = found.get(int(uid), (name, frozenset()))[1]
        found[int(uid)] = (name, before | frozenset(roles.split()))
    return found


def away(session: Session, user_ids: list[int], day: date) -> dict[int, int]:
    """Of ``user_ids``, those away on ``day`` → their substitute."""
    if not user_ids:
        return {}
    rows = session.exec(select(Absence.user_id, Absence.substitute_id).where(
        col(Absence.user_id).in_(user_ids), col(Absence.cancelled_at).is_(None),
        col(Absence.confirmed_at).is_not(None), col(Absence.first_day) <= day,
        col(Absence.last_day) >= day)).all()
    return {uid: sub for uid, sub in rows}
