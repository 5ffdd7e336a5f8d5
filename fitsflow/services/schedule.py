"""The forward schedule of change: releases by day with the school calendar around them
(terms, holidays, freezes) and clashes marked — the CAB's month and week views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from ..domain import limits
from ..domain.calendar import KIND_TITLES, local_midnight
from ..domain.catalogue import Catalogue
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.roles import may_view_changes
from ..domain.vocabulary import CANCELLED_RELEASE_KINDS, CATEGORIES
from ..persistence import feed_store, school_scope, service_store
from . import calendar, range_releases
from .common import load_actor
from .runtime import Runtime

MAX_DAYS = limits.SCHEDULE_DAYS


@dataclass(frozen=True)
class Release:
    ref: str
    title: str
    state: str
    state_title: str
    category: str
    window_start: datetime
    window_end: datetime
    services: tuple[str, ...]
    cancelled: bool
    clashes_with: tuple[str, ...]


@dataclass(frozen=True)
class Day:
    day: date
    school_day: bool
    notes: tuple[str, ...]  # bank holiday, holidays, terms' first/last days …
    shading: str  # freeze | caution | closed | school | weekend
    releases: tuple[Release, ...]


@dataclass(frozen=True)
class Schedule:
    start: date
    end: date  # exclusive
    days: tuple[Day, ...]
    periods: tuple[str, ...]  # freezes and cautions in range, described


def forward_schedule(rt: Runtime, *, actor_id: int | None, start: date, days: int, service: str = "",
                     state: str = "", category: str = "") -> Schedule:
    """Releases whose window touches [start, start + days), filtered by a service (and
    what depends on it or it on), a state name or a category. ``actor_id=None`` is the
    command line's operator."""
    problems: dict[str, str] = {}
    if not 1 <= days <= MAX_DAYS:
        problems["days"] = f"must be from 1 to {MAX_DAYS}"
    if category and category not in CATEGORIES:
        problems["category"] = f"must be one of: {', '.join(CATEGORIES)}"
    known_states = set(rt.workflows.state_names())
    if state and state not in known_states:
        problems["state"] = "is not a state of any loaded workflow"
    schools: frozenset[int] | None = None
    seen: tuple[int, ...] | None = None
    with rt.db.read() as session:
        if actor_id is not None:
            actor = load_actor(rt, session, actor_id)
            if not may_view_changes(actor.roles):
                raise NotPermitted("the forward schedule is for people who see changes")
            schools = actor.schools
            seen = school_scope.scope_of(session)  # the schools and the sets of them it sees
        # The trust's services and the person's schools' own (another school's own is answered
        # as one that does not exist).
        if service and service.lower() not in service_store.names(session, schools=schools):
            problems["service"] = "is not in the service catalogue"
    if problems:
        raise InvalidInput(problems)
    # Built in two parts, each kept while what it shows stands: the releases, brought up to date
    # from the range's rows kept for everyone (a decision re-reads its one change, one on another
    # month's change nothing) and built once per filter and set of schools seen (a school's
    # people never see another's releases); the days' shading and notes, per version of the
    # school calendar (the "calendar" read). A calendar edit re-shades the days and leaves the
    # releases built; a decision, the other way round.
    releases = _releases(rt, start, days, service, state, category, seen)
    # The days as the viewer's school keeps them (one school's calendar; several: the trust's).
    school = next(iter(schools)) if schools is not None and len(schools) == 1 else None
    shaded, periods = rt.cache.get(rt.db, "calendar", ("days", start, days, school),
                                   lambda: _days(rt, start, days, school))
    days_shown = tuple(Day(d.day, d.school_day, d.notes, d.shading, releases.get(d.day, ())) for d in shaded)
    return Schedule(start, start + timedelta(days=days), days_shown, periods)


def _days(rt: Runtime, start: date, days: int,
          school_id: int | None) -> tuple[tuple[Day, ...], tuple[str, ...]]:
    """Each day's school day, notes and shading (no releases), and the freezes and cautions
    in the range, described: in the calendar of ``school_id`` (None: the trust's)."""
    tz = rt.timezone
    with rt.db.read() as session:
        school = calendar.school_calendar(rt, session, school_id)
    out = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        touching = school.in_range(local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz))
        notes = [f"{KIND_TITLES[p.kind]}: {p.title}" for p in touching if p.kind != "term"]
        holiday = school.bank_holiday(day)
        if holiday:
            notes.insert(0, f"Bank holiday: {holiday}")
        effects = {p.effect for p in touching}
        school_day = school.is_school_day(day)
        shading = "freeze" if "freeze" in effects else "caution" if "caution" in effects else \
            "school" if school_day else "weekend" if day.weekday() >= 5 else "closed"
        out.append(Day(day, school_day, tuple(notes), shading, ()))
    since, until = local_midnight(start, tz), local_midnight(start + timedelta(days=days), tz)
    periods = tuple(p.describe(tz) for p in school.overlapping(since, until, ("freeze", "caution")))
    return tuple(out), periods


