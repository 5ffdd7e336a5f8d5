"""Sign-in bookkeeping: failed attempts, browser sessions and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from .models import ApiToken, LoginFailure, RateCounter, WebSession


def failures(session: Session, key: str, *, since: datetime) -> int:
    """Failures counted under ``key``, unless the last was before ``since`` (forgotten)."""
    row = session.get(LoginFailure, key)
    return row.count if row is not None and (row.last_at or row.first_at) > since else 0


def last_failure(session: Session, key: str) -> datetime | None:
    row = session.get(LoginFailure, key)
    return (row.last_at or row.first_at) if row is not None else None


def record_failure(session: Session, key: str, *, at: datetime, window: timedelta) -> int:
    """Count one more failure (a quiet ``window`` since the last one starts afresh); the count."""
    row = session.get(LoginFailure, key)
    if row is None or at - (row.last_at or row.first_at) >= window:
        row = row or LoginFailure(key=key, first_at=at)
        row.count, row.first_at = 0, at
    row.count += 1
    row.last_at = at
    session.add(row)
    return row.count


def record_failure_core(connection: Connection, key: str, *, at: datetime, window: timedelta) -> None:
    """``record_failure`` outside a request's transaction (for bookkeeping writes)."""
    with Session(bind=connection) as session:
        record_failure(session, key, at=at, window=window)
        session.flush()


def clear_failures(session: Session, keys: list[str]) -> None:
    for key in keys:
        row = session.get(LoginFailure, key)
        if row is not None:
            session.delete(row)


def add_session(session: Session, *, id_hash: str, user_id: int, at: datetime) -> None:
    session.add(WebSession(id_hash=id_hash, user_id=user_id, created_at=at))


def live_session(session: Session, id_hash: str) -> WebSession | None:
    """A browser session that has not been revoked."""
    row = session.get(WebSession, id_hash)
    return row if row is not None and row.revoked_at is None else None


def touch_session(connection: Connection, id_hash: str, at: datetime) -> None:
    """Record that a session was used (outside the request's own transaction)."""
    connection.execute(update(WebSession).where(WebSession.id_hash == id_hash)  # type: ignore[arg-type]
                       .values(last_seen_at=at))


def revoke_sessions(session: Session, user_id: int, *, now: datetime, only: str | None = None,
                    keep: str | None = None) -> None:
    """Revoke a user's live sessions: all, only the one with hash ``only``, or all but ``keep``."""
    statement = update(WebSession).where(WebSession.user_id == user_id,  # type: ignore[arg-type]
                                         WebSession.revoked_at.is_(None))  # type: ignore[union-attr]
    if only is not None:
        statement = statement.where(WebSession.id_hash == only)  # type: ignore[arg-type]
    if keep is not None:
        statement = statement.where(WebSession.id_hash != keep)  # type: ignore[arg-type]
    session.execute(statement.values(revoked_at=now))


def add_token(session: Session, *, user_id: int, name: str, token_hash: str, at: datetime, scope: str,
              expires_at: datetime) -> None:
    session.add(ApiToken(user_id=user_id, name=name, token_hash=token_hash, created_at=at, scope=scope,
                         expires_at=expires_at))


def revoke_tokens(session: Session, user_id: int, *, at: datetime) -> None:
    """Revoke every live token of a user (a password change, a deactivation)."""
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id,  # type: ignore[arg-type]
                                           ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
                    .values(revoked_at=at))


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                             .order_by(col(ApiToken.id))).all())


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def revoke_token(session: Session, *, user_id: int, token_id: int, at: datetime) -> str | None:
    """Revoke one of a user's tokens; its name if it was live, "" if already revoked,
    None when the user has no such token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        return None
    if row.revoked_at is not None:
        return ""
    row.revoked_at = at
    session.add(row)
    return row.name


def touch_token(connection: Connection, token_id: int, at: datetime) -> None:
    """Record that an API token was used (outside the request's own transaction)."""
    connection.execute(update(ApiToken).where(ApiToken.id == token_id)  # type: ignore[arg-type]
                       .values(last_used_at=at))


def count_request(connection: Connection, key: str, *, window_start: datetime) -> int:
    """Count one request under ``key`` in the window starting at ``window_start``; the count."""
    with Session(bind=connection) as session:
        row = session.get(RateCounter, key)
        if row is None or row.window_start < window_start:
            row = row or RateCounter(key=key, window_start=window_start)
            row.window_start, row.count = window_start, 0
        row.count += 1
        session.add(row)
        session.flush()
        return row.count
