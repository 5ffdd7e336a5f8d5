"""Maintenance windows: recurring slots agreed for routine work on a service ("Thursdays
16:00–20:00 in term, any weekday 08:00–16:00 in the holidays"). A standard change whose
release window lies inside one needs only the window's own notice, not every audience's
lead time: the school agreed the slot once, so each use is not news. Pure rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .calendar import SchoolCalendar

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Which days of the year a window holds on: school days (in term), the days that are not
# (holidays, half-terms, INSET days — weekends too, when its weekdays name them), or both.
WHEN = ("term", "holidays", "always")
NOTICE_DAYS_MAX = 20
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    title: str
    service: str  # a catalogue service's name; "": every service
    weekdays: tuple[int, ...]  # 0 = Monday
    starts: time
    ends: time  # after starts, the same day
    when: str  # one of WHEN
    notice_days: int  # school days of notice a standard change inside it gives its audiences
    school_id: int | None = None  # None: the trust's, for every school

    def holds_on(self, day: date, school: SchoolCalendar) -> bool:
        if day.weekday() not in self.weekdays:
            return False
        if self.when == "always":
            return True
        return school.is_school_day(day) == (self.when == "term")

    def covers(self, start: datetime, end: datetime, school: SchoolCalendar, tz: ZoneInfo) -> bool:
        """Whether [start, end) lies inside one of its occurrences (one day's slot)."""
        first, last = start.astimezone(tz), end.astimezone(tz)
        return (first < last and first.date() == last.date() and self.holds_on(first.date(), school)
                and self.starts <= first.time() and last.time() <= self.ends)

    def describe(self) -> str:
        days = ", ".join(WEEKDAYS[d].capitalize() for d in self.weekdays)
        when = {"term": "in term", "holidays": "out of term", "always": "all year"}[self.when]
        service = self.service or "every service"
        return f"{self.title}: {days} {self.starts:%H:%M}–{self.ends:%H:%M} {when} ({service})"

    def occurrences(self, school: SchoolCalendar, tz: ZoneInfo, first: date,
                    days: int) -> Iterator[tuple[datetime, datetime]]:
        """Its slots from ``first`` for ``days`` days, as (start, end) in the school's zone."""
        for n in range(days):
            day = first + timedelta(days=n)
            if self.holds_on(day, school):
                yield datetime.combine(day, self.starts, tz), datetime.combine(day, self.ends, tz)


def covering(windows: Iterable[MaintenanceWindow], services: Sequence[str], start: datetime, end: datetime,
             school: SchoolCalendar, tz: ZoneInfo) -> MaintenanceWindow | None:
    """The window a release [start, end) on ``services`` lies inside, for every one of its
    services (a window for "" covers every service); the one asking the least notice."""
    wanted = {s.lower() for s in services}
    found = [w for w in windows if w.covers(start, end, school, tz)]
    for window in sorted(found, key=lambda w: (w.notice_days, w.id)):
        named = {w.service.lower() for w in found if w.notice_days <= window.notice_days}
        if "" in named or (wanted and wanted <= named):
            return window
    return None


def parse(*, title: str, service: str, weekdays: str | Sequence[str], starts: str, ends: str, when: str,
          notice_days: int | str) -> tuple[dict[str, str], MaintenanceWindow | None]:
    """A window from its fields, or the problems by field."""
    problems: dict[str, str] = {}
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        problems["title"] = "give it a name of up to 200 characters (e.g. Thursday twilight)"
    names = [d.strip().lower()[:3] for d in (weekdays.split(",") if isinstance(weekdays, str) else weekdays)
             if d and d.strip()]
    days = sorted({WEEKDAYS.index(d) for d in names if d in WEEKDAYS})
    if not days or len(days) != len(set(names)):
        problems["weekdays"] = f"name the days it holds on, from: {', '.join(WEEKDAYS)}"
    times: list[time] = []
    for key, value in (("starts", starts), ("ends", ends)):
        match = _TIME.match((value or "").strip())
        if match is None:
            problems[key] = "a time of day as HH:MM (24-hour), e.g. 16:00"
        else:
            times.append(time(int(match.group(1)), int(match.group(2))))
    if len(times) == 2 and times[1] <= times[0]:
        problems["ends"] = "must be after it starts, the same day"
    if when not in WHEN:
        problems["when"] = f"must be one of: {', '.join(WHEN)}"
    try:
        notice = int(notice_days)
    except (TypeError, ValueError):
        notice = -1
    if not 0 <= notice <= NOTICE_DAYS_MAX:
        problems["notice_days"] = f"a whole number of school days from 0 to {NOTICE_DAYS_MAX}"
    service = (service or "").strip()
    if problems:
        return problems, None
    return {}, MaintenanceWindow(0, title, service, tuple(days), times[0], times[1], when, notice)