def _releases(rt: Runtime, start: date, days: int, service: str, state: str,
              category: str, seen: tuple[int, ...] | None) -> dict[date, tuple[Release, ...]]:
    """The releases in the range by local day (each under every day its window touches),
    filtered, their clashes found: of the schools (and sets of them) ``seen`` (None: every school)."""
    tz = rt.timezone
    since, until = local_midnight(start, tz), local_midnight(start + timedelta(days=days), tz)
    in_range = range_releases.of(rt, since, until)
    rows = in_range.current(rt, since, until)
    return in_range.built((service.lower(), state, category, seen), rows, lambda: _by_day(
        rt, rows, start, days, service, state, category, seen))


def _by_day(rt: Runtime, rows: list[range_releases.Kept], start: date, days: int, service: str, state: str,
            category: str, seen: tuple[int, ...] | None) -> dict[date, tuple[Release, ...]]:
    end = start + timedelta(days=days)
    with rt.db.read() as session:
        cat = service_store.catalogue(session)
    allowed = None if seen is None else frozenset(seen)
    cancelled = set(rt.workflows.states_of_kind(*CANCELLED_RELEASE_KINDS))
    wanted = cat.reach([service]) if service else None
    titles: dict[tuple[str, str], str] = {}
    kept = []
    for k in rows:
        r = k.row
        if (allowed is not None and r.school_id not in allowed) or (state and r.state != state) \
                or (category and r.category != category):
            continue
        if wanted is not None and not wanted & cat.ids(k.names):
            continue
        kept.append(k)
        if k.pair not in titles:
            titles[k.pair] = rt.workflows.get(r.workflow).definition.state_title(r.state)
    found = _clashes([(k.row.ref, k.row.window_start, k.row.window_end, k.names) for k in kept
                      if k.pair not in cancelled], cat)
    by_day: dict[date, list[Release]] = {}
    for k in kept[:feed_store.FEED_ROWS_MAX]:  # each release under every local day its window touches
        item = k.make(("release", titles[k.pair], k.pair in cancelled, tuple(found.get(k.row.ref, ()))),
                      _release)
        day = max(k.first, start)
        while day <= k.last and day < end:
            by_day.setdefault(day, []).append(item)
            day += timedelta(days=1)
    return {day: tuple(items) for day, items in by_day.items()}


def _release(kept: range_releases.Kept, key: tuple[Any, ...]) -> Release:
    """A kept row as the schedule shows it; ``key``: ("release", its state's title, whether
    cancelled, its clashes)."""
    _, title, cancelled, clashes = key
    r = kept.row
    return Release(r.ref, r.title, r.state, title, r.category, r.window_start, r.window_end, kept.names,
                   cancelled, clashes)


def _clashes(windows: list[tuple[str, datetime, datetime, tuple[str, ...]]], cat: Catalogue) \
        -> dict[str, list[str]]:
    """Each release (ref, start, end, services) with the others it clashes with: a sweep over
    start times compares only windows that overlap, each one's related services found once."""
    related: dict[tuple[str, ...], tuple[set[int], frozenset[int]]] = {}  # a few lists, many windows
    for _, _, _, names in windows:
        if names not in related:
            related[names] = (cat.ids(names), cat.reach(names))
    ordered = sorted(((start, end, ref, *related[names]) for ref, start, end, names in windows),
                     key=lambda w: w[0])
    found: dict[str, list[str]] = {}
    count = len(ordered)
    for i, (_, end, ref, _ids, reach) in enumerate(ordered):
        j = i + 1  # by index: a slice of the rest per window copied the whole month each time
        while j < count and ordered[j][0] < end:
            other, other_ids = ordered[j][2], ordered[j][3]
            if reach & other_ids:
                found.setdefault(ref, []).append(other)
                found.setdefault(other, []).append(ref)
            j += 1
    return found
