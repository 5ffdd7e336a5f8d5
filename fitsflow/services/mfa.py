"""Enrolling a second factor, recovery codes, and an administrator's reset of it.
Signing in with it is in ``auth.complete_sign_in``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import security_log
from ..domain import totp
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN, needs_mfa
from ..persistence import audit_store, auth_store, mfa_store, queries, user_store
from . import account_notices, auth, devices
from .common import load_actor, unit_of_work
from .runtime import Runtime
from .users import By


@dataclass(frozen=True)
class MfaStatus:
    enabled_at: datetime | None
    required: bool
    exempt: bool
    recovery_codes_left: int
    # No fitsflow password (signs in with the school's provider): nothing here to guard.
    has_password: bool = True


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as a QR code and as text to type."""

    secret: str
    uri: str
    qr_data_uri: str


def status(rt: Runtime, *, user_id: int) -> MfaStatus:
    with rt.db.read() as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        required = needs_mfa(queries.roles_of(session, user_id), rt.roles)
        return MfaStatus(user.totp_enabled_at, required, user.mfa_exempt,
                         mfa_store.unused_recovery_codes(session, user_id), user.password_hash is not None)


def begin_enrolment(rt: Runtime, *, user_id: int) -> Enrolment:
    """The secret to scan: the one waiting for confirmation, or a new one. Refused once a
    factor is in force (only an administrator's reset removes it)."""
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if user.totp_enabled_at is not None:
            raise InvalidInput({"mfa": "is already on; an administrator can reset it if you lose your "
                                       "authenticator and your recovery codes"})
        secret = user.totp_secret
        if secret is None:
            secret = totp.new_secret()
            mfa_store.set_secret(session, user_id, secret)
        email = user.email
    uri = totp.provisioning_uri(secret, account=email, issuer=rt.settings.school.name)
    import segno  # at enrolment only

    return Enrolment(secret, uri, segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def confirm_enrolment(rt: Runtime, *, user_id: int, code: str) -> list[str]:
    """Turn the factor on with a first code from the app; the recovery codes, shown once."""
    at = rt.now()
    codes = totp.new_recovery_codes()
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if user.totp_enabled_at is not None:
            raise InvalidInput({"code": "your second factor is already on"})
        if user.totp_secret is None:
            raise InvalidInput({"code": "start again: scan the QR code on this page first"})
        step = totp.matching_step(user.totp_secret, code or "", at)
        if step is None:
            raise InvalidInput({"code": "is not the code your app shows now: check the phone's clock and "
                                        "type the six digits shown"})
        mfa_store.enable(session, user_id, at=at, step=step)
        mfa_store.replace_recovery_codes(session, user_id, [totp.recovery_hash(c) for c in codes])
        audit_store.append(session, actor=user.email, change_ref="", event_type="mfa.enabled",
                           payload={"email": user.email})
        account_notices.tell(session, [user_id], at=at, subject="Two-step sign-in is on for your account",
                             body="From now on you sign in to fitsflow with your password and a code "
                                  "from your authenticator app. If it was not you, tell your "
                                  "administrator now.")
        email = user.email
    security_log.event("mfa.enabled", email=email)
    return codes


def new_recovery_codes(rt: Runtime, *, user_id: int, password: str, address: str = "") -> list[str]:
    """Replace the recovery codes (the password again first, counted and slowed as a sign-in
    is); the new ones, shown once."""
    codes = totp.new_recovery_codes()
    auth.confirm_password(rt, user_id=user_id, password=password, address=address,
                          purpose="new recovery codes")
    with unit_of_work(rt) as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if user.totp_enabled_at is None:
            raise InvalidInput({"mfa": "turn two-step sign-in on first"})
        mfa_store.replace_recovery_codes(session, user_id, [totp.recovery_hash(c) for c in codes])
        audit_store.append(session, actor=user.email, change_ref="", event_type="mfa.recovery_codes_renewed",
                           payload={"email": user.email})
        account_notices.tell(session, [user_id], at=rt.now(), subject="New recovery codes for fitsflow",
                             body="New recovery codes were made for your account; the old ones no longer "
                                  "work. If it was not you, tell your administrator now.")
        email = user.email
    security_log.event("mfa.recovery_codes_renewed", email=email)
    return codes


def reset(rt: Runtime, *, user_id: int, by: By | None) -> None:
    """Remove someone's second factor (lost phone and codes), so they enrol again at their
    next sign-in. Through the pages or the API ``by`` is the administrator, who may not
    reset their own; the command line (the server's operator) passes None. The person's
    sessions end, and they are told."""
    at = rt.now()
    with unit_of_work(rt) as session:
        if by is not None:
            actor = load_actor(rt, session, by.id)
            if ADMIN not in actor.roles:
                raise NotPermitted("resetting a second factor is for administrators")
            if by.id == user_id:
                raise NotPermitted("nobody resets their own second factor: ask another administrator")
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        if user.totp_enabled_at is None:
            raise InvalidInput({"mfa": f"{user.email} has no second factor to reset"})
        mfa_store.set_secret(session, user_id, None)
        auth_store.revoke_sessions(session, user_id, now=at)
        devices.forget_all(session, user_id, at=at)
        label = by.label if by is not None else "cli"
        audit_store.append(session, actor=label, change_ref="", event_type="mfa.reset",
                           payload={"email": user.email})
        account_notices.tell(session, [user_id], at=at, subject="Your two-step sign-in was reset",
                             body=f"{label} reset the second factor of your fitsflow account and signed "
                                  "you out everywhere. At your next sign-in you will set up your "
                                  "authenticator app again. If you did not ask for this, tell your "
                                  "head teacher or the school's data-protection officer.")
        email = user.email
    security_log.event("mfa.reset", by=label, email=email)


def set_exempt(rt: Runtime, *, user_ids: list[int], exempt: bool) -> None:
    """Demo users only (``fitsflow demo``): sign in without a second factor."""
    with unit_of_work(rt) as session:
        for user_id in user_ids:
            mfa_store.set_exempt(session, user_id, exempt)
