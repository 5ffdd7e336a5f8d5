"""Issue 25.1: maintenance windows. Routine work booked on Sunday for Monday 06:30 was refused
("the first notice would have gone out on Friday"), pushing it into emergencies. A standard
change inside an agreed maintenance window needs only the window's own notice; outside one the
audiences' lead times apply; a freeze still wins; the next free slot clears freezes, clashes
and the window's notice."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotPermitted
from fitsflow.services import calendar, catalogue, maintenance_windows, notices, stages
from fitsflow.services import changes as changes_service

from . import factories as f

pytestmark = pytest.mark.calendar

SUNDAY = datetime(2026, 11, 22, 18, 0)  # the Sunday after the tests' term-time Tuesday
MONDAY_EARLY = (time(6, 30), time(7, 30))


def _at(rt, day: datetime) -> datetime:  # type: ignore[no-untyped-def]
    moment = day.replace(tzinfo=rt.timezone)
    rt.clock.set(moment, running=True)
    return moment


def _standard(rt, school, start: datetime, hours: float = 1) -> str:  # type: ignore[no-untyped-def]
    template = f.standard_template(rt, school)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Replace a projector lamp",
                                       category="standard", template=template, cost="100").ref
    plan = f.release_plan_from(start)
    plan["window_end"] = (start + timedelta(hours=hours)).isoformat()
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=plan)
    return ref


def _early_mornings(rt, **given) -> maintenance_windows.WindowView:  # type: ignore[no-untyped-def]
    catalogue.save_service(rt, actor_id=None, name=f.TEMPLATE_SERVICE)
    return maintenance_windows.add(rt, actor_id=None, **{
        "title": "Early mornings", "service": f.TEMPLATE_SERVICE, "weekdays": "mon,tue,wed,thu,fri",
        "starts": "06:00", "ends": "08:00", "when": "term", "notice_days": 0, **given})


def _monday(rt) -> datetime:  # type: ignore[no-untyped-def]
    return datetime.combine((SUNDAY + timedelta(days=1)).date(), MONDAY_EARLY[0], rt.timezone)


def test_monday_early_work_booked_on_sunday_goes_ahead_inside_a_window_and_not_outside(rt):
    school = f.School(rt)
    _at(rt, SUNDAY)
    outside = _standard(rt, school, _monday(rt))
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=outside, trigger="schedule")
    assert "the first notice would have gone out on Fri 20 Nov 2026" in str(err.value)
    changes_service.fire(rt, actor_id=school.requester, ref=outside, trigger="withdraw",
                         reason="Booked again inside the window")
    _early_mornings(rt)
    inside = _standard(rt, school, _monday(rt))
    scheduled = changes_service.fire(rt, actor_id=school.requester, ref=inside, trigger="schedule")
    assert scheduled.state == "scheduled"
    # Its notices follow the window's own notice (none): due now, none held for the requester.
    drafted = notices.notices_for(rt, actor_id=school.requester, ref=inside)
    assert drafted and all(n.status == "draft" and n.publish_at <= rt.now() + timedelta(seconds=5)
                           for n in drafted)
    # Past the window's end, or on another service, the lead times apply again.
    late = _standard(rt, school, _monday(rt) + timedelta(hours=1), hours=1)  # 07:30–08:30
    with pytest.raises(GateNotSatisfied):
        changes_service.fire(rt, actor_id=school.requester, ref=late, trigger="schedule")


def test_a_freeze_still_wins_and_a_windows_own_notice_is_kept(rt):
    school = f.School(rt)
    _at(rt, SUNDAY)
    _early_mornings(rt)
    monday = _monday(rt)
    calendar.add_period(rt, actor_id=None, kind="freeze", title="Mocks", start=monday.date().isoformat(),
                        end=monday.date().isoformat())
    frozen = _standard(rt, school, monday)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=frozen, trigger="schedule")
    assert "Mocks" in str(err.value)
    # A window asking two school days' notice: never more than the audiences' lead times ask
    # (the shortest is none), each audience told two school days ahead at most.
    maintenance_windows.add(rt, actor_id=None, title="Twilight", service=f.TEMPLATE_SERVICE,
                            weekdays="tue,wed", starts="16:00", ends="20:00", notice_days=2)
    wednesday = datetime.combine(monday.date() + timedelta(days=2), time(16, 30), rt.timezone)
    fine = _standard(rt, school, wednesday)
    assert changes_service.fire(rt, actor_id=school.requester, ref=fine, trigger="schedule").state \
        == "scheduled"
    drafted = notices.notices_for(rt, actor_id=school.requester, ref=fine)
    staff = next(n for n in drafted if n.audience == "staff")
    monday_morning = datetime.combine(monday.date(), time(8, 0), rt.timezone)
    assert staff.publish_at.astimezone(rt.timezone) == monday_morning
    assert staff.status == "draft"


def test_the_next_free_slot_clears_freezes_clashes_and_notice(rt):
    school = f.School(rt)
    _at(rt, SUNDAY)
    _early_mornings(rt)
    monday = _monday(rt)
    first = maintenance_windows.next_free(rt, actor_id=school.requester, services=[f.TEMPLATE_SERVICE],
                                          minutes=60, count=2)
    assert [s.starts for s in first] == [monday.replace(hour=6, minute=0), monday.replace(hour=7, minute=0)]
    # Monday frozen, Tuesday's slot taken by another change on the same service.
    calendar.add_period(rt, actor_id=None, kind="freeze", title="Mocks", start=monday.date().isoformat(),
                        end=monday.date().isoformat())
    taken = _standard(rt, school, monday.replace(hour=6, minute=0) + timedelta(days=1), hours=2)
    changes_service.fire(rt, actor_id=school.requester, ref=taken, trigger="schedule")
    found = maintenance_windows.next_free(rt, actor_id=school.requester, services=[f.TEMPLATE_SERVICE],
                                          minutes=60, count=1)
    # Tuesday's slot is taken 06:00–08:00; Wednesday's first free hour is at 06:00.
    assert [s.starts for s in found] == [monday.replace(hour=6, minute=0) + timedelta(days=2)]
    assert found[0].window == "Early mornings"
    # A change taking Wednesday 06:00–07:00 leaves 07:00–08:00 free that day.
    early = _standard(rt, school, monday.replace(hour=6, minute=0) + timedelta(days=2), hours=1)
    changes_service.fire(rt, actor_id=school.requester, ref=early, trigger="schedule")
    later = maintenance_windows.next_free(rt, actor_id=school.requester, services=[f.TEMPLATE_SERVICE],
                                          minutes=60, count=1)
    assert [s.starts for s in later] == [monday.replace(hour=7, minute=0) + timedelta(days=2)]


def test_windows_are_agreed_by_administrators_and_bad_ones_are_named(rt):
    school = f.School(rt)
    with pytest.raises(NotPermitted):
        maintenance_windows.add(rt, actor_id=school.requester, title="Mine", weekdays="mon", starts="06:00",
                                ends="07:00")
    with pytest.raises(InvalidInput) as err:
        maintenance_windows.add(rt, actor_id=school.admin, title="", weekdays="funday", starts="6am",
                                ends="05:00", when="sometimes", notice_days=99, service="Nothing")
    assert set(err.value.problems) == {"title", "weekdays", "starts", "when", "notice_days"}
    with pytest.raises(InvalidInput) as err:
        maintenance_windows.add(rt, actor_id=school.admin, title="Evenings", weekdays="mon", starts="18:00",
                                ends="17:00", service="No such service")
    assert set(err.value.problems) == {"ends"}
    with pytest.raises(InvalidInput) as err:
        maintenance_windows.add(rt, actor_id=school.admin, title="Evenings", weekdays="mon", starts="17:00",
                                ends="18:00", service="No such service")
    assert "unknown service No such service" in err.value.problems["service"]
    made = maintenance_windows.add(rt, actor_id=school.admin, title="Evenings", weekdays="mon,THU",
                                   starts="17:00", ends="19:30", when="always")
    assert made.described == "Evenings: Mon, Thu 17:00–19:30 all year (every service)"
    assert [w.title for w in maintenance_windows.every(rt, actor_id=school.requester)] == ["Evenings"]
    maintenance_windows.remove(rt, actor_id=school.admin, window_id=made.id)
    assert maintenance_windows.every(rt, actor_id=school.requester) == []


def test_the_command_line_agrees_lists_and_suggests(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from fitsflow.cli import cli

    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == code, result.output
        return result.output

    run("init")
    run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    run("service", "add", "--name", "Wi-Fi")
    made = run("window", "add", "--title", "Twilight", "--days", "mon,thu", "--from", "16:00",
               "--to", "20:00", "--service", "wi-fi")
    assert "Twilight: Mon, Thu 16:00–20:00 in term (Wi-Fi)" in made
    assert "no notice" in run("window", "list", "--as", "nat@s.example")
    suggested = run("window", "next", "--service", "Wi-Fi", "--as", "nat@s.example", "--count", "2")
    assert suggested.count("(Twilight)") == 2
    bad = run("window", "add", "--title", "x", "--days", "someday", "--from", "16:00", "--to", "20:00",
              code=1)
    assert "weekdays" in bad
    assert "window 1 removed" in run("window", "remove", "1")


def test_the_schedule_shows_the_windows_and_the_next_free_slots(rt, tmp_path):
    from .web_support import WebSchool, login, make_app

    school = WebSchool(rt)
    _at(rt, SUNDAY)
    _early_mornings(rt)
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    page = client.get("/schedule?service=" + f.TEMPLATE_SERVICE).get_data(as_text=True)
    assert "Early mornings: Mon, Tue, Wed, Thu, Fri 06:00–08:00 in term (Classroom AV); no notice" in page
    assert "Mon 23 Nov 2026 06:00–07:00 (Early mornings)" in page
