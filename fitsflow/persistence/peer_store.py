"""Technical peer reviews of release plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session

from .models import PeerReview, User

_REVIEWS = PeerReview.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_OF_CHANGE = (core_select(_REVIEWS.c.id, _USERS.c.name, _REVIEWS.c.outcome, _REVIEWS.c.comments,
                          _REVIEWS.c.digest, _REVIEWS.c.reviewed_at, _REVIEWS.c.reviewer_id)
              .join_from(_REVIEWS, _USERS, _USERS.c.id == _REVIEWS.c.reviewer_id)
              .where(_REVIEWS.c.change_id == bindparam("cid")).order_by(_REVIEWS.c.id))


def of_change(session: Session, change_id: int) -> list[Any]:
    """(id, reviewer's name, outcome, comments, digest, reviewed at, reviewer id), oldest first."""
    return list(session.connection().execute(_OF_CHANGE, {"cid": change_id}))


def add(session: Session, *, change_id: int, reviewer_id: int, outcome: str, comments: str, digest: str,
        at: datetime) -> None:
    session.add(PeerReview(change_id=change_id, reviewer_id=reviewer_id, outcome=outcome, comments=comments,
                           digest=digest, reviewed_at=at))
