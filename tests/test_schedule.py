"""The forward schedule of change: month and week views with the calendar shaded, clashes
marked, filters by service, state and category; bad parameters are a 400 naming them."""

from __future__ import annotations

from datetime import datetime

from fitsflow.services import calendar, catalogue

from . import factories as f
from .web_support import WebSchool, login, make_app


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
    week = client.get(f"/schedule?view=week&date={window.date().isoformat()}").get_data(as_text=True)
    assert first in week and week.count("<td class=") == 7
    only = client.get(f"/schedule?date={window.date().isoformat()}&service=Printing").get_data(as_text=True)
    assert third in only and second not in only  # copier and projectors share no service line
    assert client.get("/schedule?date=1990-99-01").status_code == 400
    assert client.get("/schedule?service=Canteen").status_code == 400
    assert client.get("/schedule?view=year").status_code == 400


def services_window(rt, school, ref: str) -> datetime:  # type: ignore[no-untyped-def]
    from fitsflow import services

    plan = services.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and plan.window_start is not None
    return plan.window_start.astimezone(rt.timezone)
