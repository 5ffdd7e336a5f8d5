"""The school calendar as data: add, change, remove and list periods (terms, holidays,
INSET days, exam seasons, freezes), import them from a CSV or an ICS file, and build the
SchoolCalendar every school-day computation reads."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session

from .. import security_log
from ..domain import limits
from ..domain.calendar import (
    DEFAULT_EFFECT,
    EFFECTS,
    KINDS,
    AcrossSchools,
    Period,
    SchoolCalendar,
    local_midnight,
    whole_days,
)
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.maintenance_windows import MaintenanceWindow
from ..domain.roles import ADMIN
from ..domain.text import one_line_problem
from ..persistence import audit_store, calendar_store, school_store
from .common import load_actor, unit_of_work
from .runtime import Runtime

MAX_IMPORT_ROWS = limits.CALENDAR_IMPORT_ROWS
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")


def publish_time(rt: Runtime) -> time:
    hours, minutes = rt.settings.notices.publish_time.split(":")
    return time(int(hours), int(minutes))


_CALENDARS = "fitsflow.calendars"  # session.info: each school's calendar, read once per transaction


def school_calendar(rt: Runtime, session: Session, school_id: int | None = None) -> SchoolCalendar:
    """A school's calendar in force — the trust's periods, the school's own and the bank
    holidays of its nation — read in the caller's transaction (once: a worker's sweep over
    many changes reads each school's once). None: the trust's periods alone."""
    kept: dict[int | None, SchoolCalendar] = session.info.setdefault(_CALENDARS, {})
    if school_id not in kept and school_id is not None and school_id != school_store.FIRST:
        reach = school_store.reach(session, school_id)
        if reach != (school_id,):  # a trust-wide change's: every school it affects, as one
            kept[school_id] = AcrossSchools([school_calendar(rt, session, sid) for sid in reach])
    if school_id not in kept:
        nation: str = rt.settings.school.nation  # the first school's: the installation's own
        if school_id is not None and school_id != school_store.FIRST:
            nation = school_store.nation_of(session, school_id) or nation
        kept[school_id] = SchoolCalendar(calendar_store.periods_of(session, school_id), nation=nation,
                                         tz=rt.timezone, publish_time=publish_time(rt))
    return kept[school_id]


def timing_problem(rt: Runtime, school: SchoolCalendar, window_start: datetime, at: datetime,
                   agreed: MaintenanceWindow | None = None) -> str:
    """Why a window is too soon ("" when it is not): it has started, or the shortest notice
    lead time would need a notice published before today — inside an ``agreed`` maintenance
    window, its own notice instead (none at all: only that it is still ahead)."""
    tz = rt.timezone
    if window_start <= at:
        return f"the window starts in the past ({window_start.astimezone(tz):%a %d %b %Y %H:%M})"
    if agreed is not None and agreed.notice_days == 0:
        return ""
    shortest = min((a.lead_days for a in rt.roles.audiences.values()), default=0)
    if agreed is not None:  # the window's own notice, never more than the audiences' would ask
        shortest = min(shortest, agreed.notice_days)
    first = school.publish_moment(window_start, shortest)
    if first.astimezone(tz).date() < at.astimezone(tz).date():
        lead = f"the notice of the maintenance window “{agreed.title}”" if agreed is not None \
            else "the shortest notice lead time"
        return (f"the window leaves less than {lead} ({shortest} school days): "
                f"the first notice would have gone out on {first.astimezone(tz):%a %d %b %Y}")
    return ""


def calendar_now(rt: Runtime) -> SchoolCalendar:
    with rt.db.read() as session:
        return school_calendar(rt, session)


def _when(rt: Runtime, text: str, field: str, *, end: bool,
          problems: dict[str, str]) -> datetime | None:
    """A day (YYYY-MM-DD: the whole day) or a local time (YYYY-MM-DDTHH:MM) as an instant."""
    text = (text or "").strip()
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            if not limits.FIRST_YEAR <= day.year <= limits.LAST_YEAR:
                raise ValueError
            return whole_days(day, day, rt.timezone)[1 if end else 0]
        if _DATETIME.match(text):
            moment = datetime.fromisoformat(text.replace(" ", "T"))
            if not limits.FIRST_YEAR <= moment.year <= limits.LAST_YEAR:
                raise ValueError
            return moment.replace(tzinfo=rt.timezone)
    except ValueError:
        pass
    problems[field] = "must be a date (YYYY-MM-DD) or a local time (YYYY-MM-DDTHH:MM) from 2000 to 2100"
    return None


def _one_line(value: str, field: str, maximum: int, problems: dict[str, str], *, required: bool) -> str:
    value = (value or "").strip()
    problem = one_line_problem(value, maximum, required=required)
    if problem:
        problems[field] = problem
    return value


def parse_period(rt: Runtime, *, kind: str, title: str, start: str, end: str, effect: str = "",
                 reason: str = "") -> Period:
    """Validate one period; InvalidInput names each bad field. A date means the whole day;
    the end day is included."""
    problems: dict[str, str] = {}
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        problems["kind"] = f"must be one of: {', '.join(KINDS)}"
    title = _one_line(title, "title", limits.TITLE, problems, required=True)
    reason = _one_line(reason, "reason", limits.PERIOD_REASON, problems, required=False)
    effect = (effect or "").strip().lower() or DEFAULT_EFFECT.get(kind, "info")
    if effect not in EFFECTS:
        problems["effect"] = f"must be one of: {', '.join(EFFECTS)}"
    starts = _when(rt, start, "start", end=False, problems=problems)
    ends = _when(rt, end or start, "end", end=True, problems=problems)
    if starts is not None and ends is not None and ends <= starts:
        problems["end"] = "must be after the start"
    if problems:
        raise InvalidInput(problems)
    assert starts is not None and ends is not None
    return Period(0, kind, title, starts, ends, effect, reason)


def _admin(rt: Runtime, session: Session, actor_id: int | None) -> str:
    """The label of who edits the calendar: an administrator, or the command line (None)."""
    if actor_id is None:
        return "cli"
    actor = load_actor(rt, session, actor_id)
    if ADMIN not in actor.roles:
        raise NotPermitted("editing the school calendar is for administrators")
    return actor.label


def _payload(rt: Runtime, period: Period) -> dict[str, Any]:
    first, last = period.days(rt.timezone)
    return {"kind": period.kind, "title": period.title, "effect": period.effect,
            "starts_at": period.starts_at.isoformat(), "ends_at": period.ends_at.isoformat(),
            "days": f"{first.isoformat()}/{last.isoformat()}", "reason": period.reason,
            **({"school_id": period.school_id} if period.school_id is not None else {})}


def _in_school(session: Session, period: Period, school: str) -> Period:
    """The period in the calendar of the school named (its slug); "": the whole trust's."""
    if not school.strip():
        return period
    known = {row.slug: row.id for row in school_store.every(session)}
    if len(known) == 1 and school.strip() in known:
        return period  # a trust of one school: its calendar is the trust's
    if school.strip() not in known:
        raise InvalidInput({"school": f"no school {school.strip()[:40]} (known: {', '.join(sorted(known))}); "
                                      "leave it empty for the whole trust"})
    return dataclasses.replace(period, school_id=known[school.strip()])


