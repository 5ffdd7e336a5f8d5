"""A time zone as an iCalendar VTIMEZONE (RFC 5545 3.6.5) with yearly rules — "the last
Sunday of March at 01:00" — as Outlook writes it and every reader understands, derived from
the tz database. (icalendar's own block lists each change since 1970 as dates and opens with
a 1970 rule that vobject applies to every winter date, reading them an hour late.)"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Rule:
    """One yearly change of offset: in ``month``, the ``nth`` (-1: last) ``weekday`` at the
    wall-clock time ``at`` (in the offset before the change)."""

    month: int
    nth: int
    weekday: int
    at: timedelta
    before: timedelta
    after: timedelta
    name: str

    def on(self, year: int) -> date:
        days = [d for d in calendar.Calendar().itermonthdates(year, self.month)
                if d.month == self.month and d.weekday() == self.weekday]
        return days[self.nth - 1] if self.nth > 0 else days[-1]


def _changes(zone: ZoneInfo, year: int) -> list[tuple[datetime, timedelta, timedelta, str]]:
    """The moments (UTC) in ``year`` its offset changes: (moment, before, after, name after)."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        later = moment + timedelta(hours=1)
        now = later.astimezone(zone).utcoffset()
        if now != offset:
            low, high = moment, later  # to the minute (some zones change on the half hour)
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            assert offset is not None and now is not None
            found.append((high, offset, now, high.astimezone(zone).tzname() or ""))
            offset = now
        moment = later
    return found


def _rule(moment: datetime, before: timedelta, after: timedelta, name: str) -> Rule:
    wall = (moment + before).replace(tzinfo=None)
    last = wall.day + 7 > calendar.monthrange(wall.year, wall.month)[1]
    nth = -1 if last else (wall.day - 1) // 7 + 1
    return Rule(wall.month, nth, wall.weekday(), timedelta(hours=wall.hour, minutes=wall.minute),
                before, after, name)


def rules(tzid: str, year: int) -> list[Rule] | None:
    """The zone's yearly rules as of ``year``, or None when its changes follow no weekday
    rule over the next years (then only the dates themselves describe it)."""
    zone = ZoneInfo(tzid)
    found = [_rule(*change) for change in _changes(zone, year)]
    for later in range(year + 1, year + 4):
        if [_rule(*change) for change in _changes(zone, later)] != found:
            return None
    return found


def _offset(value: timedelta) -> str:
    minutes = int(value.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def vtimezone(tzid: str, year: int) -> list[str] | None:
    """The VTIMEZONE block's lines for ``tzid``, or None when no yearly rule describes it."""
    found = rules(tzid, year)
    if found is None:
        return None
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tzid}"]
    if not found:  # no daylight saving: one offset for ever
        now = datetime(year, 1, 1, tzinfo=UTC).astimezone(ZoneInfo(tzid))
        offset = _offset(now.utcoffset() or timedelta())
        return [*lines, "BEGIN:STANDARD", "DTSTART:19700101T000000", f"TZNAME:{now.tzname()}",
                f"TZOFFSETFROM:{offset}", f"TZOFFSETTO:{offset}", "END:STANDARD", "END:VTIMEZONE"]
    for rule in found:
        kind = "DAYLIGHT" if rule.after > rule.before else "STANDARD"
        start = datetime.combine(rule.on(1970), datetime.min.time()) + rule.at
        by_day = f"{rule.nth}{_DAYS[rule.weekday]}"
        lines += [f"BEGIN:{kind}", f"DTSTART:{start:%Y%m%dT%H%M%S}",
                  f"RRULE:FREQ=YEARLY;BYMONTH={rule.month};BYDAY={by_day}", f"TZNAME:{rule.name}",
                  f"TZOFFSETFROM:{_offset(rule.before)}", f"TZOFFSETTO:{_offset(rule.after)}", f"END:{kind}"]
    return [*lines, "END:VTIMEZONE"]
