"""The demo school's academic year: an English year shaped like a local authority's term
dates (terms, half-terms, holidays, INSET days), the summer GCSE and A-level series, mocks
and a start-of-year freeze — for the academic year holding ``today``, so a try-out on any
day shows a calendar around it. Bank holidays come from the ``holidays`` package."""

from __future__ import annotations

from datetime import date, timedelta


def _monday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7)


def _monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _friday_on_or_before(day: date) -> date:
    return day - timedelta(days=(day.weekday() - 4) % 7)


def academic_years(today: date) -> list[dict[str, str]]:
    """The academic year holding ``today`` with the one before and the one after, so the
    demo's past releases and next windows always fall inside entered terms."""
    y = today.year if today >= _monday_on_or_after(date(today.year, 9, 1)) else today.year - 1
    return [row for year in (y - 1, y, y + 1) for row in academic_year(year)]


def academic_year(y: int) -> list[dict[str, str]]:
    """The academic year starting in September of ``y``, as periods as ``calendar.add_period``
    takes them (kind, title, start, end, effect, reason)."""
    autumn = _monday_on_or_after(date(y, 9, 1))
    autumn_end = _friday_on_or_before(date(y, 12, 20))
    october = _monday_of(date(y, 10, 25))
    spring = _monday_on_or_after(date(y + 1, 1, 3))
    february = _monday_of(date(y + 1, 2, 15))
    spring_end = _friday_on_or_before(date(y + 1, 3, 28))
    summer = spring_end + timedelta(days=17)
    may = _monday_of(date(y + 1, 5, 28))
    summer_end = _friday_on_or_before(date(y + 1, 7, 22))
    exams = _monday_on_or_after(date(y + 1, 5, 8))
    exams_end = _friday_on_or_before(date(y + 1, 6, 24))
    mocks = spring + timedelta(days=7)
    label = f"{y}/{str(y + 1)[2:]}"

    def period(kind: str, title: str, first: date, last: date, effect: str = "",
               reason: str = "") -> dict[str, str]:
        return {"kind": kind, "title": title, "start": first.isoformat(), "end": last.isoformat(),
                "effect": effect, "reason": reason}

    return [
        period("term", f"Autumn term {label}", autumn, autumn_end),
        period("inset", "INSET day: start of year", autumn, autumn),
        period("freeze", "First week of the school year", autumn, autumn + timedelta(days=4),
               reason="New pupils, new timetables and new staff accounts: nothing else changes"),
        period("half_term", "October half-term", october, october + timedelta(days=4)),
        period("holiday", "Christmas holiday", autumn_end + timedelta(days=3), spring - timedelta(days=1)),
        period("term", f"Spring term {label}", spring, spring_end),
        period("inset", "INSET day: spring", spring, spring),
        period("mocks", "Year 11 and Year 13 mocks", mocks, mocks + timedelta(days=11),
               reason="Exam halls and laptops in use; invigilators rely on the network"),
        period("half_term", "February half-term", february, february + timedelta(days=4)),
        period("holiday", "Easter holiday", spring_end + timedelta(days=3), summer - timedelta(days=1)),
        period("term", f"Summer term {label}", summer, summer_end),
        period("exams", "GCSE and A-level summer series", exams, exams_end,
               reason="JCQ exams: no change to the network, exam PCs, MIS or printing"),
        period("half_term", "May half-term", may, may + timedelta(days=4)),
        period("inset", "INSET day: end of year", summer_end, summer_end),
        period("holiday", "Summer holiday", summer_end + timedelta(days=3), _monday_on_or_after(
            date(y + 1, 9, 1)) - timedelta(days=1)),
    ]
