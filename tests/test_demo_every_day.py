"""Issue: `fitsflow demo` (and so `make run`) failed on about half the days of the year —
on 21 December a window fell in the Christmas holiday, in May one clashed with another,
on 26 July a search for a school day ran past the end of the calendar — and where it
worked, every notice ended held, draft or cancelled, so the teacher, the student and
the parent had nothing to read.

The demo is now built the same whatever the date: its released changes are played out
over the last weeks (their notices published on their days) and the rest placed on the
next free school days. These tests build it with the clock set to the dates that failed,
to the year's edges (every holiday boundary, bank holiday and exam week of a school year,
the nights the clocks change, 29 February) and check that every demo login has its
page's content."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from fitsflow.domain.calendar import bank_holidays
from fitsflow.domain.vocabulary import IN_REVIEW
from fitsflow.persistence import audit_store, queries
from fitsflow.persistence.models import ReleaseNotice
from fitsflow.services import audit, change_search, notices, queues
from fitsflow.services.change_search import ChangeFilter
from fitsflow.services.demo import DEMO_USERS, build_demo, demo_email, demo_size
from fitsflow.services.demo_calendar import academic_year
from fitsflow.services.runtime import Runtime

from .conftest import sqlite_runtime
from .web_support import login, make_app

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

PASSWORD = "demo school password"

# Where the demo failed before (issue 19), and the year's other edges.
FAILED_BEFORE = ["2026-12-21", "2027-02-15", "2027-04-01", "2027-01-13", "2027-05-18", "2027-06-14",
                 "2027-09-06", "2027-07-26", "2027-08-16"]
EDGES = ["2026-12-24", "2027-10-31", "2028-02-29", "2027-03-28", "2026-12-06"]


def _sampled_days(first_year: int = 2026, count: int = 60) -> list[date]:
    """A school year's days that matter to the calendar: each period's first and last day
    and the days either side, the bank holidays and the clock changes, then evenly spread
    to ``count`` (the first and last always among them)."""
    days: set[date] = set()
    for row in academic_year(first_year):
        for text in (row["start"], row["end"]):
            day = date.fromisoformat(text)
            days.update({day - timedelta(days=1), day, day + timedelta(days=1)})
    for year in (first_year, first_year + 1):
        days.update(d for d in bank_holidays("england", year)
                    if date(first_year, 9, 1) <= d < date(first_year + 1, 9, 1))
    days.update({date(first_year, 10, 25), date(first_year + 1, 3, 28)})  # the clocks change
    ordered = sorted(days)
    step = (len(ordered) - 1) / (count - 1)
    return sorted({ordered[round(i * step)] for i in range(count)})


def _at(rt: Runtime, day: str | date, hour: int = 10) -> datetime:
    moment = datetime.combine(date.fromisoformat(str(day)), time(hour), rt.timezone)
    rt.clock.set(moment, running=True)
    return moment


def _built(day: str | date, hour: int = 10) -> Runtime:
    rt = sqlite_runtime()
    _at(rt, day, hour)
    with rt.db.all_or_nothing():  # as `fitsflow demo` builds it
        result = build_demo(rt, password=PASSWORD)
    # And the review's follow-up, and the change a pilot adopted.
    assert result.created and result.changes == demo_size(rt) + 2
    return rt


def _ids(rt: Runtime) -> dict[str, int]:
    with rt.db.read() as session:
        found = {}
        for _, local, _, _ in DEMO_USERS:
            user = queries.user_by_email(session, demo_email(local))
            assert user is not None
            found[local] = user.id
        return found


def _check_the_school(rt: Runtime) -> None:
    ids = _ids(rt)
    now = rt.now()
    with rt.db.read() as session:
        rows = session.execute(select(ReleaseNotice.audience, ReleaseNotice.status,
                                      ReleaseNotice.publish_at)).all()
        # Its history holds: one chain, every event at or after the one before.
        times = [row[1] for row in audit_store.iter_rows(session)]
    assert times == sorted(times)
    assert times[-1] <= now.isoformat(timespec="microseconds")
    assert audit.verify(rt).ok
    # Every audience has a published notice, and nothing due is left unpublished.
    published = {r.audience for r in rows if r.status == "published"}
    assert published == set(rt.roles.audiences)
    assert not [r for r in rows if r.status == "draft" and r.publish_at <= now]
    # The teacher, the student and the parent each have a notice to read and acknowledge.
    for local in ("sarah.khan", "sam.lee", "pat.lee"):
        page = notices.release_notice_page(rt, actor_id=ids[local])
        assert page.total >= 1, local
        assert any(item.acknowledged_at is None for item in page.items), local
    # Approvers have something waiting: the CAB, SLT, the business manager and the head.
    for local in ("priya.shah", "dee.walsh", "ben.marsh", "helen.carter"):
        assert queues.awaiting_decision(rt, actor_id=ids[local]).total >= 1, local
    # A change is in review.
    in_review = rt.workflows.states_of_kind(IN_REVIEW)
    assert any(change_search.find(rt, actor_id=ids["gwen.ellis"], filters=ChangeFilter(state=state)).total
               for _, state in in_review)


def _school_on(day: str | date, hour: int = 10) -> None:
    rt = _built(day, hour)
    try:
        _check_the_school(rt)
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("day", FAILED_BEFORE + EDGES)
def test_the_demo_builds_on_the_days_it_failed_and_on_the_years_edges(day):
    _school_on(day)


def test_the_demo_builds_late_at_night_as_the_clocks_go_back():
    _school_on("2027-10-31", hour=1)


@pytest.mark.slow
@pytest.mark.parametrize("day", _sampled_days())
def test_the_demo_builds_on_every_sampled_day_of_a_school_year(day):
    _school_on(day)


def test_every_demo_login_finds_its_page_with_content(tmp_path):
    rt = _built("2026-12-21")
    try:
        ids = _ids(rt)
        app = make_app(rt, tmp_path)
        for name, local, roles, _ in DEMO_USERS:
            client = app.test_client()
            assert login(client, demo_email(local), PASSWORD).status_code == 302, local
            home = client.get("/")
            assert home.status_code == 200, local
            html = home.get_data(as_text=True)
            received = notices.release_notice_page(rt, actor_id=ids[local])
            if not roles:  # audience only: their notices
                assert received.total >= 1, local
                first = received.items[0]
                assert first.subject in client.get("/notices").get_data(as_text=True), local
                notice = client.get(f"/notices/{first.notice_id}")
                assert notice.status_code == 200 and first.change_ref in notice.get_data(as_text=True)
            waiting = queues.awaiting_decision(rt, actor_id=ids[local])
            if waiting.total:
                approvals = client.get("/approvals").get_data(as_text=True)
                assert waiting.items[0].ref in approvals, local
            if "requester" in roles.split():
                mine = change_search.find(rt, actor_id=ids[local],
                                          filters=ChangeFilter(requester_id=ids[local]))
                assert mine.total >= 1 and any(found.ref in html for found in mine.items), local
            if "auditor" in roles.split():
                assert "CHG-" in client.get("/audit").get_data(as_text=True)
            assert name.split(" (")[0] in html, local
    finally:
        rt.db.dispose()
