"""Usage checks: months after a release, is what was bought used as intended?"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from .counting import Count, bounded
from .models import Change, UsageCheck, User

_CHECKS = UsageCheck.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]

DUE, ALL, CHECKED = "due", "all", "checked"
STATUSES: dict[str, str] = {DUE: "Due or overdue", ALL: "Not yet recorded", CHECKED: "Recorded"}


def one(session: Session, change_id: int) -> Any:
    return session.connection().execute(select(_CHECKS).where(_CHECKS.c.change_id == change_id)).first()


def plan(session: Session, change_id: int, due_on: date) -> bool:
    """Plan the change's check for ``due_on`` unless one is planned already (a release after
    a back-out keeps the first date); return whether one was planned now."""
    if one(session, change_id) is not None:
        return False
    session.connection().execute(insert(_CHECKS).values(change_id=change_id, due_on=due_on))
    return True


def record(session: Session, change_id: int, *, result: str, evidence: str, by: int, now: datetime) -> None:
    session.connection().execute(update(_CHECKS).where(_CHECKS.c.change_id == change_id).values(
        result=result, evidence=evidence, checked_by=by, checked_at=now))


def page(session: Session, *, status: str, today: date, requester_id: int | None, limit: int,
         offset: int) -> tuple[Sequence[Any], Count]:
    """Checks with their change, soonest due first: ``due`` (due by today and not recorded),
    ``all`` (not recorded, whenever due) or ``checked`` (recorded, latest first)."""
    query = (select(_CHECKS, _CHANGES.c.ref, _CHANGES.c.title, _USERS.c.name.label("requester_name"))
             .join_from(_CHECKS, _CHANGES, _CHANGES.c.id == _CHECKS.c.change_id)
             .join(_USERS, _USERS.c.id == _CHANGES.c.requester_id))
    where: list[Any] = []
    if status == CHECKED:
        where.append(_CHECKS.c.checked_at.is_not(None))
        order = [_CHECKS.c.checked_at.desc(), _CHECKS.c.change_id.desc()]
    else:
        where.append(_CHECKS.c.checked_at.is_(None))
        if status == DUE:
            where.append(_CHECKS.c.due_on <= today)
        order = [_CHECKS.c.due_on, _CHECKS.c.change_id]
    if requester_id is not None:
        where.append(_CHANGES.c.requester_id == requester_id)
    connection = session.connection()
    rows = connection.execute(query.where(*where).order_by(*order).limit(limit).offset(offset)).all()
    counted = (select(_CHECKS.c.change_id).join_from(_CHECKS, _CHANGES, _CHANGES.c.id == _CHECKS.c.change_id)
               .where(*where))
    return rows, bounded(connection, counted, offset=offset, limit=limit)


def unreminded_due(session: Session, today: date) -> Sequence[Any]:
    """(change_id, ref) of each check due by ``today``, neither recorded nor reminded (read
    from the checks not yet recorded: ix_usage_checks_open)."""
    return session.connection().execute(
        select(_CHECKS.c.change_id, _CHANGES.c.ref)
        .join_from(_CHECKS, _CHANGES, _CHANGES.c.id == _CHECKS.c.change_id)
        .where(_CHECKS.c.checked_at.is_(None), _CHECKS.c.due_on <= today, _CHECKS.c.reminded_at.is_(None))
        .order_by(_CHECKS.c.due_on)).all()


def mark_reminded(session: Session, change_id: int, now: datetime) -> bool:
    result = session.connection().execute(update(_CHECKS).where(
        _CHECKS.c.change_id == change_id, _CHECKS.c.reminded_at.is_(None), _CHECKS.c.checked_at.is_(None))
        .values(reminded_at=now))
    return bool(result.rowcount)
