"""Recurrences of routine work and the days they named."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from .models import Change, Recurrence, RecurrenceOccurrence

_OCCURRENCES = RecurrenceOccurrence.__table__  # type: ignore[attr-defined]


class AlreadyClaimed(Exception):
    """Another sweep recorded this day of the recurrence first."""


def add(session: Session, row: Recurrence) -> Recurrence:
    session.add(row)
    session.flush()
    return row


def get(session: Session, recurrence_id: int) -> Recurrence | None:
    return session.get(Recurrence, recurrence_id)


def active_ids(session: Session) -> list[int]:
    return [int(r) for (r,) in session.execute(select(col(Recurrence.id)).where(col(Recurrence.active)))]


def of_requester(session: Session, user_id: int) -> list[Recurrence]:
    return list(session.execute(select(Recurrence).where(col(Recurrence.requester_id) == user_id)
                                .order_by(col(Recurrence.title))).scalars().all())


def days_recorded(session: Session, recurrence_id: int) -> set[date]:
    return set(session.execute(select(col(RecurrenceOccurrence.planned_on))
                               .where(col(RecurrenceOccurrence.recurrence_id) == recurrence_id)).scalars())


def claim(session: Session, *, recurrence_id: int, planned_on: date, happens_on: date | None,
          at: datetime) -> None:
    """Record the day before anything is raised for it; AlreadyClaimed if it is recorded."""
    try:
        with session.begin_nested():
            session.add(RecurrenceOccurrence(recurrence_id=recurrence_id, planned_on=planned_on,
                                             happens_on=happens_on, created_at=at))
            session.flush()
    except IntegrityError:
        raise AlreadyClaimed from None


def set_change(session: Session, *, recurrence_id: int, planned_on: date, change_id: int) -> None:
    session.execute(update(_OCCURRENCES).where(_OCCURRENCES.c.recurrence_id == recurrence_id,
                                               _OCCURRENCES.c.planned_on == planned_on)
                    .values(change_id=change_id))


def passed_of_requester(session: Session, user_id: int, before: date) -> list[Any]:
    """(ref, title, workflow, state, happens_on) of this person's occurrences before ``before``,
    newest first (of the changes the session sees)."""
    return list(session.execute(
        select(col(Change.ref), col(Change.title), col(Change.workflow), col(Change.state),
               col(RecurrenceOccurrence.happens_on))
        .join(Change, col(Change.id) == col(RecurrenceOccurrence.change_id))
        .where(col(Change.requester_id) == user_id, col(RecurrenceOccurrence.happens_on) < before)
        .order_by(col(RecurrenceOccurrence.happens_on).desc())).all())


def active_of(session: Session, schools: frozenset[int] | None) -> list[tuple[Recurrence, str]]:
    """The active recurrences of these schools (None: every school), each with its template's
    services (one per line)."""
    from .models import StandardTemplate

    query = (select(Recurrence, col(StandardTemplate.services))
             .join(StandardTemplate, col(StandardTemplate.id) == col(Recurrence.template_id))
             .where(col(Recurrence.active)).order_by(col(Recurrence.id)))
    if schools is not None:
        query = query.where(col(Recurrence.school_id).in_(schools))
    return [(row, services or "") for row, services in session.execute(query).all()]


def raised_between(session: Session, recurrence_ids: list[int], first: date,
                   until: date) -> dict[tuple[int, date], tuple[str, str] | None]:
    """(recurrence, planned day) → (workflow, state) of the change raised for it (None: recorded,
    nothing raised), for the days planned in [first, until]."""
    if not recurrence_ids:
        return {}
    rows = session.execute(
        select(col(RecurrenceOccurrence.recurrence_id), col(RecurrenceOccurrence.planned_on),
               col(Change.workflow), col(Change.state))
        .outerjoin(Change, col(Change.id) == col(RecurrenceOccurrence.change_id))
        .where(col(RecurrenceOccurrence.recurrence_id).in_(recurrence_ids),
               col(RecurrenceOccurrence.planned_on) >= first, col(RecurrenceOccurrence.planned_on) <= until))
    return {(r, day): ((wf, state) if wf is not None else None) for r, day, wf, state in rows}
