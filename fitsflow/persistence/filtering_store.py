"""Web-filtering requests and their log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from .counting import Count, bounded
from .models import FilterRequest, School, User
from .queries import contains

_REQUESTS = FilterRequest.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_SCHOOLS = School.__table__  # type: ignore[attr-defined]
_DECIDER = aliased(_USERS, name="decider")
_APPLIER = aliased(_USERS, name="applier")
_REVERTER = aliased(_USERS, name="reverter")

_SELECT = (select(_REQUESTS, _USERS.c.name.label("asker_name"), _DECIDER.c.name.label("decided_by_name"),
                  _APPLIER.c.name.label("applied_by_name"), _REVERTER.c.name.label("reverted_by_name"),
                  _SCHOOLS.c.name.label("school_name"))
           .join_from(_REQUESTS, _USERS, _USERS.c.id == _REQUESTS.c.asker_id)
           .join(_SCHOOLS, _SCHOOLS.c.id == _REQUESTS.c.school_id)
           .outerjoin(_DECIDER, _DECIDER.c.id == _REQUESTS.c.decided_by)
           .outerjoin(_APPLIER, _APPLIER.c.id == _REQUESTS.c.applied_by)
           .outerjoin(_REVERTER, _REVERTER.c.id == _REQUESTS.c.reverted_by))


def add(session: Session, *, school_id: int, asker_id: int, now: datetime, what: str, action: str, why: str,
        for_whom: str, until: date | None, state: str) -> int:
    return int(session.connection().execute(insert(_REQUESTS).values(
        school_id=school_id, asker_id=asker_id, created_at=now, what=what, action=action, why=why,
        for_whom=for_whom, until=until, state=state, version=1, updated_at=now, decision="", reason="",
        withdrawn_reason="").returning(_REQUESTS.c.id)).scalar_one())


def _of(schools: frozenset[int] | None) -> list[Any]:
    return [] if schools is None else [_REQUESTS.c.school_id.in_(schools)]


def one(session: Session, request_id: int, *, schools: frozenset[int] | None = None) -> Any:
    """The request (of one of ``schools``; None: any)."""
    return session.connection().execute(_SELECT.where(_REQUESTS.c.id == request_id, *_of(schools))).first()


def _filters(*, schools: frozenset[int] | None, states: Sequence[str] | None, asker_id: int | None,
             q: str, action: str, not_asked_by: tuple[int, Sequence[str]] | None = None,
             over_by: tuple[Sequence[str], date] | None = None) -> list[Any]:
    where = _of(schools)
    if over_by is not None and over_by[0]:
        # In these states a request waits only once its time is over (its until has passed).
        at, today = over_by
        where.append(~and_(_REQUESTS.c.state.in_(list(at)),
                           or_(_REQUESTS.c.until.is_(None), _REQUESTS.c.until >= today)))
    if not_asked_by is not None and not_asked_by[1]:
        who, at = not_asked_by
        where.append(~and_(_REQUESTS.c.asker_id == who, _REQUESTS.c.state.in_(list(at))))
    if states is not None:
        where.append(_REQUESTS.c.state.in_(list(states)))
    if asker_id is not None:
        where.append(_REQUESTS.c.asker_id == asker_id)
    if action:
        where.append(_REQUESTS.c.action == action)
    if q:
        pattern = contains(q)
        where.append(or_(*(func.lower(column).like(pattern, escape="\\") for column in
                           (_REQUESTS.c.what, _REQUESTS.c.why, _REQUESTS.c.for_whom, _REQUESTS.c.reason))))
    return where


def page(session: Session, *, schools: frozenset[int] | None, states: Sequence[str] | None = None,
         asker_id: int | None = None, q: str = "", action: str = "",
         not_asked_by: tuple[int, Sequence[str]] | None = None,
         over_by: tuple[Sequence[str], date] | None = None, limit: int,
         offset: int) -> tuple[Sequence[Any], Count]:
    """Requests newest first, narrowed by state, asker, allow/block and text (case-insensitive
    on the site or category, why, for whom and the reason)."""
    where = _filters(schools=schools, states=states, asker_id=asker_id, q=q.lower(), action=action,
                     not_asked_by=not_asked_by, over_by=over_by)
    connection = session.connection()
    rows = connection.execute(_SELECT.where(*where).order_by(_REQUESTS.c.id.desc()).limit(limit)
                              .offset(offset)).all()
    return rows, bounded(connection, select(_REQUESTS.c.id).where(*where), offset=offset, limit=limit)


def count(session: Session, *, schools: frozenset[int] | None, states: Sequence[str],
          not_asked_by: tuple[int, Sequence[str]] | None = None,
          over_by: tuple[Sequence[str], date] | None = None) -> Count:
    return bounded(session.connection(), select(_REQUESTS.c.id).where(*_filters(
        schools=schools, states=states, asker_id=None, q="", action="", not_asked_by=not_asked_by,
        over_by=over_by)))


def decided_between(session: Session, *, schools: frozenset[int] | None, start: datetime,
                    end: datetime, batch: int = 500) -> Iterator[Any]:
    """Every request decided in [start, end), oldest first, read a batch at a time (the log
    the annual filtering review reads)."""
    after = 0
    connection = session.connection()
    while True:
        rows = connection.execute(_SELECT.where(
            *_of(schools), _REQUESTS.c.decided_at >= start, _REQUESTS.c.decided_at < end,
            _REQUESTS.c.id > after).order_by(_REQUESTS.c.id).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def move(session: Session, request_id: int, *, version: int, state: str, now: datetime,
         **values: Any) -> bool:
    """Move a request on from the version read; False when someone moved it first."""
    result = session.connection().execute(update(_REQUESTS).where(
        _REQUESTS.c.id == request_id, _REQUESTS.c.version == version).values(
        state=state, version=version + 1, updated_at=now, **values))
    return bool(result.rowcount)
