"""The person acting, as services and receivers see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    id: int
    name: str
    email: str
    roles: frozenset[str]

    @property
    def label(self) -> str:
        """How the audit trail names them."""
        return self.email
