"""Human references for changes: CHG-<year>-<number>, numbered per year without gaps
between committed changes' siblings (a rolled-back transaction gives its number back)."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .models import RefCounter


def next_ref(session: Session, year: int) -> str:
    """Take the next number for the year; the counter row is locked until commit."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(RefCounter).values(year=year, last=0).on_conflict_do_nothing())
    number = session.execute(
        update(RefCounter)
        .where(RefCounter.year == year)  # type: ignore[arg-type]
        .values(last=RefCounter.last + 1)
        .returning(RefCounter.__table__.c.last)  # type: ignore[attr-defined]
    ).scalar_one()
    return f"CHG-{year}-{number:04d}"
