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
    # Holds a role that needs a second factor and has not enrolled one yet (someone without a
    # fitsflow password signs in with the school's provider, whose second factor counts).
    mfa_enrolment_due: bool = False
    # Holds such a role and has no second factor here: a token of theirs decides nothing
    # (a token is used without the provider, so its second factor cannot count).
    second_factor_missing: bool = False
    # The schools whose changes they see; None: every school (a trust role, or they belong
    # to every school there is).
    schools: frozenset[int] | None = None

    @property
    def label(self) -> str:
        """How the audit trail names them."""
        return self.email
