"""Signing in, sessions, passwords and API tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlmodel import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .. import security_log
from ..domain import limits, passwords, totp
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN
from ..domain.text import one_line_problem
from ..persistence import audit_store, auth_store, link_store, mfa_store, queries, user_store
from . import account_notices, devices, throttle
from .common import load_actor, unit_of_work
from .runtime import Runtime

# How stale ``last_used_at`` may be: refreshing it is a write, so it is done rarely.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
log = logging.getLogger("fitsflow.auth")


@cache
def _dummy_hash() -> str:
    """A hash to compare against when the email is unknown, so timing does not reveal it
    (made on first use: nothing expensive runs at import)."""
    return generate_password_hash("not a real password", method="scrypt")


class TooManyAttempts(NotPermitted):
    """Refused for a while after repeated failures; ``retry_after`` in seconds."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionUser:
    actor: Actor
    session_id: str


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; the second factor is still to come (``complete_sign_in``)."""

    user_id: int


def authenticate(rt: Runtime, *, email: str, password: str, address: str = "",
                 device: tuple[int, str] | None = None,
                 remembered: str | None = None) -> SessionUser | MfaChallenge:
    """Check a password. Failures slow further attempts progressively, per account and per
    address — unless ``device`` (user id, nonce of a verified device cookie) shows this
    browser has signed in as this person before: then only its own failures count.
    Someone with a second factor gets an MfaChallenge instead of a session, unless
    ``remembered`` (the cookie of a browser that passed it, with that browser's own device
    cookie) names a remembered browser of theirs (``devices.recognised``)."""
    email = (email or "").strip().lower()[:limits.EMAIL]
    if problem := one_line_problem(email, limits.EMAIL, required=False):
        raise InvalidInput({"email": problem})  # before any query: NUL never reaches the database
    at = rt.now()
    ok = False
    with unit_of_work(rt) as session:
        user = queries.user_by_email(session, email)
        trusted = device is not None and user is not None and device[0] == user.id
        keys = [f"device:{device[1]}"] if trusted and device else \
            [f"email:{email}"] + ([f"addr:{address}"] if address else [])
        wait = throttle.held_back(session, keys, at)
        if not wait:
            stored = user.password_hash if user and user.password_hash else _dummy_hash()
            ok = check_password_hash(stored, password or "") and user is not None and user.active \
                and user.password_hash is not None
        challenge = False
        if ok:
            assert user is not None and user.id is not None
            auth_store.clear_failures(session, keys)
            challenge = user.totp_enabled_at is not None and user.totp_secret is not None and \
                not devices.recognised(rt, session, user_id=user.id, token=remembered,
                                       device_id=device[1] if trusted and device else None, at=at)
            session_id = "" if challenge else open_session(session, user.id, at)
        elif not wait:
            throttle.count_failures(session, keys, email=email, address=address, at=at)
        if user is not None:  # about a person: into the audit trail too
            outcome = "auth.throttled" if wait else "auth.mfa_challenged" if challenge \
                else "auth.signed_in" if ok else "auth.sign_in_failed"
            audit_store.append(session, actor=email, change_ref="", event_type=outcome,
                               payload={"email": email, "address": address, "known_device": trusted})
    if wait:
        security_log.event("sign_in.throttled", email=email, address=address, wait=wait)
        raise TooManyAttempts(f"too many failed sign-ins: try again in {wait} seconds", retry_after=wait)
    if not ok:
        security_log.event("sign_in.failed", email=email, address=address, known=user is not None)
        raise NotPermitted("email or password not recognised")
    assert user is not None and user.id is not None
    if challenge:
        security_log.event("sign_in.password_ok", email=email, address=address, next="second factor")
        return MfaChallenge(user.id)
    security_log.event("sign_in.ok", email=email, address=address, known_device=trusted)
    return SessionUser(actor_of(rt, user.id), session_id)


def confirm_password(rt: Runtime, *, user_id: int, password: str, address: str = "", purpose: str) -> None:
    """Someone signed in types their password again before a sensitive act (``purpose``: an
    API token, new recovery codes). Counted, slowed and logged as signing in is, under the
    same per-account and per-address counters, so a session left open is no way to guess
    the password faster. InvalidInput when wrong, TooManyAttempts while slowed; each is
    committed before the act is refused."""
    at = rt.now()
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None or not user.active:
            raise NotPermitted("unknown or inactive user")
        email = user.email
        keys = [f"email:{email}"] + ([f"addr:{address}"] if address else [])
        wait = throttle.held_back(session, keys, at)
        ok = not wait and bool(user.password_hash) and check_password_hash(user.password_hash or "",
                                                                             password or "")
        if ok:
            auth_store.clear_failures(session, keys)
        elif not wait:
            throttle.count_failures(session, keys, email=email, address=address, at=at,
                            what="wrong passwords typed again (for " + purpose + ")")
        if not ok:
            audit_store.append(session, actor=email, change_ref="",
                               event_type="auth.reauth_throttled" if wait else "auth.reauth_failed",
                               payload={"email": email, "address": address, "purpose": purpose})
    if wait:
        security_log.event("reauth.throttled", email=email, address=address, purpose=purpose, wait=wait)
        raise TooManyAttempts(f"too many wrong passwords: try again in {_seconds(wait)}", retry_after=wait)
    if not ok:
        security_log.event("reauth.failed", email=email, address=address, purpose=purpose)
        raise InvalidInput({"password": "is not your current password"})


def _seconds(wait: int) -> str:
    return "1 second" if wait == 1 else f"{wait} seconds"


def sign_in_by_link(rt: Runtime, *, user_id: int, address: str = "") -> SessionUser:
    """A session for someone who has just chosen a password with a one-time link sent to
    their address (only when they have no second factor: else they sign in with it)."""
    at = rt.now()
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None or not user.active or user.totp_enabled_at is not None:
            raise NotPermitted("sign in with your email, your new password and a code")
        session_id = open_session(session, user_id, at)
        audit_store.append(session, actor=user.email, change_ref="", event_type="auth.signed_in",
                           payload={"email": user.email, "address": address, "by": "one-time link"})
        email = user.email
    security_log.event("sign_in.ok", email=email, address=address, by="one-time link")
    return SessionUser(actor_of(rt, user_id), session_id)


def open_session(session: Session, user_id: int, at: datetime) -> str:
    session_id = secrets.token_urlsafe(32)
    auth_store.add_session(session, id_hash=_digest(session_id), user_id=user_id, at=at)
    return session_id


def complete_sign_in(rt: Runtime, *, user_id: int, code: str, address: str = "") -> SessionUser:
    """The second step of signing in: a code from the authenticator app (each works once) or
    an unused recovery code. Failures slow further codes for this account progressively
    and, at the threshold, alert the person and the administrators (someone has the
    password)."""
    at = rt.now()
    key = f"mfa:{user_id}"
    code = (code or "").strip()[:40]
    how = ""
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None or not user.active or user.totp_secret is None or user.totp_enabled_at is None:
            raise NotPermitted("this sign-in has expired: start again with your email and password")
        wait = throttle.still_to_wait(session, key, at)
        if not wait:
            step = totp.matching_step(user.totp_secret, code, at)
            if step is not None and mfa_store.accept_step(session, user_id, step):
                how = "authenticator"
            elif totp.looks_like_recovery_code(code) and mfa_store.use_recovery_code(
                    session, user_id, totp.recovery_hash(code), at=at):
                how = "recovery code"
        if how:
            auth_store.clear_failures(session, [key])
            session_id = open_session(session, user_id, at)
            audit_store.append(session, actor=user.email, change_ref="", event_type="auth.signed_in",
                               payload={"email": user.email, "address": address, "second_factor": how})
            if how == "recovery code":
                left = mfa_store.unused_recovery_codes(session, user_id)
                account_notices.tell(session, [user_id], at=at, subject="A recovery code was used",
                                     body=f"Someone signed in to your fitsflow account with a recovery code "
                                          f"({left} left). If it was not you, tell your administrator now.")
        elif not wait:
            count = auth_store.record_failure(session, key, at=at, window=throttle.WINDOW)
            audit_store.append(session, actor=user.email, change_ref="", event_type="auth.mfa_failed",
                               payload={"email": user.email, "address": address})
            if count == throttle.MAX_FAILURES["mfa"]:
                text = (f"{count} wrong second-factor codes for {user.email} after the right password: "
                        "someone who knows the password may be trying to get in. Further attempts now "
                        "wait longer; a new password stops them.")
                throttle.alert_admins(session, f"Second-factor codes failing for {user.email}", text, at)
                account_notices.tell(session, [user_id], at=at, subject="Change your fitsflow password",
                                     body=text)
                security_log.event("mfa.slowed", email=user.email, address=address)
        email = user.email
    if wait:
        security_log.event("mfa.throttled", email=email, address=address, wait=wait)
        raise TooManyAttempts(f"too many wrong codes: try again in {wait} seconds", retry_after=wait)
    if not how:
        security_log.event("mfa.failed", email=email, address=address)
        raise NotPermitted("that code is not right (or was already used): try the current one")
    security_log.event("sign_in.ok", email=email, address=address, second_factor=how)
    return SessionUser(actor_of(rt, user_id), session_id)


def actor_of(rt: Runtime, user_id: int) -> Actor:
    with rt.db.read() as session:
        return load_actor(rt, session, user_id)


def _live_actor(rt: Runtime, session: Session, user_id: int) -> Actor | None:
    try:
        return load_actor(rt, session, user_id)
    except NotPermitted:  # deactivated since
        return None


SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


def session_user(rt: Runtime, *, user_id: int, session_id: str) -> Actor | None:
    """The user a browser session belongs to, if it is still signed in: not revoked, not
    idle longer than ``web.session_idle_minutes``, not older than ``web.session_max_hours``."""
    id_hash = _digest(session_id)
    at = rt.now()
    web = rt.settings.web
    with rt.db.read() as session:
        row = auth_store.live_session(session, id_hash)
        if row is None or row.user_id != user_id:
            return None
        seen = row.last_seen_at or row.created_at
        if at - row.created_at > timedelta(hours=web.session_max_hours) \
                or at - seen > timedelta(minutes=web.session_idle_minutes):
            security_log.event("session.expired", user_id=user_id)
            return None
        actor = _live_actor(rt, session, user_id)
    if actor is not None and at - seen > SESSION_TOUCH_INTERVAL:
        _bookkeep(rt, lambda connection: auth_store.touch_session(connection, id_hash, at))
    return actor


def end_session(rt: Runtime, *, user_id: int, session_id: str) -> None:
    """Sign this browser out: its session no longer works, even from a copied cookie."""
    with unit_of_work(rt) as session:
        auth_store.revoke_sessions(session, user_id, now=rt.now(), only=_digest(session_id))


def end_sessions(rt: Runtime, *, user_id: int, keep: str | None = None) -> None:
    """Sign the user out everywhere (but ``keep``, if given): every remembered browser is
    asked for the second factor again too."""
    with unit_of_work(rt) as session:
        auth_store.revoke_sessions(session, user_id, now=rt.now(), keep=_digest(keep) if keep else None)
        devices.forget_all(session, user_id, at=rt.now())


def change_password(rt: Runtime, *, user_id: int, current: str, new: str, session_id: str) -> None:
    """Change a password (the current one is required); every other session, every API
    token, every remembered browser and every emailed link not yet used ends."""
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None or not user.password_hash or not check_password_hash(user.password_hash, current):
            raise InvalidInput({"current_password": "is not your current password"})
        weak = passwords.problem(new or "", about=(user.name, user.email))
        if weak:
            raise InvalidInput({"new_password": weak})
        user_store.set_password_hash(session, user_id, generate_password_hash(new, method="scrypt"))
        user_store.set_must_change_password(session, user_id, False)
        auth_store.revoke_sessions(session, user_id, now=rt.now(), keep=_digest(session_id))
        auth_store.revoke_tokens(session, user_id, at=rt.now())  # a leaked token dies with the old password
        devices.forget_all(session, user_id, at=rt.now())
        link_store.revoke_live(session, user_id, at=rt.now())  # and an emailed link not yet used
        audit_store.append(session, actor=user.email, change_ref="", event_type="user.password_changed",
                           payload={"email": user.email})


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# A token's scope; each includes the ones before it.
SCOPES: tuple[str, ...] = ("read", "write", "admin")
# Bad bearer tokens from one address before it must wait.
MAX_TOKEN_FAILURES = 20


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    scope: str
    expires_at: datetime | None


@dataclass(frozen=True)
class TokenHolder:
    actor: Actor
    scope: str

    def allows(self, needed: str) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


def create_token(rt: Runtime, *, user_id: int, name: str, scope: str = "write", days: int | None = None,
                 password: str | None = None, address: str = "") -> str:
    """Create an API token; the secret is returned once and only its hash is stored. From
    the web, ``password`` re-authenticates first (a token is a credential), counted and
    slowed as a sign-in is (``confirm_password``)."""
    name = (name or "").strip()
    problems: dict[str, str] = {}
    if problem := one_line_problem(name, limits.TOKEN_NAME):
        problems["name"] = problem
    if scope not in SCOPES:
        problems["scope"] = f"must be one of: {', '.join(SCOPES)}"
    days = rt.settings.web.token_days if days is None else days
    if not 1 <= days <= 365:
        problems["days"] = "must be from 1 to 365"
    secret = "ff_" + secrets.token_urlsafe(32)
    if password is not None:
        try:
            confirm_password(rt, user_id=user_id, password=password, address=address, purpose="an API token")
        except InvalidInput as err:
            problems.update(err.problems)
    with unit_of_work(rt) as session:
        actor = load_actor(rt, session, user_id)
        if scope == "admin" and ADMIN not in actor.roles:
            problems["scope"] = "admin tokens are for administrators"
        if problems:
            raise InvalidInput(problems)
        auth_store.add_token(session, user_id=user_id, name=name, token_hash=_digest(secret), at=rt.now(),
                             scope=scope, expires_at=rt.now() + timedelta(days=days))
        audit_store.append(session, actor=actor.label, change_ref="", event_type="token.created",
                           payload={"name": name, "scope": scope, "days": days})
        account_notices.tell(session, [user_id], subject="An API token was made for your fitsflow account",
                             body=f"A {scope} token named “{name}” was made for your account, valid for "
                                  f"{days} days. If it was not you, revoke it on your account page and "
                                  "tell your administrator.", at=rt.now())
    security_log.event("token.created", email=actor.email, scope=scope, days=days)
    return secret


def list_tokens(rt: Runtime, *, user_id: int) -> list[TokenView]:
    with rt.db.read() as session:
        return [TokenView(r.id or 0, r.name, r.created_at, r.last_used_at, r.revoked_at, r.scope,
                          r.expires_at) for r in auth_store.tokens_of(session, user_id)]


def revoke_token(rt: Runtime, *, user_id: int, token_id: int) -> None:
    with unit_of_work(rt) as session:
        name = auth_store.revoke_token(session, user_id=user_id, token_id=token_id, at=rt.now())
        if name is None:
            raise NotFound("no such token")
        if name:
            actor = load_actor(rt, session, user_id)
            audit_store.append(session, actor=actor.label, change_ref="", event_type="token.revoked",
                               payload={"name": name})
            account_notices.tell(session, [user_id], subject="An API token of yours was revoked",
                                 body=f"The token “{name}” no longer works.", at=rt.now())


def token_user(rt: Runtime, *, token: str, address: str = "") -> TokenHolder | None:
    """Who a bearer token belongs to and what it may do, if it is valid, live and not
    expired. Reads only; ``last_used_at`` is refreshed at most every few minutes in a short
    write of its own. Bad tokens are counted per address: past the limit, TooManyAttempts."""
    at = rt.now()
    key = f"token:{address}"
    with rt.db.read() as session:
        if token and address and \
                auth_store.failures(session, key, since=at - throttle.WINDOW) >= MAX_TOKEN_FAILURES:
            raise TooManyAttempts("too many bad API tokens from this address; wait 15 minutes",
                                  retry_after=int(throttle.WINDOW.total_seconds()))
        row = auth_store.token_by_hash(session, _digest(token)) \
            if token.startswith("ff_") and len(token) <= 200 else None
        reason = "unknown" if row is None else "revoked" if row.revoked_at is not None \
            else "expired" if row.expires_at is not None and row.expires_at <= at else ""
        holder = None
        if row is not None and not reason:
            actor = _live_actor(rt, session, row.user_id)
            holder = TokenHolder(actor, row.scope) if actor is not None else None
            reason = "" if actor is not None else "inactive user"
            token_id, last_used = row.id or 0, row.last_used_at
    if holder is None:
        if not token:
            return None  # no credential offered: nothing guessed, nothing to count
        security_log.event("token.refused", reason=reason or "malformed", address=address)
        if address:
            _bookkeep(rt, lambda connection: auth_store.record_failure_core(connection, key, at=at,
                                                                            window=throttle.WINDOW))
        return None
    if last_used is None or at - last_used > TOKEN_TOUCH_INTERVAL:
        _bookkeep(rt, lambda connection: auth_store.touch_token(connection, token_id, at))
    return holder


def _bookkeep(rt: Runtime, work: Any) -> None:
    """A short write a request can do without: never waits, never fails the request."""
    try:
        rt.db.try_write(work, durable=False)
    except Exception:  # noqa: BLE001 — bookkeeping only: the request goes on regardless
        log.debug("could not record bookkeeping now; a later request will")


def count_api_write(rt: Runtime, *, user_id: int) -> None:
    """Count one API write by this person; TooManyAttempts past ``web.api_writes_per_minute``.
    The count lives in the database, so it holds across every server process."""
    at = rt.now()
    minute = at.replace(second=0, microsecond=0)
    try:
        count = rt.db.try_write(lambda connection: auth_store.count_request(
            connection, f"api-write:{user_id}", window_start=minute), durable=False)
    except Exception:  # noqa: BLE001 — the database is busy this instant: don't refuse for that
        log.debug("could not count an API write now")
        return
    if count > rt.settings.web.api_writes_per_minute:
        security_log.event("api.rate_limited", user_id=user_id, count=count)
        raise TooManyAttempts(f"more than {rt.settings.web.api_writes_per_minute} API writes a minute: "
                              "slow down", retry_after=max(1, 60 - at.second))
