"""The second factor: TOTP secrets, the last step accepted, recovery codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from .models import RecoveryCode, User


def set_secret(session: Session, user_id: int, secret: str | None) -> None:
    """Store a secret still to be confirmed (or clear the factor entirely with None)."""
    session.execute(update(User).where(col(User.id) == user_id)
                    .values(totp_secret=secret, totp_enabled_at=None, totp_last_step=0))
    if secret is None:
        session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))


def enable(session: Session, user_id: int, *, at: datetime, step: int) -> None:
    session.execute(update(User).where(col(User.id) == user_id)
                    .values(totp_enabled_at=at, totp_last_step=step))


def accept_step(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as used, unless it (or a later one) already was: a code works once,
    even when two requests race with it."""
    result = session.execute(update(User).where(col(User.id) == user_id, col(User.totp_last_step) < step)
                             .values(totp_last_step=step))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def replace_recovery_codes(session: Session, user_id: int, hashes: list[str]) -> None:
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)


def use_recovery_code(session: Session, user_id: int, code_hash: str, *, at: datetime) -> bool:
    """Spend an unused recovery code; False when there is none with that hash."""
    result = session.execute(update(RecoveryCode)
                             .where(col(RecoveryCode.user_id) == user_id,
                                    col(RecoveryCode.code_hash) == code_hash,
                                    col(RecoveryCode.used_at).is_(None))
                             .values(used_at=at))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def unused_recovery_codes(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(RecoveryCode)
                        .where(col(RecoveryCode.user_id) == user_id,
                               col(RecoveryCode.used_at).is_(None))).one()


def set_exempt(session: Session, user_id: int, exempt: bool) -> None:
    session.execute(update(User).where(col(User.id) == user_id).values(mfa_exempt=exempt))
