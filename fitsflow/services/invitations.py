"""Getting in by email: an invitation to choose a first password (sent when someone is added
without one — the staff-list import, Admin → Users, the API, the command line — and again
by an administrator), and a password reset asked for on the sign-in page. Each is a
one-time link: only its token's hash is kept, it works once, until it expires, and a newer
link of the same kind revokes it. The messages go through the outbox, by email only."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from .. import security_log
from ..domain import limits, links, passwords
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN
from ..domain.text import one_line_problem
from ..persistence import audit_store, auth_store, link_store, queries, sso_store, user_store
from ..persistence.models import User
from . import account_notices, devices, throttle
from .auth import TooManyAttempts
from .common import load_actor, unit_of_work
from .runtime import Runtime

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Acting(Protocol):
    """The administrator acting (``users.By``)."""

    @property
    def id(self) -> int: ...

    @property
    def label(self) -> str: ...


class LinkGone(NotFound):
    """A one-time link that is unknown, used, revoked or past its time."""


@dataclass(frozen=True)
class LinkView:
    """What a live link's page shows."""

    purpose: str
    name: str
    email: str
    expires_at: datetime


@dataclass(frozen=True)
class Redeemed:
    """A password chosen with a link: whose, and whether a second factor still guards them."""

    user_id: int
    has_second_factor: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def by_email(rt: Runtime) -> bool:
    """Whether links can go out now (email on); until then they wait in Admin → Delivery."""
    return rt.settings.smtp.enabled


def _send(rt: Runtime, session: Session, user: User, purpose: str, *, created_by: str, at: datetime,
          lines: list[str]) -> None:
    """Make a link (the earlier ones of its kind stop working) and queue its message."""
    assert user.id is not None
    accounts = rt.settings.accounts
    life = timedelta(days=accounts.invitation_days) if purpose == links.INVITE \
        else timedelta(minutes=accounts.password_reset_minutes)
    token = secrets.token_urlsafe(32)
    link_store.revoke_live(session, user.id, at=at, purpose=purpose)
    link_store.add(session, user_id=user.id, purpose=purpose, token_hash=_digest(token), at=at,
                   expires_at=at + life, created_by=created_by)
    until = (at + life).astimezone(rt.timezone)
    lines.append(f"The link works once, until {until:%H:%M on %a %d %b %Y}. If you did not expect this "
                 "message, ignore it: nothing changes unless the link is used.")
    subject = f"{rt.settings.school.name}: choose your fitsflow password" if purpose == links.INVITE \
        else "Reset your fitsflow password"
    account_notices.tell(session, [user.id], subject=subject, body="\n\n".join(lines), at=at,
                         event=links.EVENTS[purpose], link=links.PATHS[purpose] + token)


def send_invitation(rt: Runtime, session: Session, user_id: int, *, by_label: str, at: datetime) -> None:
    """Invite someone with no password yet, in the caller's transaction (an account just made)."""
    user = user_store.get(session, user_id)
    assert user is not None
    who = "An administrator" if by_label == "cli" else by_label
    lines = [f"Hello {user.name},",
             f"{who} has given you an account on fitsflow, {rt.settings.school.name}'s change and release "
             f"management: you sign in as {user.email}. Open the link below to choose your password."]
    _send(rt, session, user, links.INVITE, created_by=by_label, at=at, lines=lines)
    audit_store.append(session, actor=by_label, change_ref="", event_type="user.invited",
                       payload={"email": user.email})
    security_log.event("invitation.sent", by=by_label, email=user.email)


def invite(rt: Runtime, *, user_id: int, by: Acting | None) -> None:
    """Send (again) an invitation to choose a first password; the earlier link stops working.
    Through the pages ``by`` is the administrator; the command line passes None."""
    at = rt.now()
    with unit_of_work(rt) as session:
        if by is not None and ADMIN not in load_actor(rt, session, by.id).roles:
            raise NotPermitted("inviting people is for administrators")
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if not user.active:
            raise InvalidInput({"user": f"{user.email} is deactivated: reactivate the account first"})
        if user.password_hash is not None:
            raise InvalidInput({"user": f"{user.email} has chosen a password already: if it is forgotten, "
                                        "“Forgot your password?” on the sign-in page sends a link"})
        send_invitation(rt, session, user_id, by_label=by.label if by is not None else "cli", at=at)


def pending(rt: Runtime, user_ids: list[int]) -> dict[int, datetime]:
    """When the live invitation of each of these people runs out (those who have one)."""
    with rt.db.read() as session:
        return link_store.live_invitations(session, user_ids, now=rt.now())


