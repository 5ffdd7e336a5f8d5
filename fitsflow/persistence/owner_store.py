"""Co-owners of changes, and everyone who has ever owned one (``change_holders``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, delete, select

from .models import ChangeHolder, ChangeOwner, User

_OWNERS = ChangeOwner.__table__  # type: ignore[attr-defined]
HOLDERS = ChangeHolder.__table__  # type: ignore[attr-defined]
_HELD = core_select(HOLDERS.c.user_id).where(HOLDERS.c.change_id == bindparam("cid"),
                                             HOLDERS.c.user_id == bindparam("uid"))
_IS_OWNER = core_select(_OWNERS.c.user_id).where(_OWNERS.c.change_id == bindparam("cid"),
                                                 _OWNERS.c.user_id == bindparam("uid"))


def is_co_owner(session: Session, change_id: int, user_id: int) -> bool:
    return session.connection().execute(_IS_OWNER, {"cid": change_id, "uid": user_id}).first() is not None


def co_owners(session: Session, change_id: int) -> list[tuple[int, str, str]]:
    """(user id, name, email) of each co-owner, by name."""
    rows = session.exec(select(User.id, User.name, User.email)
                        .join(ChangeOwner, col(ChangeOwner.user_id) == col(User.id))
                        .where(ChangeOwner.change_id == change_id).order_by(col(User.name))).all()
    return [(int(uid or 0), name, email) for uid, name, email in rows]


def add(session: Session, change_id: int, user_id: int, at: datetime) -> bool:
    if is_co_owner(session, change_id, user_id):
        return False
    session.add(ChangeOwner(change_id=change_id, user_id=user_id, added_at=at))
    remember(session, change_id, user_id, at)
    return True


def remember(session: Session, change_id: int, user_id: int, at: datetime) -> None:
    """``user_id`` owns the change now (its requester or a co-owner): for good."""
    if not ever_held(session, change_id, user_id):
        session.connection().execute(HOLDERS.insert(), {"change_id": change_id, "user_id": user_id,
                                                        "since": at})


def ever_held(session: Session, change_id: int, user_id: int) -> bool:
    """Whether ``user_id`` has owned the change at any time, as requester or co-owner."""
    return session.connection().execute(_HELD, {"cid": change_id, "uid": user_id}).first() is not None


def remove(session: Session, change_id: int, user_id: int) -> bool:
    result = session.execute(delete(ChangeOwner).where(
        col(ChangeOwner.change_id) == change_id, col(ChangeOwner.user_id) == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
