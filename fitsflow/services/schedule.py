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
from . import calendar
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
    version: tuple[Any, ...] = ()  # the range's changes as they were when it was built


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
    with rt.db.read() as session:
        if actor_id is not None:
            actor = load_actor(rt, session, actor_id)
            if not may_view_changes(actor.roles):
                raise NotPermitted("the forward schedule is for people who see changes")
            schools = actor.schools
        # The trust's services and the person's schools' own (another school's own is answered
        # as one that does not exist).
        if service and service.lower() not in service_store.names(session, schools=schools):
            problems["service"] = "is not in the service catalogue"
        tz = rt.timezone
        version = feed_store.range_version(session, since=local_midnight(start, tz),
                                           until=local_midnight(start + timedelta(days=days), tz))
    if problems:
        raise InvalidInput(problems)
    # The same for everyone who may see it, built in two parts, each once per version of what
    # it shows: the releases, per version of the changes in its range (a decision on another
    # month's change leaves it) and of the catalogue (the "schedule" read); the days' shading
    # and notes, per version of the school calendar (the "calendar" read). A calendar edit
    # re-shades the days and leaves the releases built; a decision, the other way round.
    # (One build per set of schools seen: a school's people never see another's releases.)
    key = ("schedule", start, days, service.lower(), state, category, version, schools)
    releases = rt.cache.get(rt.db, "schedule", key, lambda: _releases(rt, start, days, service, state,
                                                                      category, schools))
    # The days as the viewer's school keeps them (one school's calendar; several: the trust's).
    school = next(iter(schools)) if schools is not None and len(schools) == 1 else None
    shaded, periods = rt.cache.get(rt.db, "calendar", ("days", start, days, school),
                                   lambda: _days(rt, start, days, school))
    days_shown = tuple(Day(d.day, d.school_day, d.notes, d.shading, releases.get(d.day, ())) for d in shaded)
    return Schedule(start, start + timedelta(days=days), days_shown, periods, version)


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
              category: str, schools: frozenset[int] | None) -> dict[date, tuple[Release, ...]]:
    """The releases in the range by local day (each under every day its window touches),
    filtered, their clashes found: of ``schools`` (None: every school)."""
    tz = rt.timezone
    with rt.db.read() as session:
        school_scope.limit_to(session, schools)
        cat = service_store.catalogue(session)
        since, until = local_midnight(start, tz), local_midnight(start + timedelta(days=days), tz)
        rows = feed_store.releases(session, since=since, until=until)
    cancelled = set(rt.workflows.states_of_kind(*CANCELLED_RELEASE_KINDS))
    wanted = cat.reach([service]) if service else None
    titles: dict[tuple[str, str], str] = {}
    kept = []
    for r in rows:
        if (state and r.state != state) or (category and r.category != category):
            continue
        names = tuple(s for s in (r.services or "").split("\n") if s)
        if wanted is not None and not wanted & cat.ids(names):
            continue
        kept.append((r, names))
        if (r.workflow, r.state) not in titles:
            definition = rt.workflows.get(r.workflow).definition
            titles[r.workflow, r.state] = definition.states[r.state].title if r.state in definition.states \
                else r.state
    found = _clashes([(r.ref, r.window_start, r.window_end, names) for r, names in kept
                      if (r.workflow, r.state) not in cancelled], cat)
    items = [Release(r.ref, r.title, r.state, titles[r.workflow, r.state], r.category, r.window_start,
                     r.window_end, names, (r.workflow, r.state) in cancelled, tuple(found.get(r.ref, ())))
             for r, names in kept]
    by_day: dict[date, list[Release]] = {}
    for item in items:  # each release under every local day its window touches
        day, last = item.window_start.astimezone(tz).date(), item.window_end.astimezone(tz).date()
        while day <= last and day < start + timedelta(days=days):
            by_day.setdefault(day, []).append(item)
            day += timedelta(days=1)
    starts = {day: local_midnight(day, tz) for day in by_day}
    return {day: tuple(i for i in items if i.window_end > starts[day]) for day, items in by_day.items()}


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
    for i, (_, end, ref, _ids, reach) in enumerate(ordered):
        for other_start, _, other, other_ids, _ in ordered[i + 1:]:
            if other_start >= end:
                break
            if reach & other_ids:
                found.setdefault(ref, []).append(other)
                found.setdefault(other, []).append(ref)
    return found