def request_reset(rt: Runtime, *, email: str, address: str = "") -> None:
    """Someone asks for a password-reset link. The answer is the same whether or not the
    address has an account (the caller shows one message): the same checks, the same
    counters, an audit event either way; only an active account's owner gets a message.
    Requests are limited per typed address and per client address; past the limit,
    TooManyAttempts — for known and unknown addresses alike."""
    email = (email or "").strip().lower()
    if one_line_problem(email, limits.EMAIL) or not _EMAIL.match(email):
        raise InvalidInput({"email": "is not an email address"})
    at = rt.now()
    keys = [f"reset:{email}"] + ([f"reset-addr:{address}"] if address else [])
    known = False
    with unit_of_work(rt) as session:
        wait = throttle.held_back(session, keys, at)
        if not wait:
            throttle.count_attempt(session, keys, at)
            user = queries.user_by_email(session, email)
            through = sso_store.providers_of(session, user.id) \
                if user is not None and user.id is not None and user.password_hash is None else []
            if user is not None and user.id is not None and user.active and through:
                # Someone who signs in with the school's provider has no password here to reset
                # (one made now would get round the provider's second factor and its leavers).
                known = True
                labels = " or ".join(rt.settings.sso[n].label if n in rt.settings.sso else n for n in through)
                body = (f"Someone — we hope you — asked to reset the password of your fitsflow account "
                        f"({user.email}). You sign in with {labels}, not a password: use “Sign in with "
                        f"{labels}” on the sign-in page.")
                account_notices.tell(session, [user.id], at=at, subject="Signing in to fitsflow", body=body,
                                     link="/login")
            elif user is not None and user.active:
                known = True
                lines = [f"Hello {user.name},",
                         "Someone — we hope you — asked to reset the password of your fitsflow account "
                         f"({user.email}). Open the link below to choose a new one; every session, API "
                         "token and remembered browser of yours then ends."
                         if user.password_hash else
                         f"Someone — we hope you — asked for a link to choose the password of your fitsflow "
                         f"account ({user.email}). Open the link below to choose it."]
                _send(rt, session, user, links.RESET, created_by="self", at=at, lines=lines)
            audit_store.append(session, actor=email, change_ref="", event_type="auth.reset_requested",
                               payload={"email": email, "address": address, "known": known})
    if wait:
        security_log.event("password_reset.throttled", email=email, address=address, wait=wait)
        raise TooManyAttempts(f"too many requests: try again in {wait} seconds", retry_after=wait)
    security_log.event("password_reset.requested", email=email, address=address, known=known)


def _live(session: Session, token: str, purpose: str, at: datetime) -> tuple[int, User] | None:
    """(link id, its person) if ``token`` is a live link of ``purpose`` for an active account."""
    if not links.well_formed(token):
        return None
    row = link_store.by_hash(session, _digest(token))
    if row is None or row.purpose != purpose or row.used_at is not None or row.revoked_at is not None \
            or row.expires_at <= at:
        return None
    user = user_store.get(session, row.user_id)
    return (row.id or 0, user) if user is not None and user.active else None


def look(rt: Runtime, *, token: str, purpose: str, address: str = "") -> LinkView:
    """The live link's page (opening it spends nothing: mail scanners open links too); a dead
    one is LinkGone, and dead links opened are counted per address."""
    at = rt.now()
    key = [f"link:{address}"] if address else []
    with rt.db.read() as session:
        if wait := throttle.held_back(session, key, at):
            raise TooManyAttempts(f"too many dead links from this address: try again in {wait} seconds",
                                  retry_after=wait)
        found = _live(session, token, purpose, at)
        if found is not None:
            row = link_store.by_hash(session, _digest(token))
            assert row is not None
            return LinkView(purpose, found[1].name, found[1].email, row.expires_at)
    _dead_link(rt, key, at, purpose)
    raise LinkGone("this link has expired or was already used")


def _dead_link(rt: Runtime, keys: list[str], at: datetime, purpose: str) -> None:
    security_log.event("link.refused", purpose=purpose, key=keys[0] if keys else "")
    if keys:
        with unit_of_work(rt) as session:
            throttle.count_attempt(session, keys, at)


def redeem(rt: Runtime, *, token: str, purpose: str, password: str, again: str,
           address: str = "") -> Redeemed:
    """Choose a password with a link. It must pass the password rule; the link is spent
    (once, even when two requests race), every other link of the person revoked, and every
    session, API token and remembered browser of theirs ends. After a reset the person is
    told. Bad input changes nothing and leaves the link as it was."""
    at = rt.now()
    problems: dict[str, str] = {}
    if (password or "") != (again or ""):
        problems["new_password_again"] = "does not match the new password: type it again"
    result: Redeemed | None = None
    with unit_of_work(rt) as session:
        found = _live(session, token, purpose, at)
        if found is not None:
            link_id, user = found
            assert user.id is not None
            if weak := passwords.problem(password or "", about=(user.name, user.email)):
                problems["new_password"] = weak
            if problems:
                raise InvalidInput(problems)
            if link_store.use(session, link_id, at=at):
                _set_password(rt, session, user, password, purpose, at)
                result = Redeemed(user.id, user.totp_enabled_at is not None)
                email = user.email
    if result is None:
        _dead_link(rt, [f"link:{address}"] if address else [], at, purpose)
        raise LinkGone("this link has expired or was already used")
    security_log.event("invitation.accepted" if purpose == links.INVITE else "password_reset.done",
                       email=email, address=address)
    return result


def _set_password(rt: Runtime, session: Session, user: User, password: str, purpose: str,
                  at: datetime) -> None:
    assert user.id is not None
    link_store.revoke_live(session, user.id, at=at)
    user_store.set_password_hash(session, user.id, generate_password_hash(password, method="scrypt"))
    user_store.set_must_change_password(session, user.id, False)
    auth_store.revoke_sessions(session, user.id, now=at)
    auth_store.revoke_tokens(session, user.id, at=at)
    devices.forget_all(session, user.id, at=at)
    invited = purpose == links.INVITE
    audit_store.append(session, actor=user.email, change_ref="",
                       event_type="user.invitation_accepted" if invited else "user.password_reset",
                       payload={"email": user.email})
    if not invited:
        account_notices.tell(session, [user.id], at=at, subject="Your fitsflow password was reset",
                             body="Your password was changed with a link sent to this address. Every "
                                  "session, API token and remembered browser of yours has ended. If it "
                                  "was not you, tell your administrator now.")
