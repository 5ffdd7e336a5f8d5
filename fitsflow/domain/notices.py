"""Release notices: tiers of detail, who gets which, and when each is published."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Most detailed first. A person in several audiences receives one notice: the most
# detailed tier among the audiences they belong to.
TIERS: tuple[str, ...] = ("full", "technical", "staff", "brief")
BRIEF = "brief"  # students' and parents' tier: a short what and when
TIER_TITLES = {"full": "the full picture", "technical": "technical detail",
               "staff": "what changes for staff", "brief": "a short what and when"}


def rank(audience: str, tier_of: Mapping[str, str]) -> tuple[int, str]:
    """Sort key: more detailed tiers first, ties by audience name."""
    return TIERS.index(tier_of[audience]), audience


def most_detailed(audiences: Iterable[str], tier_of: Mapping[str, str]) -> str | None:
    """The audience (of those given) whose notice a member of all of them receives."""
    known = [a for a in audiences if a in tier_of]
    return min(known, key=lambda a: rank(a, tier_of)) if known else None


def more_detailed_than(audience: str, tier_of: Mapping[str, str]) -> list[str]:
    """Audiences whose members receive their notice instead of this audience's."""
    return [a for a in tier_of if rank(a, tier_of) < rank(audience, tier_of)]
