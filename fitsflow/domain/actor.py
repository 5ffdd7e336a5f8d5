"""The person acting, as services and receivers see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    email: str
    roles: frozenset[str]
    # An administrator set the password: the person chooses their own before anything else.
    must_change_password: bool = False
    # Holds a role that needs a second factor and has not enrolled one yet.
    mfa_enrolment_due: bool = False

    @property
    def label(self) -> str:
        """How the audit trail names them."""
        return self.email
