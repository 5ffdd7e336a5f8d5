"""The forward schedule of change: month and week views with the calendar shaded, clashes
marked, filters by service, state and category; bad parameters are a 400 naming them."""

from __future__ import annotations

from datetime import datetime

import pytest

from fitsflow.domain.errors import NotPermitted
from fitsflow.services import calendar, catalogue, schedule

from . import factories as f
from .web_support import WebSchool, login, make_app

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


def test_the_month_and_week_views_show_releases_periods_and_clashes(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    catalogue.load_demo(sqlite_rt)
    first = f.change_in(sqlite_rt, school, "minor", "scheduled", title="Wi-Fi controller",
                        affected=("Wi-Fi",))
    second = f.change_in(sqlite_rt, school, "minor", "approved", title="Projectors",
                         affected=("Classroom AV",))
    third = f.change_in(sqlite_rt, school, "minor", "approved", title="Copier", affected=("Printing",))
    window = services_window(sqlite_rt, school, first)
    calendar.add_period(sqlite_rt, actor_id=None, kind="mocks", title="Year 11 mocks",
                        start=window.date().isoformat())
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    r = client.get(f"/schedule?date={window.date().isoformat()}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    for ref in (first, second, third):
        assert ref in page
    assert f"clashes with {second}" in page and f"clashes with {first}" in page
    assert "Year 11 mocks" in page and "day-caution" in page
    # The same days as a list for phones (issue 22.7), and an "as at" line for paper.
    agenda = page[page.index('<div class="agenda"'):]
    assert all(ref in agenda for ref in (first, second, third))
    assert window.strftime("%A %d %B") in agenda and f"Clashes with {second}" in agenda
    assert 'class="print-only as-at"' in page and " as at " in page
    week = client.get(f"/schedule?view=week&date={window.date().isoformat()}").get_data(as_text=True)
    assert first in week and week.count("<td class=") == 7
    only = client.get(f"/schedule?date={window.date().isoformat()}&service=Printing").get_data(as_text=True)
    assert third in only and second not in only  # copier and projectors share no service line
    assert client.get("/schedule?date=1990-99-01").status_code == 400
    assert client.get("/schedule?service=Canteen").status_code == 400
    assert client.get("/schedule?view=year").status_code == 400


def services_window(rt, school, ref: str) -> datetime:  # type: ignore[no-untyped-def]
    from fitsflow.services import changes

    plan = changes.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and plan.window_start is not None
    return plan.window_start.astimezone(rt.timezone)


def test_the_forward_schedule_through_the_api_and_the_command_line(sqlite_rt, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fitsflow.cli import cli
    from fitsflow.cli.base import State
    from fitsflow.services import auth

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    catalogue.load_demo(sqlite_rt)
    first = f.change_in(sqlite_rt, school, "minor", "scheduled", title="Wi-Fi controller",
                        affected=("Wi-Fi",))
    second = f.change_in(sqlite_rt, school, "minor", "approved", title="Projectors",
                         affected=("Classroom AV",))
    day = services_window(sqlite_rt, school, first).date()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {auth.create_token(sqlite_rt, user_id=school.cab[0], name='t')}"}
    body = client.get(f"/api/v1/schedule?start={day}&days=7", headers=headers).get_json()
    by_ref = {r["ref"]: r for r in body["releases"]}
    assert by_ref[first]["clashes_with"] == [second] and by_ref[second]["clashes_with"] == [first]
    assert by_ref[first]["services"] == ["Wi-Fi"] and by_ref[first]["state"] == "scheduled"
    assert len(body["days"]) == 7 and first in body["days"][0]["releases"]
    only = client.get(f"/api/v1/schedule?start={day}&days=7&service=Printing", headers=headers).get_json()
    assert only["releases"] == []
    bad = client.get("/api/v1/schedule?days=400&colour=red", headers=headers)
    assert bad.status_code == 400 and set(bad.get_json()["problems"]) == {"days", "colour"}
    unknown = client.get("/api/v1/schedule?service=Canteen", headers=headers).get_json()
    assert unknown["problems"] == {"service": "is not in the service catalogue"}

    monkeypatch.setattr(State, "runtime", property(lambda _: sqlite_rt))
    out = CliRunner().invoke(cli, ["schedule", "--from", day.isoformat(), "--days", "7"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if first in x)
    assert f"CLASHES WITH {second}" in line and "[Wi-Fi]" in line


def test_a_cached_schedule_is_rebuilt_after_a_write_that_can_change_it(sqlite_rt):
    from datetime import timedelta

    from fitsflow.services import schedule, stages

    school = f.School(sqlite_rt)
    catalogue.load_demo(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "release_planning", title="Wi-Fi controller",
                      affected=("Wi-Fi",))
    stages.record_release_plan(sqlite_rt, actor_id=school.requester, ref=ref,
                                 data=f.release_plan(sqlite_rt))
    window = services_window(sqlite_rt, school, ref)
    day = window.date()

    def look():  # type: ignore[no-untyped-def]
        return schedule.forward_schedule(sqlite_rt, actor_id=school.cab[0], start=day, days=7)

    first = look()
    assert kept_as(look(), first)  # nothing written: the same result
    calendar.add_period(sqlite_rt, actor_id=None, kind="freeze", title="Ofsted", start=day.isoformat())
    second = look()
    # The days re-shaded; their releases, which a calendar edit cannot change, kept as built.
    assert second.days[0].shading == "freeze" and first.days[0].shading != "freeze"
    assert second.days[0].releases and second.days[0].releases is first.days[0].releases
    later = window + timedelta(days=1)
    stages.record_release_plan(sqlite_rt, actor_id=school.requester, ref=ref, data={
        **f.release_plan(sqlite_rt), "window_start": later.isoformat(),
        "window_end": (later + timedelta(hours=2)).isoformat()})
    assert [d.day for d in look().days if d.releases][0] == day + timedelta(days=1)
    kept = look()
    # A failed sign-in is audited, but shows nothing on a schedule: the cached one stays.
    from fitsflow.services import auth, users
    email = "pat@test.school"
    users.add_user(sqlite_rt, name="Pat", email=email)  # quiet too
    events_before = f.counts(sqlite_rt)[0]
    with pytest.raises(NotPermitted):
        auth.authenticate(sqlite_rt, email=email, password="wrong", address="127.0.0.1")
    assert f.counts(sqlite_rt)[0] > events_before
    assert kept_as(look(), kept)


def kept_as(now, before) -> bool:  # type: ignore[no-untyped-def]
    """The schedule's parts are the very ones built before (read from the cache, not rebuilt)."""
    return any(d.releases for d in now.days) and all(
        a.releases is b.releases and a.notes is b.notes for a, b in zip(now.days, before.days, strict=True))


def test_a_cached_month_survives_a_write_about_another_months_change(sqlite_rt):
    """Issue 21.4: every decision cleared the schedule's cache, so with approvers deciding
    all day most month views were cold. Now a month is kept per version of its own changes."""
    from datetime import timedelta

    from fitsflow.services import changes as changes_service
    from fitsflow.services import gates, schedule

    rt = sqlite_rt
    school = f.School(rt)
    catalogue.load_demo(rt)
    here = f.change_in(rt, school, "minor", "implement_approval", title="Wi-Fi here", affected=("Wi-Fi",),
                       window=rt.now() + timedelta(days=10))
    far = f.change_in(rt, school, "minor", "implement_approval", title="Printing later",
                      affected=("Printing",), window=rt.now() + timedelta(days=75))
    day = services_window(rt, school, here).date()

    def look():  # type: ignore[no-untyped-def]
        return schedule.forward_schedule(rt, actor_id=school.cab[0], start=day, days=7)

    kept = look()
    gates.decide(rt, actor_id=school.cab[0], ref=far, decision="approve")  # another month, service
    changes_service.fire(rt, actor_id=school.requester, ref=far, trigger="schedule")
    assert kept_as(look(), kept)
    gates.decide(rt, actor_id=school.cab[0], ref=here, decision="approve")  # this week's change
    assert not kept_as(look(), kept)


def test_a_busy_day_lists_a_few_releases_in_the_month_and_all_of_them_in_its_week(sqlite_rt, tmp_path):
    """A month of a big school holds a thousand releases: each day of the month lists the
    first few, then "N more on …" into that day's week, which lists them all (the grid and
    the phones' list alike)."""
    from fitsflow.domain import limits

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    catalogue.load_demo(sqlite_rt)
    refs = [f.change_in(sqlite_rt, school, "minor", "approved", title=f"Patch {i}", affected=("Printing",))
            for i in range(limits.SCHEDULE_DAY_ROWS + 2)]
    day = services_window(sqlite_rt, school, refs[0]).date()
    assert all(services_window(sqlite_rt, school, ref).date() == day for ref in refs)
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    page = client.get(f"/schedule?date={day.isoformat()}&service=Printing").get_data(as_text=True)
    grid, agenda = page[:page.index('<div class="agenda"')], page[page.index('<div class="agenda"'):]
    for part, when in ((grid, day.strftime("%d %b")), (agenda, day.strftime("%A %d %B"))):
        assert sum(f">{ref}</a>" in part for ref in refs) == limits.SCHEDULE_DAY_ROWS
        assert f"2 more on {when}</a>" in part
        assert f'href="/schedule?view=week&amp;service=Printing&amp;date={day.isoformat()}"' in part
    week = client.get(f"/schedule?view=week&service=Printing&date={day.isoformat()}").get_data(as_text=True)
    assert all(f">{ref}</a>" in week for ref in refs) and " more on " not in week
    # Every one of them clashes with the others (one service, one window): said of the hidden too.
    assert "clashes among them" in grid and "Clashes among them" in agenda


def test_a_decision_in_the_month_rebuilds_only_what_it_moved(sqlite_rt):
    """Issue 21.4: a decision on one of the month's changes read the whole month again and drew
    every day afresh. Now the month's rows are kept and only the changed one is read again: the
    other releases are the very objects built before, and a change moved out of the range is
    gone from it (one moved in, there)."""
    from datetime import timedelta

    from fitsflow.services import changes as changes_service
    from fitsflow.services import gates, rescheduling, schedule

    rt = sqlite_rt
    school = f.School(rt)
    catalogue.load_demo(rt)
    here = f.change_in(rt, school, "minor", "implement_approval", title="Wi-Fi here", affected=("Wi-Fi",),
                       window=rt.now() + timedelta(days=10))
    beside = f.change_in(rt, school, "minor", "scheduled", title="Printing beside", affected=("Printing",),
                         window=rt.now() + timedelta(days=11))
    day = services_window(rt, school, here).date()

    def look():  # type: ignore[no-untyped-def]
        found = schedule.forward_schedule(rt, actor_id=school.cab[0], start=day, days=7)
        return {r.ref: r for d in found.days for r in d.releases}

    before = look()
    assert set(before) == {here, beside}
    gates.decide(rt, actor_id=school.cab[0], ref=here, decision="approve")
    after = look()
    assert after[here].state != before[here].state  # read again
    assert after[beside] is before[beside]  # kept as built
    changes_service.fire(rt, actor_id=school.requester, ref=here, trigger="schedule")
    later = (rt.now() + timedelta(days=60)).astimezone(rt.timezone).replace(hour=18, minute=0)
    rescheduling.reschedule(rt, actor_id=school.requester, ref=here, reason="Exams moved",
                            window_start=later.strftime("%Y-%m-%dT%H:%M"),
                            window_end=(later + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    moved = look()
    assert set(moved) == {beside} and moved[beside] is before[beside]  # gone from this week
    there = schedule.forward_schedule(rt, actor_id=school.cab[0], start=later.date(), days=1)
    assert [r.ref for d in there.days for r in d.releases] == [here]  # and in its new week


def test_a_save_the_catching_up_missed_is_found_by_the_ranges_version(sqlite_rt):
    """The kept rows are brought up to date from the changes modified since the last reading;
    a save stamped earlier than that (its transaction began before and committed after) is
    missed there, and the range's version, which counts every change's version, then has the
    whole range read again: the view is never left behind."""
    from datetime import timedelta

    from sqlalchemy import text

    from fitsflow.services import schedule

    rt = sqlite_rt
    school = f.School(rt)
    catalogue.load_demo(rt)
    ref = f.change_in(rt, school, "minor", "scheduled", title="Wi-Fi late", affected=("Wi-Fi",),
                      window=rt.now() + timedelta(days=10))
    day = services_window(rt, school, ref).date()

    def titles() -> list[str]:
        found = schedule.forward_schedule(rt, actor_id=school.cab[0], start=day, days=7)
        return [r.title for d in found.days for r in d.releases]

    assert titles() == ["Wi-Fi late"]
    with rt.db.transaction() as session:  # a save stamped a day ago, as a late commit would be
        session.execute(text("UPDATE changes SET title = 'Wi-Fi moved on', version = version + 1, "
                             "updated_at = :then WHERE ref = :ref"),
                        {"then": rt.now() - timedelta(days=1), "ref": ref})
    assert titles() == ["Wi-Fi moved on"]


def test_a_window_taken_away_and_given_again_is_shown_once(rt):
    """Found by review: a kept release whose plan lost its window (both ends are optional while
    planning) failed the next view, then stayed shown without one, and came back twice when
    given one again. A row without a whole window is gone from the range; given one, it is
    there once."""
    from datetime import timedelta

    from fitsflow.services import stages

    school = f.School(rt)
    catalogue.load_demo(rt)
    ref = f.change_in(rt, school, "minor", "release_planning", title="Plan", affected=("Wi-Fi",))
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=f.release_plan(rt))
    other = f.change_in(rt, school, "minor", "approved", title="Other", affected=("Printing",),
                        window=services_window(rt, school, ref) + timedelta(hours=3))
    day = services_window(rt, school, ref).date()

    def shown() -> list[list[str]]:
        found = schedule.forward_schedule(rt, actor_id=school.cab[0], start=day, days=7)
        return [[r.ref for r in d.releases] for d in found.days if d.releases]

    assert sorted(shown()[0]) == sorted([ref, other])
    for emptied in ({"window_end": ""}, {"window_start": "", "window_end": ""}):
        stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                   data={**f.release_plan(rt), **emptied})
        assert shown() == [[other]] and shown() == [[other]]
        stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=f.release_plan(rt))
        assert sorted(shown()[0]) == sorted([ref, other]) and len(shown()) == 1
