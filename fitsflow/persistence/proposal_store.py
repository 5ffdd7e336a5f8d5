"""Needs proposed by staff, and their triage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session

from .counting import Count, bounded
from .models import Change, Proposal, User

_PROPOSALS = Proposal.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_BY = aliased(_USERS, name="by")

OPEN, RAISED, MERGED, DECLINED = "open", "raised", "merged", "declined"
STATUSES: dict[str, str] = {OPEN: "Waiting to be triaged", RAISED: "Raised as a change",
                            MERGED: "Part of a change already raised", DECLINED: "Declined"}

_SELECT = (select(_PROPOSALS, _USERS.c.name.label("proposer_name"), _CHANGES.c.ref.label("change_ref"),
                  _CHANGES.c.state.label("change_state"), _CHANGES.c.workflow.label("change_workflow"),
                  _CHANGES.c.workflow_version.label("change_version"), _BY.c.name.label("triaged_by_name"))
           .join_from(_PROPOSALS, _USERS, _USERS.c.id == _PROPOSALS.c.proposer_id)
           .outerjoin(_CHANGES, _CHANGES.c.id == _PROPOSALS.c.change_id)
           .outerjoin(_BY, _BY.c.id == _PROPOSALS.c.triaged_by))


def add(session: Session, *, proposer_id: int, what: str, why: str, affects: str, now: datetime,
        school_id: int) -> int:
    return int(session.connection().execute(insert(_PROPOSALS).values(
        proposer_id=proposer_id, what=what, why=why, affects=affects, created_at=now, status=OPEN,
        school_id=school_id).returning(_PROPOSALS.c.id)).scalar_one())


def _of(schools: frozenset[int] | None) -> list[Any]:
    return [] if schools is None else [_PROPOSALS.c.school_id.in_(schools)]


def one(session: Session, proposal_id: int, *, schools: frozenset[int] | None = None) -> Any:
    """The proposal (of one of ``schools``; None: any)."""
    return session.connection().execute(_SELECT.where(_PROPOSALS.c.id == proposal_id, *_of(schools))).first()


def page(session: Session, *, status: str | None, proposer_id: int | None, limit: int,
         offset: int, schools: frozenset[int] | None = None) -> tuple[Sequence[Any], Count]:
    """Proposals newest first: of one status and/or one proposer (of ``schools``; None: any)."""
    where = _of(schools)
    if status:
        where.append(_PROPOSALS.c.status == status)
    if proposer_id is not None:
        where.append(_PROPOSALS.c.proposer_id == proposer_id)
    connection = session.connection()
    rows = connection.execute(_SELECT.where(*where).order_by(_PROPOSALS.c.id.desc()).limit(limit)
                              .offset(offset)).all()
    return rows, bounded(connection, select(_PROPOSALS.c.id).where(*where), offset=offset, limit=limit)


def triage(session: Session, proposal_id: int, *, status: str, change_id: int | None, reason: str, by: int,
           now: datetime) -> bool:
    """Settle an open proposal; False when it was settled already (by someone else first)."""
    result = session.connection().execute(update(_PROPOSALS).where(
        _PROPOSALS.c.id == proposal_id, _PROPOSALS.c.status == OPEN).values(
        status=status, change_id=change_id, reason=reason, triaged_by=by, triaged_at=now))
    return bool(result.rowcount)