def add_period(rt: Runtime, *, actor_id: int | None, kind: str, title: str, start: str, end: str = "",
               effect: str = "", reason: str = "", school: str = "") -> Period:
    """A period in the whole trust's calendar, or in one school's (``school``: its slug)."""
    period = parse_period(rt, kind=kind, title=title, start=start, end=end, effect=effect, reason=reason)
    with unit_of_work(rt) as session:
        label = _admin(rt, session, actor_id)
        period = _in_school(session, period, school)
        new_id = calendar_store.add(session, period, at=rt.now(), by=label)
        audit_store.append(session, actor=label, change_ref="", event_type="calendar.added",
                           payload=_payload(rt, period))
        saved = calendar_store.get(session, new_id)
    assert saved is not None
    return saved


def update_period(rt: Runtime, *, actor_id: int | None, period_id: int, kind: str, title: str, start: str,
                  end: str = "", effect: str = "", reason: str = "", school: str | None = None) -> Period:
    """``school``: move it to that school's calendar ("": the whole trust's); None: where it is."""
    period = parse_period(rt, kind=kind, title=title, start=start, end=end, effect=effect, reason=reason)
    with unit_of_work(rt) as session:
        label = _admin(rt, session, actor_id)
        before = calendar_store.get(session, period_id)
        if before is None:
            raise NotFound(f"no calendar period {period_id}")
        period = (_in_school(session, period, school) if school is not None
                  else dataclasses.replace(period, school_id=before.school_id))
        calendar_store.update(session, period_id, period)
        audit_store.append(session, actor=label, change_ref="", event_type="calendar.changed",
                           payload={"before": _payload(rt, before), "after": _payload(rt, period)})
        saved = calendar_store.get(session, period_id)
    assert saved is not None
    return saved


