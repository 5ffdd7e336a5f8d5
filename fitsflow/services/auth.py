"""Signing in, sessions, passwords and API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..persistence import audit_store, queries
from ..persistence.models import ApiToken, LoginFailure, User, WebSession
from .common import load_actor, now, unit_of_work
from .runtime import Runtime

# Per account, and per address: a school's staff often share one public address, so
# the address limit is far higher — it stops spraying passwords, not a colleague's typo.
MAX_FAILURES = {"email": 5, "addr": 50}
WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
# A hash to compare against when the email is unknown, so timing does not reveal it.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class TooManyAttempts(NotPermitted):
    """Login refused for a while after repeated failures."""


@dataclass(frozen=True)
class SessionUser:
    actor: Actor
    session_id: str


def _throttled(session: Session, key: str, at: datetime) -> bool:
    row = session.get(LoginFailure, key)
    limit = MAX_FAILURES[key.split(":", 1)[0]]
    return row is not None and row.count >= limit and at - row.first_at < WINDOW


def _fail(session: Session, key: str, at: datetime) -> None:
    row = session.get(LoginFailure, key)
    if row is None or at - row.first_at >= WINDOW:
        row = row or LoginFailure(key=key, first_at=at)
        row.count, row.first_at = 0, at
    row.count += 1
    session.add(row)


def authenticate(rt: Runtime, *, email: str, password: str, address: str = "") -> SessionUser:
    """Check a password; throttled per email and per address after repeated failures."""
    email = (email or "").strip().lower()
    keys = [f"email:{email}"] + ([f"addr:{address}"] if address else [])
    at = now()
    with unit_of_work(rt) as session:
        if any(_throttled(session, key, at) for key in keys):
            raise TooManyAttempts("too many failed sign-ins; wait 15 minutes and try again")
        user = queries.user_by_email(session, email)
        stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
        ok = check_password_hash(stored, password or "") and user is not None and user.active \
            and user.password_hash is not None
        if not ok:
            for key in keys:
                _fail(session, key, at)  # committed: the error is raised after the block
        else:
            for key in keys:
                row = session.get(LoginFailure, key)
                if row is not None:
                    session.delete(row)
            assert user is not None and user.id is not None
            session_id = secrets.token_urlsafe(32)
            session.add(WebSession(id_hash=_digest(session_id), user_id=user.id, created_at=at))
    if not ok:
        raise NotPermitted("email or password not recognised")
    assert user is not None and user.id is not None
    return SessionUser(_actor(rt, user.id), session_id)


def _actor(rt: Runtime, user_id: int) -> Actor:
    with rt.db.read() as session:
        return load_actor(rt, session, user_id)


def session_user(rt: Runtime, *, user_id: int, session_id: str) -> Actor | None:
    """The user a browser session belongs to, if it is still signed in."""
    with rt.db.read() as session:
        row = session.get(WebSession, _digest(session_id))
        user = session.get(User, user_id)
        if row is None or row.revoked_at is not None or row.user_id != user_id or user is None \
                or not user.active:
            return None
        return load_actor(rt, session, user_id)


def _revoke(session: Session, user_id: int, *, only: str | None = None,
            keep: str | None = None) -> None:
    statement = update(WebSession).where(WebSession.user_id == user_id,  # type: ignore[arg-type]
                                         WebSession.revoked_at.is_(None))  # type: ignore[union-attr]
    if only is not None:
        statement = statement.where(WebSession.id_hash == _digest(only))  # type: ignore[arg-type]
    if keep is not None:
        statement = statement.where(WebSession.id_hash != _digest(keep))  # type: ignore[arg-type]
    session.execute(statement.values(revoked_at=now()))


def end_session(rt: Runtime, *, user_id: int, session_id: str) -> None:
    """Sign this browser out: its session no longer works, even from a copied cookie."""
    with unit_of_work(rt) as session:
        _revoke(session, user_id, only=session_id)


def end_sessions(rt: Runtime, *, user_id: int, keep: str | None = None) -> None:
    """Sign the user out everywhere (but ``keep``, if given)."""
    with unit_of_work(rt) as session:
        _revoke(session, user_id, keep=keep)


def change_password(rt: Runtime, *, user_id: int, current: str, new: str, session_id: str) -> None:
    """Change a password (the current one is required); every other session ends."""
    if len(new or "") < MIN_PASSWORD:
        raise InvalidInput({"new_password": f"must be at least {MIN_PASSWORD} characters"})
    with unit_of_work(rt) as session:
        user = session.get(User, user_id)
        if user is None or not user.password_hash or not check_password_hash(user.password_hash, current):
            raise InvalidInput({"current_password": "is not your current password"})
        user.password_hash = generate_password_hash(new, method="scrypt")
        session.add(user)
        _revoke(session, user_id, keep=session_id)
        audit_store.append(session, actor=user.email, change_ref="", event_type="user.password_changed",
                           payload={"email": user.email})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def create_token(rt: Runtime, *, user_id: int, name: str) -> str:
    """Create an API token; the secret is returned once and only its hash is stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput({"name": "is required (up to 100 characters)"})
    secret = "ff_" + secrets.token_urlsafe(32)
    with unit_of_work(rt) as session:
        actor = load_actor(rt, session, user_id)
        session.add(ApiToken(user_id=user_id, name=name, token_hash=_digest(secret), created_at=now()))
        audit_store.append(session, actor=actor.label, change_ref="", event_type="token.created",
                           payload={"name": name})
    return secret


def list_tokens(rt: Runtime, *, user_id: int) -> list[TokenView]:
    with rt.db.read() as session:
        rows = session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                            .order_by(col(ApiToken.id))).all()
        return [TokenView(r.id or 0, r.name, r.created_at, r.last_used_at, r.revoked_at) for r in rows]


def revoke_token(rt: Runtime, *, user_id: int, token_id: int) -> None:
    with unit_of_work(rt) as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound("no such token")
        if row.revoked_at is None:
            row.revoked_at = now()
            session.add(row)
            actor = load_actor(rt, session, user_id)
            audit_store.append(session, actor=actor.label, change_ref="", event_type="token.revoked",
                               payload={"name": row.name})


# How stale ``last_used_at`` may be: refreshing it is a write, so it is done rarely.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
log = logging.getLogger("fitsflow.auth")


def token_user(rt: Runtime, *, token: str) -> Actor | None:
    """The user a bearer token belongs to, if it is valid and not revoked. Reads only;
    ``last_used_at`` is refreshed at most every few minutes, in a short write of its
    own that never fails or delays the request."""
    if not token or not token.startswith("ff_") or len(token) > 200:
        return None
    with rt.db.read() as session:
        row = session.exec(select(ApiToken).where(ApiToken.token_hash == _digest(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        actor = load_actor(rt, session, row.user_id) if _active(session, row.user_id) else None
        token_id, last_used = row.id, row.last_used_at
    if actor is not None and (last_used is None or now() - last_used > TOKEN_TOUCH_INTERVAL):
        _touch_token(rt, token_id)
    return actor


def _active(session: Session, user_id: int) -> bool:
    user = session.get(User, user_id)
    return user is not None and user.active


def _touch_token(rt: Runtime, token_id: int | None) -> None:
    try:
        rt.db.try_write(lambda connection: queries.touch_token(connection, token_id, now()))
    except Exception:  # noqa: BLE001 — bookkeeping only: the request goes on regardless
        log.debug("could not record token use now; it will be recorded on a later request")
