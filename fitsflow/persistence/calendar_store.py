"""Calendar periods: terms, holidays, exam seasons, freezes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from ..domain.calendar import Period
from .models import CalendarPeriod


def _period(row: CalendarPeriod) -> Period:
    return Period(row.id or 0, row.kind, row.title, row.starts_at, row.ends_at, row.effect, row.reason,
                  row.school_id)


_PERIODS = CalendarPeriod.__table__  # type: ignore[attr-defined]
# Read on every change page view and gate decision (the window guards): built once.
_ALL = (core_select(_PERIODS.c.id, _PERIODS.c.kind, _PERIODS.c.title, _PERIODS.c.starts_at,
                    _PERIODS.c.ends_at, _PERIODS.c.effect, _PERIODS.c.reason, _PERIODS.c.school_id)
        .order_by(_PERIODS.c.starts_at, _PERIODS.c.id))
_OF_SCHOOL = _ALL.where(or_(_PERIODS.c.school_id.is_(None), _PERIODS.c.school_id == bindparam("school")))
_OF_TRUST = _ALL.where(_PERIODS.c.school_id.is_(None))


def all_periods(session: Session) -> list[Period]:
    """Every period of every school (a school has a few hundred at most: terms, holidays,
    exams, freezes)."""
    return [Period(*row) for row in session.connection().execute(_ALL)]


def periods_of(session: Session, school_id: int | None) -> list[Period]:
    """A school's calendar: the trust's periods and its own (None: the trust's alone)."""
    if school_id is None:
        return [Period(*row) for row in session.connection().execute(_OF_TRUST)]
    return [Period(*row) for row in session.connection().execute(_OF_SCHOOL, {"school": school_id})]


def page(session: Session, *, q: str, kind: str, start: datetime | None, end: datetime | None,
         limit: int, offset: int) -> tuple[list[Period], int]:
    where: list[Any] = []
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(func.lower(CalendarPeriod.title).like(pattern, escape="\\"))
    if kind:
        where.append(col(CalendarPeriod.kind) == kind)
    if start is not None:
        where.append(col(CalendarPeriod.ends_at) > start)
    if end is not None:
        where.append(col(CalendarPeriod.starts_at) < end)
    rows = session.exec(select(CalendarPeriod).where(*where)
                        .order_by(col(CalendarPeriod.starts_at), col(CalendarPeriod.id))
                        .limit(limit).offset(offset)).all()
    total = session.exec(select(func.count()).select_from(CalendarPeriod).where(*where)).one()
    return [_period(r) for r in rows], int(total)


def get(session: Session, period_id: int) -> Period | None:
    row = session.get(CalendarPeriod, period_id)
    return _period(row) if row is not None else None


def add(session: Session, period: Period, *, at: datetime, by: str) -> int:
    row = CalendarPeriod(kind=period.kind, title=period.title, starts_at=period.starts_at,
                         ends_at=period.ends_at, effect=period.effect, reason=period.reason,
                         created_at=at, created_by=by, school_id=period.school_id)
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def update(session: Session, period_id: int, period: Period) -> bool:
    row = session.get(CalendarPeriod, period_id)
    if row is None:
        return False
    row.kind, row.title, row.effect, row.reason = period.kind, period.title, period.effect, period.reason
    row.starts_at, row.ends_at, row.school_id = period.starts_at, period.ends_at, period.school_id
    session.add(row)
    return True


def delete(session: Session, period_id: int) -> Period | None:
    row = session.get(CalendarPeriod, period_id)
    if row is None:
        return None
    found = _period(row)
    session.delete(row)
    return found
