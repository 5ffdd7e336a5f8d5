"""The school calendar: terms, holidays, INSET days, exam seasons and other freezes, and
bank holidays for the school's nation — and what follows from them: which days are
school days, when a notice is published, which periods a release window falls in.
Pure: the periods and bank holidays are handed in."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

# Kinds of period. Terms hold the school days; half-terms, holidays and INSET days are
# not school days (no pupils: notices wait for the next school day).
KINDS: tuple[str, ...] = ("term", "half_term", "holiday", "inset", "exams", "mocks", "freeze", "event")
KIND_TITLES = {"term": "Term", "half_term": "Half-term", "holiday": "Holiday", "inset": "INSET day",
               "exams": "Exam season", "mocks": "Mock exams", "freeze": "Change freeze", "event": "Event"}
NOT_SCHOOL_DAYS = frozenset({"half_term", "holiday", "inset"})
# What a period does to changes whose window overlaps it.
EFFECTS: tuple[str, ...] = ("freeze", "caution", "info")
DEFAULT_EFFECT = {"exams": "freeze", "mocks": "caution", "freeze": "freeze"}
NATIONS = {"england": "ENG", "wales": "WLS", "scotland": "SCT", "northern_ireland": "NIR"}


@dataclass(frozen=True)
class Period:
    id: int
    kind: str
    title: str
    starts_at: datetime  # aware; the end is exclusive
    ends_at: datetime
    effect: str
    reason: str = ""
    school_id: int | None = None  # one school's; None: the whole trust's

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.starts_at < end and start < self.ends_at

    def days(self, tz: ZoneInfo) -> tuple[date, date]:
        """First and last local day it touches."""
        return (self.starts_at.astimezone(tz).date(),
                (self.ends_at - timedelta(microseconds=1)).astimezone(tz).date())

    def start_end_text(self, tz: ZoneInfo) -> tuple[str, str]:
        """Its start and end as typed into a form: days (the end day included) when it covers
        whole local days, otherwise local times."""
        start, end = self.starts_at.astimezone(tz), self.ends_at.astimezone(tz)
        if start.time() == end.time() == time(0):
            return start.date().isoformat(), (end.date() - timedelta(days=1)).isoformat()
        return start.strftime("%Y-%m-%dT%H:%M"), end.strftime("%Y-%m-%dT%H:%M")

    def describe(self, tz: ZoneInfo) -> str:
        """“GCSE summer series” (Mon 11 May – Fri 26 Jun 2026)."""
        first, last = self.days(tz)
        span = _day(first) if first == last else f"{_day(first)} – {_day(last)}"
        return f"“{self.title}” ({span})"


def _day(d: date) -> str:
    return d.strftime("%a %d %b %Y").replace(" 0", " ")


# Bank holidays worked out before this process started (see know_bank_holidays).
_KNOWN: dict[tuple[str, int], Mapping[date, str]] = {}


@cache
def bank_holidays(nation: str, year: int) -> Mapping[date, str]:
    """The nation's bank holidays in ``year`` (from the ``holidays`` package)."""
    known = _KNOWN.get((nation, year))
    if known is not None:
        return known
    import holidays

    found = holidays.country_holidays("GB", subdiv=NATIONS[nation], years=[year])
    return dict(found.items())


def bank_holiday_table(years: Iterable[int]) -> dict[tuple[str, int], Mapping[date, str]]:
    """Every nation's bank holidays in ``years``, keyed by (nation, year)."""
    return {(nation, year): bank_holidays(nation, year) for nation in NATIONS for year in years}


def know_bank_holidays(table: Mapping[tuple[str, int], Mapping[date, str]]) -> None:
    """Answer from ``table`` (made by bank_holiday_table, perhaps in another process) for its
    years. The package imports every country's rules to give one country's: 12 MB in each
    process that asks, where a table of the years around today is a few kilobytes. Another
    year still asks the package."""
    _KNOWN.update(table)
    bank_holidays.cache_clear()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def academic_year_start(today: date) -> date:
    """1 September of the school year ``today`` is in (reports default to the year so far)."""
    return date(today.year if today.month >= 9 else today.year - 1, 9, 1)


