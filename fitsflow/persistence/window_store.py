"""Maintenance windows as stored."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from ..domain.maintenance_windows import MaintenanceWindow
from .models import MaintenanceWindowRow

_KEPT = "fitsflow.maintenance_windows"  # session.info: read once per transaction


def _window(row: MaintenanceWindowRow) -> MaintenanceWindow:
    assert row.id is not None
    days = tuple(int(d) for d in row.weekdays.split(",") if d)
    return MaintenanceWindow(row.id, row.title, row.service, days, time.fromisoformat(row.starts),
                             time.fromisoformat(row.ends), row.holds, row.notice_days, row.school_id)


def every(session: Session, *, schools: Iterable[int] | None = None) -> list[MaintenanceWindow]:
    """The trust's windows and those of ``schools`` (None: every school's), by title."""
    key = None if schools is None else tuple(sorted(schools))
    kept: dict[object, list[MaintenanceWindow]] = session.info.setdefault(_KEPT, {})
    if key not in kept:
        query = select(MaintenanceWindowRow).order_by(col(MaintenanceWindowRow.title),
                                                      col(MaintenanceWindowRow.id))
        if key is not None:
            school = col(MaintenanceWindowRow.school_id)
            query = query.where(or_(school.is_(None), school.in_(key)))
        kept[key] = [_window(row) for row in session.exec(query).all()]
    return kept[key]


def add(session: Session, window: MaintenanceWindow, *, at: datetime, by: str) -> int:
    row = MaintenanceWindowRow(title=window.title, service=window.service,
                               weekdays=",".join(map(str, window.weekdays)), starts=f"{window.starts:%H:%M}",
                               ends=f"{window.ends:%H:%M}", holds=window.when, notice_days=window.notice_days,
                               school_id=window.school_id, created_at=at, created_by=by)
    session.add(row)
    session.flush()
    session.info.pop(_KEPT, None)
    assert row.id is not None
    return row.id


def get(session: Session, window_id: int) -> MaintenanceWindow | None:
    row = session.get(MaintenanceWindowRow, window_id)
    return _window(row) if row is not None else None


def remove(session: Session, window_id: int) -> None:
    session.execute(delete(MaintenanceWindowRow).where(col(MaintenanceWindowRow.id) == window_id))
    session.info.pop(_KEPT, None)