def delete_period(rt: Runtime, *, actor_id: int | None, period_id: int) -> None:
    with unit_of_work(rt) as session:
        label = _admin(rt, session, actor_id)
        gone = calendar_store.delete(session, period_id)
        if gone is None:
            raise NotFound(f"no calendar period {period_id}")
        audit_store.append(session, actor=label, change_ref="", event_type="calendar.removed",
                           payload=_payload(rt, gone))


def get_period(rt: Runtime, *, period_id: int) -> Period:
    with rt.db.read() as session:
        found = calendar_store.get(session, period_id)
    if found is None:
        raise NotFound(f"no calendar period {period_id}")
    return found


def page_periods(rt: Runtime, *, q: str = "", kind: str = "", start: datetime | None = None,
                 end: datetime | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Period], int]:
    """Periods in date order, optionally matching ``q`` in the title, of one kind, or
    touching the interval [start, end)."""
    if kind and kind not in KINDS:
        raise InvalidInput({"kind": f"must be one of: {', '.join(KINDS)}"})
    with rt.db.read() as session:
        return calendar_store.page(session, q=q.strip()[:limits.SEARCH], kind=kind, start=start, end=end,
                                   limit=limit, offset=offset)


def add_periods(rt: Runtime, periods: list[Period], *, actor_id: int | None, source: str,
                label: str | None = None) -> int:
    """Add several periods in one transaction (an import, the demo year)."""
    with unit_of_work(rt) as session:
        label = label if actor_id is None and label else _admin(rt, session, actor_id)
        at = rt.now()
        for period in periods:
            calendar_store.add(session, period, at=at, by=label)
        audit_store.append(session, actor=label, change_ref="", event_type="calendar.imported",
                           payload={"source": source[:200], "periods": len(periods)})
    security_log.event("calendar.imported", by=label, periods=len(periods))
    return len(periods)


_CSV_HEADERS = {"kind": "kind", "type": "kind", "title": "title", "name": "title", "summary": "title",
                "start": "start", "from": "start", "starts": "start", "end": "end", "to": "end",
                "ends": "end", "effect": "effect", "reason": "reason"}


