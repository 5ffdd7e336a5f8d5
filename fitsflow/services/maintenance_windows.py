"""Maintenance windows: agreeing recurring slots for routine work (administrators, the
command line), listing them, and finding the next free slot for a standard change — inside
a window, clear of freezes and caution periods, of clashes, and of the window's own notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from ..domain import maintenance_windows as rules
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.maintenance_windows import MaintenanceWindow
from ..domain.roles import ADMIN
from ..persistence import audit_store, school_store, service_store, window_store
from . import calendar, catalogue, clashes, schools
from .common import load_actor, unit_of_work
from .runtime import Runtime

SEARCH_DAYS = 120  # how far ahead the next free slot is looked for
STEP_MINUTES = 15  # the starts tried inside a window


@dataclass(frozen=True)
class WindowView:
    id: int
    title: str
    service: str
    weekdays: tuple[str, ...]
    starts: str
    ends: str
    when: str
    notice_days: int
    school: str  # the school's short name whose window it is; "": the trust's
    described: str


@dataclass(frozen=True)
class Slot:
    starts: datetime
    ends: datetime
    window: str  # the maintenance window's title


def _view(window: MaintenanceWindow, slugs: dict[int, str]) -> WindowView:
    return WindowView(window.id, window.title, window.service,
                      tuple(rules.WEEKDAYS[d] for d in window.weekdays), f"{window.starts:%H:%M}",
                      f"{window.ends:%H:%M}", window.when, window.notice_days,
                      slugs.get(window.school_id or 0, ""), window.describe())


def _admin(rt: Runtime, session: Session, actor_id: int | None) -> Actor | None:
    if actor_id is None:
        return None
    actor = load_actor(rt, session, actor_id)
    if ADMIN not in actor.roles:
        raise NotPermitted("maintenance windows are agreed by administrators")
    return actor


def every(rt: Runtime, *, actor_id: int) -> list[WindowView]:
    """The windows this person's changes may use: the trust's and their schools'."""
    with rt.db.read() as session:
        actor = load_actor(rt, session, actor_id)
        slugs = {row.id: row.slug for row in school_store.every(session)}
        return [_view(w, slugs) for w in window_store.every(session, schools=actor.schools)]


def add(rt: Runtime, *, actor_id: int | None, title: str, service: str = "", weekdays: str | list[str],
        starts: str, ends: str, when: str = "term", notice_days: int | str = 0,
        school: str = "") -> WindowView:
    """Agree a window (an administrator, or the command line: ``actor_id=None``): the trust's,
    or one school's (an administrator of some schools: always one of theirs)."""
    problems, window = rules.parse(title=title, service=service, weekdays=weekdays, starts=starts, ends=ends,
                                   when=when, notice_days=notice_days)
    with unit_of_work(rt) as session:
        actor = _admin(rt, session, actor_id)
        school_id: int | None = None
        try:
            school_id = schools.owner_of_new(rt, session, actor, school)
        except InvalidInput as err:
            problems |= err.problems
        if window is not None and window.service:
            names, unknown = catalogue.canonical(session, [window.service],
                                                 [] if school_id is None else [school_id])
            if unknown:
                problems["service"] = unknown
            elif names:
                window = rules.MaintenanceWindow(0, window.title, names[0], window.weekdays, window.starts,
                                                 window.ends, window.when, window.notice_days)
        if problems or window is None:
            raise InvalidInput(problems)
        window = rules.MaintenanceWindow(0, window.title, window.service, window.weekdays, window.starts,
                                         window.ends, window.when, window.notice_days, school_id)
        label = actor.label if actor is not None else "cli"
        new_id = window_store.add(session, window, at=rt.now(), by=label)
        audit_store.append(session, actor=label, change_ref="", event_type="maintenance_window.added",
                           payload={"title": window.title, "service": window.service,
                                    "described": window.describe(), "notice_days": window.notice_days})
        saved = window_store.get(session, new_id)
        assert saved is not None
        return _view(saved, {row.id: row.slug for row in school_store.every(session)})


def remove(rt: Runtime, *, actor_id: int | None, window_id: int) -> None:
    with unit_of_work(rt) as session:
        actor = _admin(rt, session, actor_id)
        window = window_store.get(session, window_id)
        seen = actor.schools if actor is not None else None
        if window is None or (seen is not None and window.school_id not in seen):
            # Another school's, or the trust's (for an administrator of some schools): not theirs.
            if window is None or window.school_id is not None:
                raise NotFound(f"no maintenance window {window_id}")
            raise NotPermitted("the trust's maintenance windows are removed by an administrator who acts "
                               "in every school")
        window_store.remove(session, window_id)
        audit_store.append(session, actor=actor.label if actor is not None else "cli", change_ref="",
                           event_type="maintenance_window.removed",
                           payload={"title": window.title, "service": window.service})


def next_free(rt: Runtime, *, actor_id: int, services: list[str], minutes: int = 60, count: int = 3,
              school: str = "") -> list[Slot]:
    """The next ``count`` slots of ``minutes`` inside a maintenance window covering every one
    of ``services``, from its first moment that still leaves the window's notice, clear of
    freezes and caution periods and of other changes' windows on related services."""
    if not 5 <= minutes <= 24 * 60:
        raise InvalidInput({"minutes": "from 5 to 1440"})
    if not 1 <= count <= 20:
        raise InvalidInput({"count": "from 1 to 20"})
    with rt.db.read() as session:
        actor = load_actor(rt, session, actor_id)
        # One school's windows, calendar and changes: the person's only school, or the one
        # named (someone of several, or of every school in a trust, says which).
        several = school_store.count(session) > 1
        school_id = schools.for_new_change(rt, session, actor, school or None, several=False) \
            if actor.schools is not None or school or several else None
        seen = [school_id] if school_id is not None else None
        names, unknown = catalogue.canonical(session, services, seen or [])
        if unknown or not names:
            raise InvalidInput({"services": unknown or "name the services the work affects"})
        windows = window_store.every(session, schools=seen)
        cal = calendar.school_calendar(rt, session, school_id)
        tz, now, length = rt.timezone, rt.now(), timedelta(minutes=minutes)
        cat = service_store.catalogue(session)
        found: list[Slot] = []
        today = now.astimezone(tz).date()
        # Every quarter-hour inside each occurrence of the windows for these services where
        # the work fits, earliest first.
        candidates = sorted({start + timedelta(minutes=step)
                             for w in windows if w.service == "" or w.service in names
                             for start, end in w.occurrences(cal, tz, today, SEARCH_DAYS)
                             for step in range(0, int((end - start - length).total_seconds() // 60) + 1,
                                               STEP_MINUTES)})
        for start in candidates:
            if found and start < found[-1].ends:
                continue  # the slots offered do not overlap one another
            # In real time (a clock change inside the slot does not stretch or shrink it).
            end = (start.astimezone(UTC) + length).astimezone(tz)
            covering = rules.covering(windows, names, start, end, cal, tz)
            if covering is None or calendar.timing_problem(rt, cal, start, now, agreed=covering):
                continue
            if cal.overlapping(start, end, ("freeze", "caution")):
                continue
            taken = service_store.overlapping_changes(session, change_id=0, start=start, end=end,
                                                      states=clashes.standing_states(rt),
                                                      schools=tuple(seen or ()))
            if any(cat.related(names, [s for s in (row[4] or "").split("\n") if s]) for row in taken):
                continue
            found.append(Slot(start, end, covering.title))
            if len(found) == count:
                break
        return found
