"""Slowing repeated attempts down, never locking anyone out: failures (or requests) are
counted per key — ``kind:value``, e.g. ``email:…``, ``addr:…`` — in the database, so the
limits hold across every server process; past a kind's threshold each further attempt waits
twice as long as the last (1 s, 2 s, 4 s … at most MAX_DELAY), and a quiet WINDOW forgets."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from .. import security_log
from ..domain.roles import ADMIN
from ..persistence import auth_store, queries
from . import account_notices

# Failed sign-ins before each further attempt must wait, per account, per address and
# per trusted device. A school's staff often share one public address, so that number is
# far higher. Past it the wait doubles with each failure (1 s, 2 s, 4 s … at most
# MAX_DELAY): guessing stays slow, and nobody is locked out by a stranger for long — and a
# browser that has signed in before (a device cookie) is not slowed by others' failures.
MAX_FAILURES = {"email": 5, "addr": 50, "device": 5, "mfa": 5,
                # Password-reset requests (every one counts), per typed email and per address
                # (as high as sign-ins': a school's staff share one), and dead one-time links
                # opened, per address (a morning of staff opening week-old invitations).
                "reset": 3, "reset-addr": 50, "link": 100}
MAX_DELAY = 900
WINDOW = timedelta(minutes=15)  # failures are forgotten after this long without one


def wait_seconds(failures: int, kind: str) -> int:
    """How long after the last failure the next attempt must wait."""
    over = failures - MAX_FAILURES[kind] + 1
    return 0 if over <= 0 else min(2 ** (over - 1), MAX_DELAY)


def still_to_wait(session: Session, key: str, at: datetime) -> int:
    """Seconds until another attempt under ``key`` may go ahead (0: now)."""
    count = auth_store.failures(session, key, since=at - WINDOW)
    last = auth_store.last_failure(session, key)
    if not count or last is None:
        return 0
    remaining = wait_seconds(count, key.split(":", 1)[0]) - (at - last).total_seconds()
    return max(0, int(remaining + 0.999))


def alert_admins(session: Session, subject: str, body: str, at: datetime) -> None:
    """Tell the administrators (in-app, and by email when it is on)."""
    account_notices.tell(session, queries.users_with_roles(session, [ADMIN]), subject=subject, body=body,
                         at=at, event="security_alert", link="/admin/users")


def held_back(session: Session, keys: list[str], at: datetime) -> int:
    """Seconds until another attempt under these keys may go ahead (0: now)."""
    return max((still_to_wait(session, key, at) for key in keys), default=0)


def count_attempt(session: Session, keys: list[str], at: datetime) -> None:
    """Count one more attempt under each key (for limits on requests, not only failures)."""
    for key in keys:
        auth_store.record_failure(session, key, at=at, window=WINDOW)


def count_failures(session: Session, keys: list[str], *, email: str, address: str, at: datetime,
                   what: str = "failed sign-ins") -> None:
    """One more failure under each key; at a key's threshold the administrators are told."""
    for key in keys:
        count = auth_store.record_failure(session, key, at=at, window=WINDOW)
        kind = key.split(":", 1)[0]
        if count == MAX_FAILURES[kind] and kind != "device":
            who = f"the account {email}" if kind == "email" else f"the address {address}"
            alert_admins(session, f"Sign-ins slowed for {who}",
                         f"{count} {what} for {who}; each further attempt now waits longer. Browsers "
                         "that signed in before are not affected. If this was not the person "
                         "themselves, someone may be guessing.", at)
            security_log.event("sign_in.slowed", key=kind, email=email, address=address)