def import_csv(rt: Runtime, *, text: str, actor_id: int | None) -> int:
    """Import periods from a CSV (columns kind, title, start, end, effect, reason): every
    row or none; each bad line is named."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput({"file": "is empty"}) from None
    columns = {_CSV_HEADERS.get(h.strip().lower()): i for i, h in enumerate(header)}
    missing = [c for c in ("kind", "title", "start") if c not in columns]
    if missing:
        raise InvalidInput({"line 1": f"missing column {', '.join(missing)} "
                                      "(expected: kind, title, start, end, effect, reason)"})
    problems: dict[str, str] = {}
    periods: list[Period] = []
    for row in reader:
        if not any(c.strip() for c in row):
            continue
        if len(periods) + len(problems) >= MAX_IMPORT_ROWS:
            problems["file"] = f"has more than {MAX_IMPORT_ROWS} rows"
            break

        def cell(key: str, row: list[str] = row) -> str:
            index = columns.get(key)
            return row[index] if index is not None and index < len(row) else ""

        try:
            periods.append(parse_period(rt, kind=cell("kind"), title=cell("title"), start=cell("start"),
                                        end=cell("end"), effect=cell("effect"), reason=cell("reason")))
        except InvalidInput as err:
            problems[f"line {reader.line_num}"] = "; ".join(f"{k} {v}" for k, v in err.problems.items())
    if problems:
        raise InvalidInput(problems)
    if not periods:
        raise InvalidInput({"file": "has no periods"})
    return add_periods(rt, periods, actor_id=actor_id, source="csv")


# Words in an event's summary that say what kind of period a term-dates feed means.
_ICS_KINDS: tuple[tuple[str, str], ...] = (
    ("half term", "half_term"), ("half-term", "half_term"), ("inset", "inset"), ("training day", "inset"),
    ("staff development", "inset"), ("mock", "mocks"), ("exam", "exams"), ("holiday", "holiday"),
    ("break", "holiday"), ("closed", "holiday"), ("term", "term"))


def kind_from_summary(summary: str) -> str:
    lowered = summary.lower()
    return next((kind for word, kind in _ICS_KINDS if word in lowered), "event")


def _ics_instant(rt: Runtime, value: Any) -> datetime:
    """A DTSTART/DTEND as an instant: a day is its local midnight (a day event's DTEND is
    already the day after), a floating time is in the school's zone."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=rt.timezone) if value.tzinfo is None else value
    if isinstance(value, date):
        return local_midnight(value, rt.timezone)
    raise ValueError("has a DTSTART or DTEND that is not a date")


def import_ics(rt: Runtime, *, data: bytes, actor_id: int | None, kind: str = "") -> int:
    """Import the events of an ICS file (term dates as local authorities and MIS systems
    publish them). Each event's kind comes from ``kind`` or its summary ("Autumn term",
    "October half term", "INSET day", "Christmas holiday"…); every event or none."""
    from icalendar import Calendar

    if kind and kind not in KINDS:
        raise InvalidInput({"kind": f"must be one of: {', '.join(KINDS)}"})
    try:
        parsed = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as err:
        raise InvalidInput({"file": f"is not an iCalendar (ICS) file: {str(err)[:200]}"}) from None
    problems: dict[str, str] = {}
    periods: list[Period] = []
    for number, event in enumerate(_events(parsed), start=1):
        summary = str(event.get("SUMMARY", "")).strip()
        where = f"event {number}" + (f" ({summary[:60]})" if summary else "")
        try:
            start_value = event.decoded("DTSTART")
            if "DTEND" in event:
                end_value = event.decoded("DTEND")
            elif "DURATION" in event:
                end_value = start_value + event.decoded("DURATION")
            elif isinstance(start_value, datetime):
                raise ValueError("has a start time but no end (DTEND or DURATION)")
            else:
                end_value = start_value + timedelta(days=1)
            starts = _ics_instant(rt, start_value)
            ends = _ics_instant(rt, end_value)
        except (KeyError, ValueError, TypeError) as err:
            usable = isinstance(err, ValueError) and str(err)
            problems[where] = str(err) if usable else "has no usable DTSTART"
            continue
        the_kind = kind or kind_from_summary(summary)
        local_problems: dict[str, str] = {}
        title = _one_line(summary, "title", limits.TITLE, local_problems, required=True)
        if ends <= starts:
            local_problems["end"] = "is not after the start"
        if not limits.FIRST_YEAR <= starts.year <= limits.LAST_YEAR:
            local_problems["start"] = "is not from 2000 to 2100"
        if local_problems:
            problems[where] = "; ".join(f"{k} {v}" for k, v in local_problems.items())
            continue
        periods.append(Period(0, the_kind, title, starts, ends, DEFAULT_EFFECT.get(the_kind, "info")))
        if len(periods) > MAX_IMPORT_ROWS:
            raise InvalidInput({"file": f"has more than {MAX_IMPORT_ROWS} events"})
    if problems:
        raise InvalidInput(problems)
    if not periods:
        raise InvalidInput({"file": "has no events"})
    return add_periods(rt, periods, actor_id=actor_id, source="ics")


def _events(parsed: Any) -> Iterable[Any]:
    return [c for c in parsed.walk() if c.name == "VEVENT"]
