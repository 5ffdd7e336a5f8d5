"""Planned maintenance as staff see it: the releases coming, when, which services and what to
expect — for everyone signed in (a teacher could not see the schedule at all), without cost,
risk, requesters or approvals — with the routine work recurrences will raise on their days
(issue 25.6) and the maintenance windows agreed for each service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session

from ..domain import recurrence as recurrence_rules
from ..domain.calendar import local_midnight
from ..domain.vocabulary import LIVE_RELEASE_KINDS, STATE_KINDS
from ..persistence import feed_store, recurrence_store, school_scope, window_store
from . import calendar
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
    routine: bool = False  # recurring routine work on its day (not yet scheduled as a release)


def planned(rt: Runtime, *, actor_id: int | None, start: date | None = None,
            days: int = DAYS, schools: frozenset[int] | None = None) -> list[Planned]:
    """The releases scheduled (or under way) with a window touching [start, start + days),
    by start, of the person's schools. ``actor_id=None``: a calendar feed's owner, already
    checked, who sees ``schools`` (None: every school)."""
    zone = rt.timezone
    start = start or rt.today()
    with rt.db.read() as session:
        if actor_id is not None:
            schools = load_actor(rt, session, actor_id).schools  # signed in and active: that is all it takes
        else:
            school_scope.limit_to(session, schools)
        rows = feed_store.maintenance(session, since=local_midnight(start, zone),
                                      until=local_midnight(start + timedelta(days=days), zone),
                                      states=rt.workflows.states_of_kind(*LIVE_RELEASE_KINDS))
        routine = _routine(rt, session, schools, start, start + timedelta(days=days - 1))
    found = [Planned(r.title, r.window_start.astimezone(zone), r.window_end.astimezone(zone),
                     tuple(s for s in (r.services or "").split("\n") if s), r.effect.strip(),
                     r.contact.strip(), r.sequence > 1, r.ref, r.sequence, r.updated_at) for r in rows]
    return sorted(found + routine, key=lambda p: (p.starts, p.ref))


def _routine(rt: Runtime, session: Session, schools: frozenset[int] | None, first: date,
             last: date) -> list[Planned]:
    """Recurring routine work whose days fall in [first, last]: each occurrence not yet a
    scheduled release (those are listed as releases) nor withdrawn."""
    zone = rt.timezone
    recurrences = recurrence_store.active_of(session, schools)
    # An occurrence moved to the next school day was planned up to a holiday's length before.
    raised = recurrence_store.raised_between(session, [r.id for r, _ in recurrences if r.id is not None],
                                             first - timedelta(days=30), last)
    # Raised and at a state with a part to play: listed as its release, past, or called off.
    shown = set(rt.workflows.states_of_kind(*STATE_KINDS))
    out: list[Planned] = []
    for row, services in recurrences:
        assert row.id is not None
        school = calendar.school_calendar(rt, session, row.school_id)
        hour, minute = map(int, row.starts.split(":"))
        since = max(row.first_day, first - timedelta(days=30))
        for occurrence in recurrence_rules.occurrences(row.rule, since, last, school, row.on_closed,
                                                       row.first_day):
            if occurrence.on is None or not first <= occurrence.on <= last:
                continue
            key = (row.id, occurrence.planned)
            if key in raised and (raised[key] is None or raised[key] in shown):
                continue  # merged or skipped, listed as its release, or settled
            begins = datetime.combine(occurrence.on, time(hour, minute), zone)
            out.append(Planned(row.title, begins, begins + timedelta(minutes=row.minutes),
                               tuple(s for s in services.split("\n") if s), "Routine maintenance", "", False,
                               f"REC-{row.id}-{occurrence.planned.isoformat()}", 0, row.created_at, True))
    return out


@dataclass(frozen=True)
class Window:
    title: str
    described: str  # "Network: Thursday 16:00–20:00 in term (Wi-Fi)"


def windows(rt: Runtime, *, actor_id: int) -> list[Window]:
    """The maintenance windows agreed for the person's schools: when routine work may happen."""
    with rt.db.read() as session:
        actor = load_actor(rt, session, actor_id)
        return [Window(w.title, w.describe()) for w in window_store.every(session, schools=actor.schools)]
