"""Roles and audiences as data: the school's own set, checked once at start-up.

Three roles have meanings the engine relies on (raising changes, reading the audit
trail, administering); every other role is the school's to name, and those marked
``approves`` may be asked for in a gate's quorum."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,19}$")

REQUESTER, AUDITOR, ADMIN = "requester", "auditor", "admin"
SYSTEM_ROLES: tuple[str, ...] = (REQUESTER, AUDITOR, ADMIN)


@dataclass(frozen=True)
class Audience:
    name: str
    label: str
    tier: str
    lead_days: int


@dataclass(frozen=True)
class RoleBook:
    """The roles and audiences in force. Order is the configured order."""

    labels: Mapping[str, str]
    approvers: tuple[str, ...]
    audiences: Mapping[str, Audience]
    # Roles whose holders must sign in with a second factor (TOTP).
    mfa_roles: tuple[str, ...] = ()
    # Roles that act across every school of the trust: their holders see every school.
    trust_roles: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.labels)

    @property
    def audience_names(self) -> tuple[str, ...]:
        return tuple(self.audiences)

    def label(self, role: str) -> str:
        return self.labels.get(role, role)

    def audience_label(self, audience: str) -> str:
        """An audience's title ("Senior leadership"); a name the school no longer defines as is."""
        found = self.audiences.get(audience)
        return found.label if found else audience

    def known(self, roles: Iterable[str]) -> frozenset[str]:
        """The roles held that the school still defines (a removed role grants nothing)."""
        return frozenset(r for r in roles if r in self.labels)

    def tiers(self) -> dict[str, str]:
        """Audience → notice tier."""
        return {a.name: a.tier for a in self.audiences.values()}

    def unknown_roles(self, roles: Iterable[str]) -> list[str]:
        return [r for r in roles if r not in self.labels]

    def unknown_audiences(self, audiences: Iterable[str]) -> list[str]:
        return [a for a in audiences if a not in self.audiences]


# The set a new installation starts with: name → (label, approves, needs MFA, acts across
# every school of the trust).
SHIPPED_ROLES: dict[str, tuple[str, bool, bool, bool]] = {
    "requester": ("Network manager (raises changes)", False, False, False),
    "cab": ("Change advisory board (CAB)", True, True, False),
    "slt": ("Senior leadership (SLT)", True, True, False),
    "finance": ("School business manager (finance)", True, True, False),
    "head": ("Headteacher", True, True, False),
    "governors": ("Governors' finance committee", True, True, False),
    "dpo": ("Data protection officer", True, True, False),
    "dsl": ("Designated safeguarding lead", True, True, False),
    # Decides web-filtering requests beside the DSL (filtering.toml); approves no gate.
    "deputy_dsl": ("Deputy designated safeguarding lead", False, True, False),
    "auditor": ("Auditor", False, False, False),
    "admin": ("Administrator", False, True, False),
    "trust_cab": ("Trust change advisory board", True, True, True),
    "trust_finance": ("Trust finance (CFO)", True, True, True),
    "ceo": ("Trust chief executive (CEO)", True, True, True),
    "it_director": ("Trust IT director", True, True, True),
}
# name → (label, notice tier, lead time in school days).
SHIPPED_AUDIENCES: dict[str, tuple[str, str, int]] = {
    "slt": ("Senior leadership", "full", 10),
    "support": ("ICT support team", "technical", 5),
    "staff": ("Staff", "staff", 5),
    "students": ("Students", "brief", 0),
    "parents": ("Parents", "brief", 2),
}


def shipped_book() -> RoleBook:
    """The shipped roles and audiences (what a school gets without configuring any)."""
    return RoleBook(
        labels={name: spec[0] for name, spec in SHIPPED_ROLES.items()},
        approvers=tuple(name for name, spec in SHIPPED_ROLES.items() if spec[1]),
        audiences={name: Audience(name, *spec) for name, spec in SHIPPED_AUDIENCES.items()},
        mfa_roles=tuple(name for name, spec in SHIPPED_ROLES.items() if spec[2]),
        trust_roles=tuple(name for name, spec in SHIPPED_ROLES.items() if spec[3]),
    )


def needs_mfa(roles: Iterable[str], book: RoleBook) -> bool:
    """Whether someone holding ``roles`` must use a second factor."""
    return bool(set(roles) & set(book.mfa_roles))


def may_view_changes(roles: Iterable[str]) -> bool:
    """Anyone holding a role sees changes; audience-only people (staff, students,
    parents) see their notices."""
    return any(True for _ in roles)


def is_approver(roles: Iterable[str], book: RoleBook) -> bool:
    return bool(set(roles) & set(book.approvers))
