"""Browsers remembered after the second factor: one row per browser, bound to that
browser's device id, listed on My account and revocable there. Signing out everywhere, a
password change or reset and the factor's reset end them all (``forget_all``, called in
those transactions)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from .. import security_log
from ..domain import agents
from ..domain.errors import NotFound
from ..persistence import device_store, user_store
from . import account_notices
from .common import unit_of_work
from .runtime import Runtime


@dataclass(frozen=True)
class DeviceView:
    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def remember(rt: Runtime, *, user_id: int, device_id: str, agent: str) -> str:
    """Remember this browser (its device id) for ``accounts.mfa_remember_days``; the cookie's
    value, returned once and kept only as a hash."""
    token = secrets.token_urlsafe(32)
    label = agents.describe(agent)
    with unit_of_work(rt) as session:
        device_store.add(session, user_id=user_id, token_hash=_digest(token), device_hash=_digest(device_id),
                         label=label, at=rt.now())
    security_log.event("mfa.device_remembered", user_id=user_id, label=label)
    return token


def recognised(rt: Runtime, session: Session, *, user_id: int, token: str | None,
               device_id: str | None, at: datetime) -> bool:
    """Whether this browser may skip the second factor: its cookie names a live remembered
    browser of this person, made for this very device id, within the days set (and since the
    factor was last set up). Its last use is recorded."""
    days = rt.settings.accounts.mfa_remember_days
    if not days or not token or not device_id or len(token) > 100:
        return False
    row = device_store.live(session, _digest(token))
    user = user_store.get(session, user_id)
    if row is None or row.user_id != user_id or row.device_hash != _digest(device_id) or user is None \
            or user.totp_enabled_at is None or row.created_at < user.totp_enabled_at \
            or at - row.created_at > timedelta(days=days):
        return False
    assert row.id is not None
    device_store.touch(session, row.id, at)
    return True


def list_devices(rt: Runtime, *, user_id: int) -> list[DeviceView]:
    """A person's remembered browsers, newest first."""
    days = timedelta(days=rt.settings.accounts.mfa_remember_days)
    with rt.db.read() as session:
        return [DeviceView(r.id or 0, r.label, r.created_at, r.last_used_at, r.revoked_at,
                           r.created_at + days) for r in device_store.of_user(session, user_id)]


def forget(rt: Runtime, *, user_id: int, device_id: int) -> None:
    """Revoke one of one's remembered browsers: it is asked for a code at its next sign-in."""
    with unit_of_work(rt) as session:
        if not any(r.id == device_id for r in device_store.of_user(session, user_id)):
            raise NotFound("no such remembered browser")
        if device_store.revoke(session, user_id, at=rt.now(), only=device_id):
            account_notices.tell(session, [user_id], at=rt.now(), subject="A remembered browser was revoked",
                                 body="A browser that skipped the second factor will be asked for a code "
                                      "again at its next sign-in.")
    security_log.event("mfa.device_revoked", user_id=user_id, device=device_id)


def forget_all(session: Session, user_id: int, *, at: datetime) -> None:
    """End every remembered browser of a person, in the caller's transaction."""
    device_store.revoke(session, user_id, at=at)