def whole_days(first: date, last: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a period from ``first`` to ``last`` (inclusive, local days) covers."""
    return local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)


class SchoolCalendar:
    """Answers about days and windows. Without any terms entered, every Monday–Friday
    that is not a bank holiday, holiday, half-term or INSET day is a school day; with
    terms, only days inside a term are."""

    def __init__(self, periods: Iterable[Period], *, nation: str, tz: ZoneInfo, publish_time: time):
        self.periods = tuple(sorted(periods, key=lambda p: (p.starts_at, p.id)))
        self.nation, self.tz, self.publish_time = nation, tz, publish_time
        self._terms = [p.days(tz) for p in self.periods if p.kind == "term"]
        self._closed = [p.days(tz) for p in self.periods if p.kind in NOT_SCHOOL_DAYS]

    def bank_holiday(self, day: date) -> str | None:
        return bank_holidays(self.nation, day.year).get(day)

    def is_school_day(self, day: date) -> bool:
        if day.weekday() >= 5 or self.bank_holiday(day):
            return False
        if any(first <= day <= last for first, last in self._closed):
            return False
        return not self._terms or any(first <= day <= last for first, last in self._terms)

    def school_day_on_or_before(self, day: date) -> date:
        for _ in range(400):  # a year and more of closure would be a calendar error
            if self.is_school_day(day):
                return day
            day -= timedelta(days=1)
        return day

    def school_days_before(self, day: date, count: int) -> date:
        """The school day ``count`` school days before the school day ``day``."""
        for _ in range(count):
            day = self.school_day_on_or_before(day - timedelta(days=1))
        return day

    def school_days_after(self, moment: datetime, count: int) -> datetime:
        """The start of the school day ``count`` school days after ``moment``."""
        day = moment.astimezone(self.tz).date()
        for _ in range(400 * max(count, 1)):  # past the last term entered no day is a school day
            if count <= 0:
                break
            day += timedelta(days=1)
            if self.is_school_day(day):
                count -= 1
        return self.day_start(day)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, self.publish_time, self.tz)

    def window_day(self, window_start: datetime) -> date:
        """The school day whose morning announces a window: its own day when it is a school
        day and the window starts after the school day begins; otherwise the school day
        before (an evening, a weekend or a holiday)."""
        local = window_start.astimezone(self.tz)
        day = local.date()
        if self.is_school_day(day) and local.time() >= self.publish_time:
            return day
        return self.school_day_on_or_before(day - timedelta(days=1))

    def publish_moment(self, window_start: datetime, lead_days: int) -> datetime:
        """When a notice with this lead time (in school days) is published: at the start of
        the school day ``lead_days`` school days before the window's school day."""
        return self.day_start(self.school_days_before(self.window_day(window_start), lead_days))

    def overlapping(self, start: datetime, end: datetime, effects: Iterable[str]) -> list[Period]:
        wanted = set(effects)
        return [p for p in self.periods if p.effect in wanted and p.overlaps(start, end)]

    def in_range(self, start: datetime, end: datetime) -> list[Period]:
        return [p for p in self.periods if p.overlaps(start, end)]

    def term_of(self, moment: datetime) -> int | None:
        """The id of the term holding ``moment`` (None: in none); 0 when no terms are entered,
        so every moment is in the same one."""
        terms = [p for p in self.periods if p.kind == "term"]
        if not terms:
            return 0
        return next((p.id for p in terms if p.starts_at <= moment < p.ends_at), None)

    def same_term(self, one: datetime, other: datetime) -> bool:
        return self.term_of(one) == self.term_of(other)


class AcrossSchools(SchoolCalendar):
    """The calendars of the schools a trust-wide change affects, as one: a day is a school
    day only where it is one in every school; every school's periods (its freezes, exam
    weeks, closures) hold for the change; a bank holiday of any school's nation is one."""

    def __init__(self, calendars: Sequence[SchoolCalendar]):
        first = calendars[0]
        seen: dict[int, Period] = {}
        for cal in calendars:
            seen.update((p.id, p) for p in cal.periods)
        super().__init__(seen.values(), nation=first.nation, tz=first.tz, publish_time=first.publish_time)
        self.calendars = tuple(calendars)

    def bank_holiday(self, day: date) -> str | None:
        return next((name for cal in self.calendars if (name := cal.bank_holiday(day))), None)

    def is_school_day(self, day: date) -> bool:
        return all(cal.is_school_day(day) for cal in self.calendars)

    def same_term(self, one: datetime, other: datetime) -> bool:
        return all(cal.same_term(one, other) for cal in self.calendars)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day: 31
    August + 6 months is 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))
