"""The service catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from ..domain.catalogue import Catalogue
from .models import Service, ServiceDependency

_KEPT = "fitsflow.catalogue"


def catalogue(session: Session) -> Catalogue:
    """The services and what depends on what: read once per transaction (a page's clash
    checks ask for it once per window), again after this module writes to it."""
    kept: Catalogue | None = session.info.get(_KEPT)
    if kept is not None:
        return kept
    names = {s.id or 0: s.name for s in session.exec(select(Service)).all()}
    depends: dict[int, set[int]] = {}
    for row in session.exec(select(ServiceDependency)).all():
        depends.setdefault(row.service_id, set()).add(row.depends_on_id)
    session.info[_KEPT] = found = Catalogue(names, {k: frozenset(v) for k, v in depends.items()})
    return found


def by_name(session: Session, name: str) -> Service | None:
    """The service with this name, whatever its case. Compared in Python: SQLite's lower()
    folds only ASCII, and a catalogue is a few dozen rows."""
    wanted = name.strip().lower()
    return next((s for s in session.exec(select(Service)).all() if s.name.lower() == wanted), None)


def get(session: Session, service_id: int) -> Service | None:
    return session.get(Service, service_id)


def _of(schools: Iterable[int] | None) -> list[Any]:
    """The trust's services and those of ``schools`` (None: every school's)."""
    if schools is None:
        return []
    return [or_(col(Service.school_id).is_(None), col(Service.school_id).in_(sorted(schools)))]


def visible(row: Service | None, schools: Iterable[int] | None) -> bool:
    return row is not None and (schools is None or row.school_id is None or row.school_id in set(schools))


def names(session: Session, *, schools: Iterable[int] | None = None) -> set[str]:
    """The names (lower case) of the trust's services and those of ``schools``, retired too."""
    return {name.lower() for name in session.exec(select(Service.name).where(*_of(schools))).all()}


def active(session: Session, *, schools: Iterable[int] | None = None) -> list[Service]:
    """The services changes may choose: the trust's and those of ``schools`` (None: all)."""
    return list(session.exec(select(Service).where(col(Service.active), *_of(schools))
                             .order_by(col(Service.name))).all())


def page(session: Session, *, q: str, limit: int, offset: int,
         schools: Iterable[int] | None = None) -> tuple[list[Service], int]:
    where: list[Any] = _of(schools)
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(func.lower(Service.name).like(pattern, escape="\\"))
    rows = session.exec(select(Service).where(*where).order_by(col(Service.name))
                        .limit(limit).offset(offset)).all()
    total = session.exec(select(func.count()).select_from(Service).where(*where)).one()
    return list(rows), int(total)


def save(session: Session, *, name: str, description: str, active: bool, at: datetime,
         school_id: int | None = None) -> tuple[int, bool]:
    """Add the service (the trust's, or ``school_id``'s own), or change the one of this name."""
    row = by_name(session, name)
    created = row is None
    if row is None:
        row = Service(name=name, description=description, active=active, created_at=at, school_id=school_id)
    else:
        row.description, row.active = description, active
    session.add(row)
    session.flush()
    session.info.pop(_KEPT, None)  # read again, with it, when next asked for
    assert row.id is not None
    return row.id, created


def set_dependencies(session: Session, service_id: int, depends_on: set[int]) -> None:
    session.execute(delete(ServiceDependency).where(col(ServiceDependency.service_id) == service_id))
    session.add_all(ServiceDependency(service_id=service_id, depends_on_id=d) for d in sorted(depends_on))
    session.flush()  # the catalogue read next in this transaction sees them
    session.info.pop(_KEPT, None)


def overlapping_changes(session: Session, *, change_id: int, start: datetime, end: datetime,
                        states: list[tuple[str, str]], schools: tuple[int, ...] = ()) -> list[Any]:
    """Other changes in these (workflow, state) pairs whose window overlaps [start, end):
    rows of (ref, title, workflow, state, affected_services, window_start, window_end).
    With ``schools``, only the changes of those schools and the trust-wide ones affecting any
    of them (the same service at two schools of a trust is two sites' service, not one).

    Read as the schedule reads its range (``feed_store``): the windows ending after
    ``start`` (the ones still to come, never the history), each change then by its id.
    Starting from the standing states instead — most of a school's open changes, SQLite's
    own choice — read every standing change to find the few in the window (14 ms at 20,000
    changes; 0.6 ms this way)."""
    from sqlalchemy import select as core_select

    from .feed_store import WINDOW_START, in_states
    from .models import Change, ReleasePlan

    if not states:
        return []
    columns: list[Any] = [Change.ref, Change.title, Change.workflow, Change.state, Change.affected_services,
                          ReleasePlan.window_start, ReleasePlan.window_end]
    query = (core_select(*columns).select_from(ReleasePlan)
             .join(Change, col(ReleasePlan.change_id) == col(Change.id))
             .where(col(Change.id) != change_id, WINDOW_START < end, col(ReleasePlan.window_end) > start,
                    in_states(states))
             .order_by(WINDOW_START, col(Change.ref)).limit(200))
    if schools:
        from .models import SchoolSetMember

        sets = core_select(col(SchoolSetMember.set_id)).where(col(SchoolSetMember.school_id).in_(schools))
        query = query.where(or_(col(Change.school_id).in_(schools), col(Change.school_id).in_(sets)))
    return list(session.execute(query).all())
