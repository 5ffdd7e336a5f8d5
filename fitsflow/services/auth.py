"""Signing in, sessions, passwords and API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .. import security_log
from ..domain import limits, passwords
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..persistence import audit_store, auth_store, queries, user_store
from .common import load_actor, now, unit_of_work
from .runtime import Runtime

# Per account, and per address: a school's staff often share one public address, so
# the address limit is far higher — it stops spraying passwords, not a colleague's typo.
MAX_FAILURES = {"email": 5, "addr": 50}
WINDOW = timedelta(minutes=15)
# How stale ``last_used_at`` may be: refreshing it is a write, so it is done rarely.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
log = logging.getLogger("fitsflow.auth")


@cache
def _dummy_hash() -> str:
    """A hash to compare against when the email is unknown, so timing does not reveal it
    (made on first use: nothing expensive runs at import)."""
    return generate_password_hash("not a real password", method="scrypt")


class TooManyAttempts(NotPermitted):
    """Login refused for a while after repeated failures."""


@dataclass(frozen=True)
class SessionUser:
    actor: Actor
    session_id: str


def _throttled(session: Session, key: str, at: datetime) -> bool:
    limit = MAX_FAILURES[key.split(":", 1)[0]]
    return auth_store.failures(session, key, since=at - WINDOW) >= limit


def authenticate(rt: Runtime, *, email: str, password: str, address: str = "") -> SessionUser:
    """Check a password; throttled per email and per address after repeated failures."""
    email = (email or "").strip().lower()[:limits.EMAIL]
    keys = [f"email:{email}"] + ([f"addr:{address}"] if address else [])
    at = now()
    ok = False
    with unit_of_work(rt) as session:
        user = queries.user_by_email(session, email)
        throttled = any(_throttled(session, key, at) for key in keys)
        if not throttled:
            stored = user.password_hash if user and user.password_hash else _dummy_hash()
            ok = check_password_hash(stored, password or "") and user is not None and user.active \
                and user.password_hash is not None
        if ok:
            assert user is not None and user.id is not None
            auth_store.clear_failures(session, keys)
            session_id = secrets.token_urlsafe(32)
            auth_store.add_session(session, id_hash=_digest(session_id), user_id=user.id, at=at)
        elif not throttled:
            for key in keys:
                auth_store.record_failure(session, key, at=at, window=WINDOW)  # committed: raised below
        if user is not None:  # about a person: into the audit trail too
            outcome = "auth.throttled" if throttled else "auth.signed_in" if ok else "auth.sign_in_failed"
            audit_store.append(session, actor=email, change_ref="", event_type=outcome,
                               payload={"email": email, "address": address})
    if throttled:
        security_log.event("sign_in.throttled", email=email, address=address)
        raise TooManyAttempts("too many failed sign-ins; wait 15 minutes and try again")
    if not ok:
        security_log.event("sign_in.failed", email=email, address=address, known=user is not None)
        raise NotPermitted("email or password not recognised")
    security_log.event("sign_in.ok", email=email, address=address)
    assert user is not None and user.id is not None
    return SessionUser(_actor(rt, user.id), session_id)


def _actor(rt: Runtime, user_id: int) -> Actor:
    with rt.db.read() as session:
        return load_actor(rt, session, user_id)


def _live_actor(rt: Runtime, session: Session, user_id: int) -> Actor | None:
    try:
        return load_actor(rt, session, user_id)
    except NotPermitted:  # deactivated since
        return None


def session_user(rt: Runtime, *, user_id: int, session_id: str) -> Actor | None:
    """The user a browser session belongs to, if it is still signed in."""
    with rt.db.read() as session:
        if auth_store.live_session_user(session, _digest(session_id)) != user_id:
            return None
        return _live_actor(rt, session, user_id)


def end_session(rt: Runtime, *, user_id: int, session_id: str) -> None:
    """Sign this browser out: its session no longer works, even from a copied cookie."""
    with unit_of_work(rt) as session:
        auth_store.revoke_sessions(session, user_id, now=now(), only=_digest(session_id))


def end_sessions(rt: Runtime, *, user_id: int, keep: str | None = None) -> None:
    """Sign the user out everywhere (but ``keep``, if given)."""
    with unit_of_work(rt) as session:
        auth_store.revoke_sessions(session, user_id, now=now(), keep=_digest(keep) if keep else None)


def change_password(rt: Runtime, *, user_id: int, current: str, new: str, session_id: str) -> None:
    """Change a password (the current one is required); every other session ends."""
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None or not user.password_hash or not check_password_hash(user.password_hash, current):
            raise InvalidInput({"current_password": "is not your current password"})
        weak = passwords.problem(new or "", about=(user.name, user.email))
        if weak:
            raise InvalidInput({"new_password": weak})
        user_store.set_password_hash(session, user_id, generate_password_hash(new, method="scrypt"))
        auth_store.revoke_sessions(session, user_id, now=now(), keep=_digest(session_id))
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
    if not name or len(name) > limits.TOKEN_NAME or any(ord(c) < 32 for c in name):
        raise InvalidInput({"name": f"is required: one line, up to {limits.TOKEN_NAME} characters"})
    secret = "ff_" + secrets.token_urlsafe(32)
    with unit_of_work(rt) as session:
        actor = load_actor(rt, session, user_id)
        auth_store.add_token(session, user_id=user_id, name=name, token_hash=_digest(secret), at=now())
        audit_store.append(session, actor=actor.label, change_ref="", event_type="token.created",
                           payload={"name": name})
    return secret


def list_tokens(rt: Runtime, *, user_id: int) -> list[TokenView]:
    with rt.db.read() as session:
        return [TokenView(r.id or 0, r.name, r.created_at, r.last_used_at, r.revoked_at)
                for r in auth_store.tokens_of(session, user_id)]


def revoke_token(rt: Runtime, *, user_id: int, token_id: int) -> None:
    with unit_of_work(rt) as session:
        name = auth_store.revoke_token(session, user_id=user_id, token_id=token_id, at=now())
        if name is None:
            raise NotFound("no such token")
        if name:
            actor = load_actor(rt, session, user_id)
            audit_store.append(session, actor=actor.label, change_ref="", event_type="token.revoked",
                               payload={"name": name})


def token_user(rt: Runtime, *, token: str) -> Actor | None:
    """The user a bearer token belongs to, if it is valid and not revoked. Reads only;
    ``last_used_at`` is refreshed at most every few minutes, in a short write of its
    own that never fails or delays the request."""
    if not token or not token.startswith("ff_") or len(token) > 200:
        security_log.event("token.refused", reason="malformed")
        return None
    with rt.db.read() as session:
        row = auth_store.token_by_hash(session, _digest(token))
        if row is None or row.revoked_at is not None or row.id is None:
            security_log.event("token.refused", reason="revoked" if row is not None else "unknown")
            return None
        actor = _live_actor(rt, session, row.user_id)
        token_id, last_used = row.id, row.last_used_at
    if actor is not None and (last_used is None or now() - last_used > TOKEN_TOUCH_INTERVAL):
        _touch_token(rt, token_id)
    return actor


def _touch_token(rt: Runtime, token_id: int) -> None:
    try:
        rt.db.try_write(lambda connection: auth_store.touch_token(connection, token_id, now()))
    except Exception:  # noqa: BLE001 — bookkeeping only: the request goes on regardless
        log.debug("could not record token use now; it will be recorded on a later request")
