"""Issue 22.7: staff could not see planned maintenance at all (a teacher got 403 on
/schedule). Everyone signed in now has a page and a calendar feed of the ICT work coming —
title, time, services, what they will notice — without cost, risk, requesters or approvals."""

from __future__ import annotations

import re

import icalendar
import pytest
import vobject

from fitsflow.services import catalogue, maintenance

from . import factories as f
from .web_support import WebSchool, login, make_app, post

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


def test_a_teacher_sees_the_maintenance_coming_and_nothing_else(sqlite_rt, tmp_path):
    rt = sqlite_rt
    catalogue.load_demo(rt)
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    coming = f.change_in(rt, school, "minor", "scheduled", title="Replace the library Wi-Fi",
                         affected=("Wi-Fi",))
    f.change_in(rt, school, "minor", "release_planning", title="Not yet scheduled")
    items = maintenance.planned(rt, actor_id=school.staff)
    assert [p.title for p in items] == ["Replace the library Wi-Fi"] and items[0].services == ("Wi-Fi",)
    teacher = app.test_client()
    login(teacher, school.emails[school.staff])
    assert teacher.get("/schedule").status_code == 403  # the CAB's schedule stays theirs
    home = teacher.get("/").get_data(as_text=True)
    assert 'href="/maintenance"' in home
    page = teacher.get("/maintenance").get_data(as_text=True)
    assert "Replace the library Wi-Fi" in page and "Wi-Fi" in page and "Not yet scheduled" not in page
    assert items[0].effect and f"What you will notice: {items[0].effect}" in page
    for hidden in ("£", coming, "Approval", "risk"):  # no cost, no reference to open, no approvals
        assert hidden not in page, hidden
    # Their own calendar feed of it.
    r = post(teacher, "/account/feeds", {"kind": "maintenance"})
    assert r.status_code == 201
    address = re.search(r'id="feed-address">([^<]+)<', r.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    body = app.test_client().get(address.replace("http://localhost", "")).data
    events = list(icalendar.Calendar.from_ical(body).walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == ["Replace the library Wi-Fi"]
    assert "What you will notice" in str(events[0]["DESCRIPTION"]) and "URL" not in events[0]
    read = vobject.readOne(body.decode())
    assert [e.summary.value for e in read.vevent_list] == ["Replace the library Wi-Fi"]
    assert post(teacher, "/account/feeds", {"kind": "schedule"}).status_code == 400  # not theirs
