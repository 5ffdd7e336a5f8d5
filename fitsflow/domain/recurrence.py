"""Recurring routine work: a standard-change template raised again and again — monthly on
the first Tuesday (an iCalendar RRULE), or on a school day of every term ("termly") — each
occurrence its own change. An occurrence that falls on a day that is not a school day is
skipped, or moved to the next school day, as the recurrence says. Pure rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from .calendar import SchoolCalendar

ON_CLOSED = ("skip", "next_school_day")
_TERMLY = re.compile(r"^termly(?::([1-9][0-9]?))?$")
_FREQUENCIES = {DAILY: "daily", WEEKLY: "weekly", MONTHLY: "monthly", YEARLY: "yearly"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
# The parts of an RRULE a recurrence may have: no COUNT or UNTIL (a recurrence runs until it
# is stopped, and every reading of it is bounded by the days asked for), an INTERVAL of 1 to 52.
_PART = re.compile(r"^(FREQ|INTERVAL|BYDAY|BYMONTHDAY|BYMONTH|BYSETPOS|BYWEEKNO|BYYEARDAY|WKST)"
                   r"=([A-Z0-9,+-]{1,60})$")
MAX_AHEAD = 60  # days ahead an occurrence may be raised


@dataclass(frozen=True)
class Occurrence:
    planned: date  # the day the rule names
    on: date | None  # the school day it happens on; None: skipped (not a school day)


def rule_problem(rule: str, first: date) -> str:
    """Why ``rule`` is not a rule a recurrence may have ("" when it is)."""
    rule = rule.strip()
    if _TERMLY.match(rule):
        return ""
    if not rule.upper().startswith("FREQ="):
        return ("an iCalendar RRULE (FREQ=MONTHLY;BYDAY=1TU: the first Tuesday of each month) or termly[:N] "
                "(the Nth school day of each term)")
    parts = [_PART.match(part) for part in rule.upper().split(";")]
    if len(rule) > 300 or not all(parts):
        return ("not a rule: use FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, BYWEEKNO, BYYEARDAY "
                "and WKST (a recurrence runs until it is stopped: no COUNT or UNTIL)")
    interval = next((m.group(2) for m in parts if m and m.group(1) == "INTERVAL"), "1")
    if not interval.isdigit() or not 1 <= int(interval) <= 52:
        return "INTERVAL must be a whole number from 1 to 52"
    try:
        parsed = rrulestr(rule, dtstart=datetime.combine(first, time()))
    except (ValueError, TypeError, OverflowError) as err:
        return f"not a rule: {str(err)[:120]}"
    if not isinstance(parsed, rrule) or parsed._freq not in _FREQUENCIES:
        return "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"
    try:
        found = _between(parsed, first, first + timedelta(days=2 * 366))
    except (ValueError, TypeError, OverflowError, IndexError, KeyError) as err:  # dateutil's, on odd parts
        return f"not a rule: {str(err)[:120]}"
    return "" if found else "it names no day in the two years from its first day"


def _between(parsed: rrule, first: date, until: date) -> list[date]:
    # Bounded by its own UNTIL, so a rule that names no day stops there rather than at year 9999.
    bounded = parsed.replace(until=datetime.combine(until, time(23, 59)))
    return [d.date() for d in bounded if d.date() >= first]


def planned_days(rule: str, first: date, until: date, school: SchoolCalendar,
                 anchor: date | None = None) -> list[date]:
    """The days ``rule`` names from ``first`` to ``until`` (both included), counted from
    ``anchor`` (the recurrence's first day: every other week stays on its weeks)."""
    termly = _TERMLY.match(rule.strip())
    if termly:
        nth = int(termly.group(1) or 1)
        found = []
        for period in school.periods:
            if period.kind != "term":
                continue
            start, last = period.days(school.tz)
            day, counted = start, 0
            while day <= last:
                if school.is_school_day(day):
                    counted += 1
                    if counted == nth:
                        if first <= day <= until:
                            found.append(day)
                        break
                day += timedelta(days=1)
        return sorted(set(found))
    parsed = rrulestr(rule.strip(), dtstart=datetime.combine(anchor or first, time()))
    assert isinstance(parsed, rrule)  # rule_problem let only a single rule through
    return _between(parsed, first, until)


def occurrences(rule: str, first: date, until: date, school: SchoolCalendar,
                on_closed: str, anchor: date | None = None) -> list[Occurrence]:
    """Each day ``rule`` names in [first, until], and the school day it happens on. Moved to
    the next school day, it merges with an occurrence already there (a weekly job over a
    fortnight's holiday is done once when school is back, not three times)."""
    out: list[Occurrence] = []
    taken: set[date] = set()
    for day in planned_days(rule, first, until, school, anchor):
        if school.is_school_day(day):
            out.append(Occurrence(day, day))
            taken.add(day)
        elif on_closed == "next_school_day":
            moved = day + timedelta(days=1)
            for _ in range(400):
                if school.is_school_day(moved):
                    break
                moved += timedelta(days=1)
            if moved in taken or moved in planned_days(rule, day + timedelta(days=1), moved, school, anchor):
                out.append(Occurrence(day, None))  # merged with the occurrence of that day
            else:
                out.append(Occurrence(day, moved))
                taken.add(moved)
        else:
            out.append(Occurrence(day, None))
    return out


def time_problem(text: str) -> str:
    return "" if _TIME.match(text.strip()) else "a time of day as HH:MM (24-hour), e.g. 07:00"
