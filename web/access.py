"""Who may open each route. Every view declares a rule; a route without one is refused
(and the role × route test fails), so nothing new is reachable by accident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"        # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in person (audiences included)
VIEWERS = "viewers"      # roles that may see changes (not audience-only people)
REQUESTERS = "requesters"
APPROVERS = "approvers"
AUDITORS = "auditors"    # auditor or admin
ADMINS = "admins"
API = "api"              # bearer token; the service decides the rest

RULE_ROLES: dict[str, frozenset[str] | None] = {
    PUBLIC: None,
    SIGNED_IN: frozenset(),
    VIEWERS: frozenset({"requester", "cab", "slt", "finance", "head", "auditor", "admin"}),
    REQUESTERS: frozenset({"requester"}),
    APPROVERS: frozenset({"cab", "slt", "finance", "head"}),
    AUDITORS: frozenset({"auditor", "admin"}),
    ADMINS: frozenset({"admin"}),
    API: None,
}


def access(rule: str) -> Callable[[F], F]:
    """Declare who may open this view."""
    if rule not in RULE_ROLES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(view: F) -> F:
        view._fitsflow_access = rule  # type: ignore[attr-defined]
        return view

    return mark


def rule_of(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, "_fitsflow_access", None)


def allows(rule: str, signed_in: bool, roles: frozenset[str]) -> bool:
    """Whether a person with these roles passes the rule (API rules are checked by token)."""
    if rule == PUBLIC:
        return True
    if not signed_in:
        return False
    needed = RULE_ROLES[rule]
    return not needed or bool(needed & roles)
