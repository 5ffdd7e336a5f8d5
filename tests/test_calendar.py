"""Issue: "school days" were Monday–Friday — for a change on the first day of the spring
term staff notices went out on 28 December; after October half-term they went out in the
holiday; notices published at the window's time of day (16:00 on a Friday, 03:00 on a
Sunday). Now the school calendar decides: terms, half-terms, holidays, INSET days and the
nation's bank holidays, and notices publish at the start of a school day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from fitsflow.domain.calendar import Period, SchoolCalendar, whole_days
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.services import calendar

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

LONDON = ZoneInfo("Europe/London")


def _days(kind: str, first: str, last: str, title: str = "", effect: str = "info", pid: int = 0) -> Period:
    start, end = whole_days(date.fromisoformat(first), date.fromisoformat(last), LONDON)
    return Period(pid, kind, title or kind, start, end, effect)


ENGLAND_2026_27 = [
    _days("term", "2026-04-20", "2026-07-22", "Summer term 2026"),
    _days("term", "2026-09-02", "2026-12-18", "Autumn term"),
    _days("half_term", "2026-10-26", "2026-10-30", "October half-term"),
    _days("holiday", "2026-12-21", "2027-01-01", "Christmas holiday"),
    _days("term", "2027-01-04", "2027-03-26", "Spring term"),
    _days("inset", "2027-01-04", "2027-01-04", "INSET day"),
]
SCOTLAND_2026_27 = [
    _days("term", "2026-08-18", "2026-12-22", "First term"),
    _days("holiday", "2026-10-12", "2026-10-16", "October week"),
    _days("term", "2027-01-06", "2027-04-01", "Second term"),
]


def _cal(periods: list[Period], nation: str = "england") -> SchoolCalendar:
    return SchoolCalendar(periods, nation=nation, tz=LONDON, publish_time=time(8, 0))


def _local(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%a %d %b %Y %H:%M")


def test_lead_times_skip_the_christmas_holiday_and_an_inset_day():
    cal = _cal(ENGLAND_2026_27)
    window = datetime(2027, 1, 5, 10, 0, tzinfo=LONDON)  # first day of the spring term for pupils
    assert _local(cal.publish_moment(window, 0)) == "Tue 05 Jan 2027 08:00"
    assert _local(cal.publish_moment(window, 2)) == "Thu 17 Dec 2026 08:00"
    assert _local(cal.publish_moment(window, 5)) == "Mon 14 Dec 2026 08:00"
    assert _local(cal.publish_moment(window, 10)) == "Mon 07 Dec 2026 08:00"


def test_lead_times_skip_october_half_term_across_the_clock_change():
    cal = _cal(ENGLAND_2026_27)
    window = datetime(2026, 11, 2, 10, 0, tzinfo=LONDON)  # the Monday after half-term (GMT)
    moment = cal.publish_moment(window, 5)
    assert _local(moment) == "Mon 19 Oct 2026 08:00"
    assert moment.astimezone(UTC).hour == 7  # 08:00 BST, before the clocks went back


def test_a_bank_holiday_is_not_a_school_day():
    cal = _cal(ENGLAND_2026_27)
    window = datetime(2026, 5, 5, 10, 0, tzinfo=LONDON)  # the day after the early May bank holiday
    assert _local(cal.publish_moment(window, 2)) == "Thu 30 Apr 2026 08:00"
    assert not cal.is_school_day(date(2026, 5, 4)) and cal.bank_holiday(date(2026, 5, 4))


def test_scotland_has_its_own_terms_and_bank_holidays():
    window = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)
    scotland = _cal(SCOTLAND_2026_27, "scotland")
    england = _cal(ENGLAND_2026_27)
    # St Andrew's Day (Monday 30 November) is a bank holiday in Scotland only.
    assert _local(scotland.publish_moment(window, 2)) == "Fri 27 Nov 2026 08:00"
    assert _local(england.publish_moment(window, 2)) == "Mon 30 Nov 2026 08:00"
    # The October week in Scotland; school in England that week.
    assert not scotland.is_school_day(date(2026, 10, 14)) and england.is_school_day(date(2026, 10, 14))
    # Scotland's term starts after the 4 January New Year holiday (observed).
    assert _local(scotland.publish_moment(datetime(2027, 1, 6, 10, 0, tzinfo=LONDON), 1)) \
        == "Tue 22 Dec 2026 08:00"


def test_the_on_the_day_notice_goes_out_at_the_start_of_the_windows_school_day():
    cal = _cal(ENGLAND_2026_27)
    friday_after_school = datetime(2027, 1, 15, 16, 0, tzinfo=LONDON)
    assert _local(cal.publish_moment(friday_after_school, 0)) == "Fri 15 Jan 2027 08:00"
    saturday = datetime(2027, 1, 16, 9, 0, tzinfo=LONDON)
    assert _local(cal.publish_moment(saturday, 0)) == "Fri 15 Jan 2027 08:00"
    before_school = datetime(2027, 1, 19, 6, 30, tzinfo=LONDON)
    assert _local(cal.publish_moment(before_school, 0)) == "Mon 18 Jan 2027 08:00"
    sunday_night = datetime(2027, 1, 17, 3, 0, tzinfo=LONDON)
    assert _local(cal.publish_moment(sunday_night, 0)) == "Fri 15 Jan 2027 08:00"


def test_without_terms_weekdays_that_are_not_holidays_are_school_days():
    cal = _cal([])
    assert cal.is_school_day(date(2026, 8, 12))
    assert not cal.is_school_day(date(2026, 8, 31))  # summer bank holiday
    assert not cal.is_school_day(date(2026, 8, 15))  # a Saturday


def test_drafted_notices_follow_the_calendar_in_the_database(rt):
    for p in ENGLAND_2026_27:
        first, last = p.days(LONDON)
        calendar.add_period(rt, actor_id=None, kind=p.kind, title=p.title, start=first.isoformat(),
                            end=last.isoformat())
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "release_planning")
    from fitsflow.services import changes, notices, stages

    plan = {**f.release_plan(rt), "window_start": "2027-01-05T10:00", "window_end": "2027-01-05T12:00"}
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=plan)
    changes.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    f.approve_gate(rt, school, ref)
    changes.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    drafted = {n.audience: n for n in notices.notices_for(rt, actor_id=school.auditor, ref=ref)}
    assert _local(drafted["staff"].publish_at) == "Mon 14 Dec 2026 08:00"
    assert _local(drafted["slt"].publish_at) == "Mon 07 Dec 2026 08:00"
    assert _local(drafted["students"].publish_at) == "Tue 05 Jan 2027 08:00"


def test_periods_are_validated_and_only_admins_edit_them(sqlite_rt):
    school = f.School(sqlite_rt)
    with pytest.raises(InvalidInput) as err:
        calendar.add_period(sqlite_rt, actor_id=school.admin, kind="party", title="A\nB", start="2026-13-01",
                            end="", effect="stop")
    assert set(err.value.problems) == {"kind", "title", "start", "end", "effect"}
    with pytest.raises(InvalidInput) as err:
        calendar.add_period(sqlite_rt, actor_id=school.admin, kind="freeze", title="Backwards",
                            start="2026-05-10", end="2026-05-01")
    assert "after the start" in err.value.problems["end"]
    with pytest.raises(NotPermitted):
        calendar.add_period(sqlite_rt, actor_id=school.cab[0], kind="freeze", title="Ofsted",
                            start="2026-05-10")
    added = calendar.add_period(sqlite_rt, actor_id=school.admin, kind="exams", title="GCSE summer series",
                                start="2027-05-10", end="2027-06-25", reason="Exam halls and invigilation")
    assert added.effect == "freeze"  # exams freeze changes unless told otherwise
    assert added.days(LONDON) == (date(2027, 5, 10), date(2027, 6, 25))
    rows, total = calendar.page_periods(sqlite_rt, q="gcse")
    assert total == 1 and rows[0].title == "GCSE summer series"
