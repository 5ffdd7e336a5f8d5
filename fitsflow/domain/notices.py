"""Release notices: tiers of detail, who gets which, and when each is published."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

# Most detailed first. A person in several audiences receives one notice: the most
# detailed tier among the audiences they belong to.
TIERS: tuple[str, ...] = ("full", "technical", "staff", "brief")
TIER_TITLES = {"full": "the full picture", "technical": "technical detail",
               "staff": "what changes for staff", "brief": "a short what and when"}


def most_detailed(audiences: Iterable[str], tier_of: Mapping[str, str]) -> str | None:
    """The audience (of those given) whose tier is the most detailed; ties by name."""
    ranked = sorted((TIERS.index(tier_of[a]), a) for a in audiences if a in tier_of)
    return ranked[0][1] if ranked else None


def school_days_before(moment: datetime, days: int) -> datetime:
    """``days`` school days (Monday–Friday) before ``moment``, same time of day."""
    result = moment
    remaining = days
    while remaining > 0:
        result -= timedelta(days=1)
        if result.weekday() < 5:
            remaining -= 1
    return result
