"""Standard-change templates and the changes raised from them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from .models import Change, StandardTemplate


def _of(schools: frozenset[int] | None) -> list[Any]:
    """The trust's templates and those of ``schools`` (None: every school's)."""
    if schools is None:
        return []
    school = col(StandardTemplate.school_id)
    return [or_(school.is_(None), school.in_(sorted(schools)))]


def get(session: Session, template_id: int, *,
        schools: frozenset[int] | None = None) -> StandardTemplate | None:
    """The template, if it is the trust's or of one of ``schools`` (None: any)."""
    return session.exec(select(StandardTemplate).where(StandardTemplate.id == template_id,
                                                       *_of(schools))).first()


def get_for_update(session: Session, template_id: int, *,
                   schools: frozenset[int] | None = None) -> StandardTemplate | None:
    """The template, locked against a concurrent decision where the database can lock a row."""
    return session.exec(
        select(StandardTemplate).where(StandardTemplate.id == template_id, *_of(schools)).with_for_update()
    ).first()


def _like(q: str) -> str:
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def page(
    session: Session, *, state: str, q: str, limit: int, offset: int, states: tuple[str, ...] = (),
    schools: frozenset[int] | None = None,
) -> tuple[list[StandardTemplate], int]:
    """Templates by title, filtered by state (or any of ``states``) and words in the title
    or description: the trust's and those of ``schools`` (None: every school's)."""
    where: list[Any] = _of(schools)
    if state:
        where.append(StandardTemplate.state == state)
    elif states:
        where.append(col(StandardTemplate.state).in_(states))
    if q:
        pattern = _like(q)
        where.append(
            or_(
                func.lower(StandardTemplate.title).like(pattern, escape="\\"),
                func.lower(StandardTemplate.description).like(pattern, escape="\\"),
            )
        )
    rows = session.exec(
        select(StandardTemplate)
        .where(*where)
        .order_by(func.lower(StandardTemplate.title), col(StandardTemplate.id))
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.exec(select(func.count()).select_from(StandardTemplate).where(*where)).one()
    return list(rows), int(total)


def use_counts(session: Session, template_ids: list[int]) -> dict[int, int]:
    if not template_ids:
        return {}
    rows = session.exec(
        select(Change.template_id, func.count())
        .where(col(Change.template_id).in_(template_ids))
        .group_by(col(Change.template_id))
    ).all()
    return {int(tid): int(n) for tid, n in rows if tid is not None}


def recent_uses(session: Session, template_id: int, limit: int = 20) -> list[tuple[str, str, str]]:
    """(ref, title, state) of the newest changes raised from the template."""
    rows = session.exec(
        select(Change.ref, Change.title, Change.state)
        .where(Change.template_id == template_id)
        .order_by(col(Change.id).desc())
        .limit(limit)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def add(session: Session, row: StandardTemplate) -> StandardTemplate:
    session.add(row)
    session.flush()
    return row
