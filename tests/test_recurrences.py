"""Issue 25.2: recurring changes. A template recurs — monthly on the first Tuesday, or on a
school day of each term — and each occurrence is raised ahead as its own standard change; a
day that is not a school day is skipped or moved to the next school day; a sweep twice raises
nothing twice; an occurrence whose day passed without its release is missed, on the
requester's home."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.domain.recurrence import occurrences
from fitsflow.persistence.models import Change, RecurrenceOccurrence
from fitsflow.services import calendar, catalogue, recurrences

from . import factories as f

pytestmark = pytest.mark.calendar


def _autumn_and_spring(rt) -> None:  # type: ignore[no-untyped-def]
    for kind, title, start, end in (("term", "Autumn", "2026-09-03", "2026-12-18"),
                                    ("half_term", "Autumn half-term", "2026-10-26", "2026-10-30"),
                                    ("holiday", "Christmas", "2026-12-19", "2027-01-04"),
                                    ("term", "Spring", "2027-01-05", "2027-03-26")):
        calendar.add_period(rt, actor_id=None, kind=kind, title=title, start=start, end=end)


def _patching(rt, school, **given):  # type: ignore[no-untyped-def]
    catalogue.save_service(rt, actor_id=None, name=f.TEMPLATE_SERVICE)
    template = f.standard_template(rt, school)
    return recurrences.add(rt, actor_id=school.requester, **{
        "template": template, "title": "Monthly security updates", "rule": "FREQ=MONTHLY;BYDAY=1TU",
        "first_day": "2026-09-01", "starts": "07:00", "minutes": 60, "on_closed": "next_school_day",
        "ahead_days": 14, **given})


def _raised(rt) -> list[tuple[date, date | None, int | None]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(RecurrenceOccurrence.planned_on, RecurrenceOccurrence.happens_on,
                   RecurrenceOccurrence.change_id).order_by(RecurrenceOccurrence.planned_on))]


def test_a_monthly_recurrence_across_half_term_and_christmas(rt):
    _autumn_and_spring(rt)
    with rt.db.read() as session:
        school_cal = calendar.school_calendar(rt, session)
    # First Tuesdays: 6 Oct, 3 Nov (after half-term), 1 Dec, 5 Jan 2027 (the spring term's
    # first day), 2 Feb. None falls in a closure; skipping or moving, the same days.
    days = [o.on for o in occurrences("FREQ=MONTHLY;BYDAY=1TU", date(2026, 10, 1), date(2027, 2, 28),
                                      school_cal, "skip")]
    assert days == [date(2026, 10, 6), date(2026, 11, 3), date(2026, 12, 1), date(2027, 1, 5),
                    date(2027, 2, 2)]
    # The last Tuesday of October is in half-term, of December in the Christmas holiday.
    last = occurrences("FREQ=MONTHLY;BYDAY=-1TU", date(2026, 10, 1), date(2027, 1, 31), school_cal, "skip")
    assert [(o.planned, o.on) for o in last] == [
        (date(2026, 10, 27), None), (date(2026, 11, 24), date(2026, 11, 24)), (date(2026, 12, 29), None),
        (date(2027, 1, 26), date(2027, 1, 26))]
    moved = occurrences("FREQ=MONTHLY;BYDAY=-1TU", date(2026, 10, 1), date(2027, 1, 31), school_cal,
                        "next_school_day")
    assert [o.on for o in moved] == [date(2026, 11, 2), date(2026, 11, 24), date(2027, 1, 5),
                                     date(2027, 1, 26)]
    # Termly: the third school day of each term.
    assert [o.on for o in occurrences("termly:3", date(2026, 9, 1), date(2027, 3, 31), school_cal, "skip")] \
        == [date(2026, 9, 7), date(2027, 1, 7)]


def test_each_occurrence_is_raised_ahead_once_and_a_missed_one_shows(rt):
    _autumn_and_spring(rt)
    school = f.School(rt)
    rt.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=rt.timezone), running=True)  # a Friday
    made = _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=TU", ahead_days=14)
    assert made.next_days[:2] == (date(2026, 11, 24), date(2026, 12, 1))
    assert recurrences.raise_due(rt) == 2  # Tuesdays 24 Nov and 1 Dec: within 14 days
    assert recurrences.raise_due(rt) == 0  # a second sweep raises nothing again
    raised = _raised(rt)
    assert [r[1] for r in raised] == [date(2026, 11, 24), date(2026, 12, 1)] and all(r[2] for r in raised)
    with rt.db.read() as session:
        titles = session.execute(select(Change.title, Change.category).where(
            Change.id.in_([r[2] for r in raised]))).all()  # type: ignore[union-attr]
    assert sorted(titles) == [("Monthly security updates (Tue 01 Dec 2026)", "standard"),
                              ("Monthly security updates (Tue 24 Nov 2026)", "standard")]
    # Its window is the occurrence's: 07:00–08:00 on the day.
    from fitsflow.services import changes

    first = changes.get_change(rt, actor_id=school.requester, ref=_ref(rt, raised[0][2]))
    assert first.release_plan is not None and first.release_plan.window_start is not None
    assert first.release_plan.window_start.astimezone(rt.timezone).strftime("%Y-%m-%d %H:%M") \
        == "2026-11-24 07:00"
    # A week on, 24 Nov's occurrence was never released: missed, on the requester's home.
    rt.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=rt.timezone), running=True)
    assert [m.happens_on for m in recurrences.missed(rt, actor_id=school.requester)] == [date(2026, 11, 24)]
    # Over the Christmas holiday, the Tuesdays would move to the next school day, 5 January —
    # itself a Tuesday: they merge with it, and the work is done once that day.
    rt.clock.set(datetime(2026, 12, 18, 9, 0, tzinfo=rt.timezone), running=True)
    recurrences.raise_due(rt)
    rt.clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=rt.timezone), running=True)
    recurrences.raise_due(rt)
    after = [(r[0], r[1], bool(r[2])) for r in _raised(rt) if r[0] > date(2026, 12, 18)]
    assert after == [(date(2026, 12, 22), None, False), (date(2026, 12, 29), None, False),
                     (date(2027, 1, 5), date(2027, 1, 5), True)]


def _ref(rt, change_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return str(session.execute(select(Change.ref).where(Change.id == change_id)).scalar_one())


def test_a_recurrence_is_agreed_by_a_requester_and_bad_ones_are_named(rt):
    school = f.School(rt)
    with pytest.raises(NotPermitted):
        recurrences.add(rt, actor_id=school.staff, template="STD-0001", title="x", rule="FREQ=DAILY",
                        first_day="2027-01-01", starts="07:00")
    with pytest.raises(InvalidInput) as err:
        recurrences.add(rt, actor_id=school.requester, template="STD-9999", title="", rule="every tuesday",
                        first_day="soon", starts="7am", minutes=0, on_closed="whenever", ahead_days=0)
    assert set(err.value.problems) == {"title", "first_day", "starts", "minutes", "on_closed", "ahead_days",
                                       "template", "cost"}
    with pytest.raises(InvalidInput) as err:
        _patching(rt, school, rule="FREQ=HOURLY")
    assert "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY" in err.value.problems["rule"]
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(RecurrenceOccurrence)).scalar_one() == 0


def test_missed_routine_work_is_on_the_requesters_home_and_in_the_api(rt, tmp_path):
    from .web_support import WebSchool, bearer, login, make_app

    school = WebSchool(rt)
    rt.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=rt.timezone), running=True)
    _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=TU", ahead_days=7)
    recurrences.raise_due(rt)
    rt.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=rt.timezone), running=True)
    app = make_app(rt, tmp_path)
    client = app.test_client()
    login(client, school.emails[school.requester])
    home = client.get("/").get_data(as_text=True)
    assert "Routine work missed" in home and "its day was Tue 24 Nov 2026" in home
    headers = bearer(rt, school.requester)
    listed = app.test_client().get("/api/v1/recurrences/missed", headers=headers).get_json()
    assert [x["happens_on"] for x in listed["items"]] == ["2026-11-24"]
    mine = app.test_client().get("/api/v1/recurrences", headers=headers).get_json()
    assert mine["items"][0]["rule"] == "FREQ=WEEKLY;BYDAY=TU"


def test_the_report_counts_routine_work_due_and_missed(rt):
    from fitsflow.services import changes, reports

    school = f.School(rt)
    reader = f.user(rt, "auditor")
    rt.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=rt.timezone), running=True)
    _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=TU", ahead_days=14)
    recurrences.raise_due(rt)  # Tuesdays 24 Nov and 1 Dec
    done = _ref(rt, _raised(rt)[0][2])  # 24 Nov's is scheduled and released on its day
    rt.clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=rt.timezone), running=True)
    changes.fire(rt, actor_id=school.requester, ref=done, trigger="schedule")
    rt.clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=rt.timezone), running=True)
    changes.fire(rt, actor_id=school.requester, ref=done, trigger="release",
                 notices=f.unsent_published(rt, school.requester, done))
    rt.clock.set(datetime(2026, 12, 3, 9, 0, tzinfo=rt.timezone), running=True)
    report = reports.report(rt, actor_id=reader, start="2026-11-01", end="2026-12-31")
    assert (report.routine_due, report.routine_missed) == (2, 1)  # 1 Dec's was never done
    assert ("routine work", "missed", "1") in report.rows()


def test_an_occurrence_that_cannot_be_raised_leaves_the_sweep_going(rt, caplog, monkeypatch):
    from fitsflow.domain.templates import parse_ref
    from fitsflow.services import templates

    monkeypatch.setattr(recurrences, "_WARNED", set())  # said once a process: this test's own
    school = f.School(rt)
    rt.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=rt.timezone), running=True)
    made = _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=TU", ahead_days=7)
    other = _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=WE", ahead_days=7, title="Weekly backup check")
    templates.act(rt, actor_id=school.cab[0], template_id=parse_ref(made.template) or 0, action="retire",
                  reason="Replaced by the new patch tool")
    assert recurrences.raise_due(rt) == 1  # the other's Wednesday; the retired template's Tuesday is not
    assert "could not raise" in caplog.text
    assert [r[0] for r in _raised(rt)] == [date(2026, 11, 25)] and other.next_days


@pytest.mark.parametrize(("rule", "says"), [
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 52"),
    ("FREQ=DAILY;INTERVAL=99999999999999999999", "INTERVAL must be a whole number from 1 to 52"),
    ("FREQ=DAILY;COUNT=3", "no COUNT or UNTIL"),
    ("FREQ=DAILY\nRRULE:FREQ=WEEKLY", "not a rule"),
    ("FREQ=MONTHLY;BYDAY=99TU", "not a rule"),
    ("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=31", "names no day in the two years"),
    ("FREQ=HOURLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY"),
])
def test_a_rule_that_could_not_run_is_refused_by_name(rule, says):
    from fitsflow.domain.recurrence import rule_problem

    assert says in rule_problem(rule, date(2026, 9, 1))


def test_every_other_week_keeps_to_its_weeks_whenever_it_is_read(rt):
    with rt.db.read() as session:
        school_cal = calendar.school_calendar(rt, session)
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"
    read_late = occurrences(rule, date(2026, 11, 20), date(2026, 12, 20), school_cal, "skip",
                            anchor=date(2026, 11, 2))
    assert [o.on for o in read_late] == [date(2026, 11, 30), date(2026, 12, 14)]


def test_staff_see_routine_work_and_the_agreed_windows_in_planned_maintenance(rt, tmp_path):
    """Issue 25.6: the staff-facing planned maintenance is fed by recurrences (each occurrence on
    its school day, until it is a scheduled release, listed once) and by the windows agreed."""
    from fitsflow.services import maintenance, maintenance_windows

    _autumn_and_spring(rt)
    school = f.School(rt)
    rt.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=rt.timezone), running=True)
    _patching(rt, school, rule="FREQ=WEEKLY;BYDAY=TU", ahead_days=3)
    maintenance_windows.add(rt, actor_id=None, title="Network", service="", weekdays="thu", starts="16:00",
                            ends="20:00", when="term")
    seen = maintenance.planned(rt, actor_id=school.staff, start=date(2026, 11, 20), days=28)
    routine = [(p.starts.date(), p.starts.strftime("%H:%M"), p.routine) for p in seen if p.routine]
    # Tuesdays 24 Nov, 1, 8 and 15 Dec (the 22nd is in the holiday and moves to 5 January).
    assert routine == [(date(2026, 11, 24), "07:00", True), (date(2026, 12, 1), "07:00", True),
                       (date(2026, 12, 8), "07:00", True), (date(2026, 12, 15), "07:00", True)]
    assert all(p.title == "Monthly security updates" and p.services == (f.TEMPLATE_SERVICE,)
               for p in seen if p.routine)
    # Raised ahead, the first is a change in release planning: still listed once, as routine work.
    rt.clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=rt.timezone), running=True)
    assert recurrences.raise_due(rt) == 1
    again = maintenance.planned(rt, actor_id=school.staff, start=date(2026, 11, 20), days=28)
    assert [p.starts.date() for p in again if p.starts.date() == date(2026, 11, 24)] == [date(2026, 11, 24)]
    assert [w.described for w in maintenance.windows(rt, actor_id=school.staff)] == [
        "Network: Thu 16:00–20:00 in term (every service)"]
    from .web_support import WebSchool, login, make_app

    web_school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    teacher = app.test_client()
    assert login(teacher, web_school.emails[web_school.staff]).status_code == 302
    page = teacher.get("/maintenance").get_data(as_text=True)
    assert "Monthly security updates" in page and "routine" in page and "Regular maintenance windows" in page
