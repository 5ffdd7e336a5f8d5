"""People: their rows, roles and audiences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, delete

from . import queries
from .models import User, UserAudience, UserRole


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def upsert(session: Session, *, email: str, name: str, password_hash: str | None,
           now: datetime) -> tuple[int, bool]:
    """Create the user with this email or rename the one there is: (id, created)."""
    user = queries.user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(name=name, email=email, created_at=now)
    user.name = name
    if password_hash:
        user.password_hash = password_hash
    session.add(user)
    session.flush()
    assert user.id is not None
    return user.id, created


def replace_roles(session: Session, user_id: int, roles: Sequence[str],
                  audiences: Sequence[str]) -> tuple[list[str], list[str]]:
    """Give the user exactly these roles and audiences; return what they had before."""
    before = sorted(queries.roles_of(session, user_id)), sorted(queries.audiences_of(session, user_id))
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))  # type: ignore[arg-type]
    session.execute(delete(UserAudience).where(UserAudience.user_id == user_id))  # type: ignore[arg-type]
    session.add_all(UserRole(user_id=user_id, role=r) for r in roles)
    session.add_all(UserAudience(user_id=user_id, audience=a) for a in audiences)
    return before


def set_active(session: Session, user_id: int, active: bool) -> str | None:
    """Activate or deactivate; the user's email, or None when there is no such user."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.active = active
    session.add(user)
    return user.email


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    user = session.get(User, user_id)
    assert user is not None
    user.password_hash = password_hash
    session.add(user)
