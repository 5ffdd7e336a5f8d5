"""Which approval policy holds for a change: its school's own ([school_policy.SLUG], the keys
the trust lets a school set over the trust's), or the trust's ([policy]) — for a trust-wide
change, and for a school without one of its own."""

from __future__ import annotations

from sqlmodel import Session

from ..domain.policy import ApprovalPolicy
from ..persistence import school_store
from .runtime import Runtime

_SLUGS = "fitsflow.school_slugs"  # session.info: each school's short name, read once


def of_school(rt: Runtime, session: Session, school_id: int | None) -> ApprovalPolicy:
    own = rt.settings.school_policies
    if not own or school_id is None:  # no school has its own: no need to ask which school
        return rt.settings.policy
    slugs: dict[int, str] = session.info.setdefault(_SLUGS, {})
    if school_id not in slugs:
        slugs[school_id] = school_store.slug_of(session, school_id)
    return own.get(slugs[school_id], rt.settings.policy)
