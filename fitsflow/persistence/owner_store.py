"""Co-owners of changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import Session, col, delete, select

from .models import ChangeOwner, User

_OWNERS = ChangeOwner.__table__  # type: ignore[attr-defined]
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
    return True


def remove(session: Session, change_id: int, user_id: int) -> bool:
    result = session.execute(delete(ChangeOwner).where(
        col(ChangeOwner.change_id) == change_id, col(ChangeOwner.user_id) == user_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
