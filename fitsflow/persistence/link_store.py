"""One-time links sent by email (invitations, password resets): kept as hashes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from .models import AccountLink


def add(session: Session, *, user_id: int, purpose: str, token_hash: str, at: datetime, expires_at: datetime,
        created_by: str) -> None:
    session.add(AccountLink(user_id=user_id, purpose=purpose, token_hash=token_hash, created_at=at,
                            expires_at=expires_at, created_by=created_by[:320]))


def by_hash(session: Session, token_hash: str) -> AccountLink | None:
    return session.exec(select(AccountLink).where(AccountLink.token_hash == token_hash)).first()


def use(session: Session, link_id: int, *, at: datetime) -> bool:
    """Spend the link, unless it was spent or revoked already (two requests racing with one
    link: one wins)."""
    result = session.execute(update(AccountLink).where(col(AccountLink.id) == link_id,
                                                       col(AccountLink.used_at).is_(None),
                                                       col(AccountLink.revoked_at).is_(None))
                             .values(used_at=at))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def revoke_live(session: Session, user_id: int, *, at: datetime, purpose: str | None = None) -> int:
    """Revoke a person's links not yet used (of one purpose, or all); how many."""
    statement = update(AccountLink).where(col(AccountLink.user_id) == user_id,
                                          col(AccountLink.used_at).is_(None),
                                          col(AccountLink.revoked_at).is_(None))
    if purpose is not None:
        statement = statement.where(col(AccountLink.purpose) == purpose)
    return int(session.execute(statement.values(revoked_at=at)).rowcount or 0)  # type: ignore[attr-defined]


def live_invitations(session: Session, user_ids: Iterable[int], *, now: datetime) -> dict[int, datetime]:
    """When each person's live invitation runs out, for those who have one."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.exec(select(AccountLink.user_id, AccountLink.expires_at)
                        .where(col(AccountLink.user_id).in_(ids), AccountLink.purpose == "invite",
                               col(AccountLink.used_at).is_(None), col(AccountLink.revoked_at).is_(None),
                               col(AccountLink.expires_at) > now)).all()
    return {user_id: expires for user_id, expires in rows}
