"""Browsers remembered after the second factor ("don't ask again on this browser")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from .models import RememberedDevice


def add(session: Session, *, user_id: int, token_hash: str, device_hash: str, label: str,
        at: datetime) -> None:
    session.add(RememberedDevice(user_id=user_id, token_hash=token_hash, device_hash=device_hash,
                                 label=label, created_at=at))


def live(session: Session, token_hash: str) -> RememberedDevice | None:
    """The remembered browser with this cookie, unless revoked."""
    row = session.exec(select(RememberedDevice).where(RememberedDevice.token_hash == token_hash)).first()
    return row if row is not None and row.revoked_at is None else None


def touch(session: Session, device_id: int, at: datetime) -> None:
    session.execute(update(RememberedDevice).where(col(RememberedDevice.id) == device_id)
                    .values(last_used_at=at))


def of_user(session: Session, user_id: int) -> list[RememberedDevice]:
    """A person's remembered browsers, newest first."""
    return list(session.exec(select(RememberedDevice).where(RememberedDevice.user_id == user_id)
                             .order_by(col(RememberedDevice.id).desc())).all())


def revoke(session: Session, user_id: int, *, at: datetime, only: int | None = None) -> int:
    """Revoke a person's live remembered browsers (or only the one with id ``only``); how many."""
    statement = update(RememberedDevice).where(col(RememberedDevice.user_id) == user_id,
                                               col(RememberedDevice.revoked_at).is_(None))
    if only is not None:
        statement = statement.where(col(RememberedDevice.id) == only)
    return int(session.execute(statement.values(revoked_at=at)).rowcount or 0)  # type: ignore[attr-defined]
