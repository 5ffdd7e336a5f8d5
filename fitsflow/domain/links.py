"""One-time links sent by email — an invitation to choose a first password, a password
reset: their purposes, the outbox events that carry them, what a token looks like."""

from __future__ import annotations

import re

INVITE, RESET = "invite", "reset"
PURPOSES: tuple[str, ...] = (INVITE, RESET)
EVENTS: dict[str, str] = {INVITE: "account_invitation", RESET: "password_reset"}
# Outbox events whose message carries a one-time link: they go by email only (never into an
# in-app inbox: the person cannot sign in yet, and the link would be kept there), and the
# link is wiped from the outbox once the message is sent.
LINK_EVENTS: frozenset[str] = frozenset(EVENTS.values())
PATHS: dict[str, str] = {INVITE: "/invitation/", RESET: "/password/reset/"}

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one we made (before any query: anything else is dead)."""
    return bool(_TOKEN.fullmatch(token or ""))
