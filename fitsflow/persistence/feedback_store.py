"""360-degree feedback rows: who was asked on a change's review, and what each answered."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy import select as core_select
from sqlmodel import Session

from ..domain.feedback import Answer
from .models import Change, NoticeReceipt, ReleaseNotice, ReviewFeedback

_FEEDBACK = ReviewFeedback.__table__  # type: ignore[attr-defined]
_RECEIPTS = NoticeReceipt.__table__  # type: ignore[attr-defined]
_NOTICES = ReleaseNotice.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]


def asked(session: Session, change_id: int) -> dict[int, str]:
    """Everyone already asked about this change, and their group."""
    rows = session.connection().execute(core_select(_FEEDBACK.c.user_id, _FEEDBACK.c.grp)
                                        .where(_FEEDBACK.c.change_id == change_id))
    return {r.user_id: r.grp for r in rows}


def ask(session: Session, change_id: int, people: Iterable[tuple[int, str]], now: datetime) -> int:
    """Ask each (user, group) not asked before; return how many were."""
    known = asked(session, change_id)
    rows = [{"change_id": change_id, "user_id": uid, "grp": grp, "asked_at": now}
            for uid, grp in people if uid not in known]
    if rows:
        session.connection().execute(insert(_FEEDBACK), rows)
    return len(rows)


def notice_receivers(session: Session, change_id: int) -> dict[str, list[int]]:
    """Who received each audience's release notice of the change, by audience."""
    rows = session.connection().execute(
        core_select(_NOTICES.c.audience, _RECEIPTS.c.user_id)
        .join_from(_RECEIPTS, _NOTICES, _NOTICES.c.id == _RECEIPTS.c.notice_id)
        .where(_RECEIPTS.c.change_id == change_id).order_by(_RECEIPTS.c.user_id))
    found: dict[str, list[int]] = {}
    for audience, uid in rows:
        found.setdefault(audience, []).append(uid)
    return found


def one(session: Session, change_id: int, user_id: int) -> Any:
    return session.connection().execute(core_select(_FEEDBACK).where(
        _FEEDBACK.c.change_id == change_id, _FEEDBACK.c.user_id == user_id)).first()


def answer(session: Session, row_id: int, value: Answer, now: datetime) -> None:
    session.connection().execute(_FEEDBACK.update().where(_FEEDBACK.c.id == row_id).values(
        answered_at=now, worked=value.worked, improve=value.improve, **dict(value.scores)))


def all_of(session: Session, change_id: int) -> Sequence[Any]:
    """Every row of the change's feedback, by group, answered first."""
    return session.connection().execute(core_select(_FEEDBACK).where(_FEEDBACK.c.change_id == change_id)
                                        .order_by(_FEEDBACK.c.grp, _FEEDBACK.c.id)).all()


def state(session: Session, change_id: int) -> tuple[datetime | None, set[str]]:
    """When the change's feedback was first asked for (None: never), and the groups that
    have answered."""
    first = session.connection().execute(core_select(func.min(_FEEDBACK.c.asked_at))
                                         .where(_FEEDBACK.c.change_id == change_id)).scalar()
    groups = set(session.connection().execute(
        core_select(_FEEDBACK.c.grp).where(_FEEDBACK.c.change_id == change_id,
                                           _FEEDBACK.c.answered_at.is_not(None)).distinct()).scalars())
    return first, groups


def unreminded(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """(id, ref, user_id, asked_at, school_id) of each request asked between ``since`` and
    ``until`` neither answered nor reminded: the ``asked_at`` index bounds the read to recent
    reviews."""
    return session.connection().execute(
        core_select(_FEEDBACK.c.id, _CHANGES.c.ref, _FEEDBACK.c.user_id, _FEEDBACK.c.asked_at,
                    _CHANGES.c.school_id)
        .join_from(_FEEDBACK, _CHANGES, _CHANGES.c.id == _FEEDBACK.c.change_id)
        .where(_FEEDBACK.c.asked_at >= since, _FEEDBACK.c.asked_at <= until,
               _FEEDBACK.c.answered_at.is_(None), _FEEDBACK.c.reminded_at.is_(None))
        .order_by(_FEEDBACK.c.asked_at)).all()


def mark_reminded(session: Session, ids: Sequence[int], now: datetime) -> int:
    """Mark these requests reminded (those not already: another worker may have); return
    how many this call marked."""
    if not ids:
        return 0
    result = session.connection().execute(_FEEDBACK.update().where(
        _FEEDBACK.c.id.in_(list(ids)), _FEEDBACK.c.reminded_at.is_(None), _FEEDBACK.c.answered_at.is_(None))
        .values(reminded_at=now))
    return int(result.rowcount or 0)
