"""Who may open each route. Every view declares a rule; a route without one is refused
(and the role × route test fails), so nothing new is reachable by accident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fitsflow.domain.roles import ADMIN, AUDITOR, REQUESTER, RoleBook, is_approver, may_view_changes

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"        # anyone, signed in or not
SIGNED_IN = "signed_in"  # any signed-in person (audiences included)
VIEWERS = "viewers"      # roles that may see changes (not audience-only people)
REQUESTERS = "requesters"
APPROVERS = "approvers"
AUDITORS = "auditors"    # auditor or admin
ADMINS = "admins"
API = "api"              # bearer token; the service decides the rest

RULES = (PUBLIC, SIGNED_IN, VIEWERS, REQUESTERS, APPROVERS, AUDITORS, ADMINS, API)
# Whose pages each rule keeps (the refusal says so, instead of a bare "no permission").
WHOSE = {VIEWERS: "people who work on changes (requesters, approvers, auditors and administrators)",
         REQUESTERS: "requesters", APPROVERS: "approvers", AUDITORS: "auditors and administrators",
         ADMINS: "administrators"}


def access(rule: str) -> Callable[[F], F]:
    """Declare who may open this view."""
    if rule not in RULES:
        raise ValueError(f"unknown access rule {rule!r}")

    def mark(view: F) -> F:
        view._fitsflow_access = rule  # type: ignore[attr-defined]
        return view

    return mark


def rule_of(view: Callable[..., Any] | None) -> str | None:
    return getattr(view, "_fitsflow_access", None)


def allows(rule: str, signed_in: bool, roles: frozenset[str], book: RoleBook) -> bool:
    """Whether a person with these roles passes the rule (API rules are checked by token)."""
    if rule == PUBLIC:
        return True
    if not signed_in:
        return False
    if rule == SIGNED_IN:
        return True
    if rule == VIEWERS:
        return may_view_changes(roles)
    if rule == REQUESTERS:
        return REQUESTER in roles
    if rule == APPROVERS:
        return is_approver(roles, book)
    if rule == AUDITORS:
        return bool(roles & {AUDITOR, ADMIN})
    return rule == ADMINS and ADMIN in roles
