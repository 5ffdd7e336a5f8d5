"""Planned maintenance as staff see it: the releases coming, when, which services and what to
expect — for everyone signed in (a teacher could not see the schedule at all), without cost,
risk, requesters or approvals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..domain.calendar import local_midnight
from ..domain.vocabulary import LIVE_RELEASE_KINDS
from ..persistence import feed_store, school_scope
from .common import load_actor
from .runtime import Runtime

DAYS = 56  # eight weeks ahead: half a term


@dataclass(frozen=True)
class Planned:
    title: str
    starts: datetime  # in the school's zone
    ends: datetime
    services: tuple[str, ...]
    effect: str  # what users will notice (the release plan's impact), or ""
    contact: str  # who to contact on the day, or ""
    moved: bool  # its window has moved since it was first planned
    ref: str  # for a calendar's UID: the same event however often it moves
    sequence: int  # raised each time the window moves (a calendar's SEQUENCE)
    stamp: datetime  # last changed


def planned(rt: Runtime, *, actor_id: int | None, start: date | None = None,
            days: int = DAYS, schools: frozenset[int] | None = None) -> list[Planned]:
    """The releases scheduled (or under way) with a window touching [start, start + days),
    by start, of the person's schools. ``actor_id=None``: a calendar feed's owner, already
    checked, who sees ``schools`` (None: every school)."""
    zone = rt.timezone
    start = start or rt.today()
    with rt.db.read() as session:
        if actor_id is not None:
            load_actor(rt, session, actor_id)  # signed in and active: that is all it takes
        else:
            school_scope.limit_to(session, schools)
        rows = feed_store.maintenance(session, since=local_midnight(start, zone),
                                      until=local_midnight(start + timedelta(days=days), zone),
                                      states=rt.workflows.states_of_kind(*LIVE_RELEASE_KINDS))
    return [Planned(r.title, r.window_start.astimezone(zone), r.window_end.astimezone(zone),
                    tuple(s for s in (r.services or "").split("\n") if s), r.effect.strip(),
                    r.contact.strip(), r.sequence > 1, r.ref, r.sequence, r.updated_at) for r in rows]
