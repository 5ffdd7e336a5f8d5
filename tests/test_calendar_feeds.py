"""ICS feeds: per-person secret addresses (hashed), "my changes" and the whole forward
schedule; valid RFC 5545 read by icalendar and by vobject; a stable UID, SEQUENCE raised
on every reschedule, CANCELLED on withdrawal, times with TZID and VTIMEZONE across the
clock change, and conditional requests answered with 304."""

from __future__ import annotations

import re
from datetime import UTC

import icalendar
import pytest
import vobject
from sqlmodel import select

from fitsflow.persistence.models import CalendarFeed
from fitsflow.services import calendar, feeds, stages
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app, post

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

HOST = "127.0.0.1"  # delivery.base_url's host: UIDs are ref@host, stable for ever


def _feed(client, school, uid: int, kind: str = "mine") -> str:  # type: ignore[no-untyped-def]
    login(client, school.emails[uid])
    r = post(client, "/account/feeds", {"kind": kind})
    assert r.status_code == 201, r.get_data(as_text=True)[:300]
    address = re.search(r'id="feed-address">([^<]+)<', r.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    return address.replace("http://localhost", "")


def _events(body: bytes) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(body)
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


def test_my_feed_lists_my_change_and_follows_its_reschedule_and_withdrawal(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "release_planning", title="New Wi-Fi in the library")
    f.fill_stages(sqlite_rt, school.requester, ref, ("release_plan",))
    client = app.test_client()
    path = _feed(client, school, school.requester)
    with sqlite_rt.db.read() as session:  # only the hash is kept
        stored = session.exec(select(CalendarFeed)).one()
        assert stored.token_hash not in path and path.split("/")[-1][:-4] not in stored.token_hash
    reader = app.test_client()  # a calendar app: no session, the address is the credential
    r = reader.get(path)
    assert r.status_code == 200 and r.mimetype == "text/calendar"
    events = _events(r.data)
    uid = f"{ref.lower()}@{HOST}"
    assert set(events) == {uid}
    first = events[uid]
    assert str(first["SUMMARY"]) == f"{ref}: New Wi-Fi in the library"
    assert str(first["STATUS"]) == "TENTATIVE" and int(first["SEQUENCE"]) == 1
    assert f"/changes/{ref}" in str(first["DESCRIPTION"]) and "Helpdesk ext. 204" in str(first["DESCRIPTION"])
    # Parsed by an independent reader as well.
    other = vobject.readOne(r.get_data(as_text=True))
    assert [e.uid.value for e in other.vevent_list] == [uid]

    etag = r.headers["ETag"]
    assert reader.get(path, headers={"If-None-Match": etag}).status_code == 304

    stages.record_release_plan(sqlite_rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(sqlite_rt), "window_start": "2027-03-27T22:00",
                                       "window_end": "2027-03-28T04:00"})
    r = reader.get(path, headers={"If-None-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] != etag
    moved = _events(r.data)[uid]
    assert int(moved["SEQUENCE"]) == 2
    # Across the clock change (01:00 GMT → 02:00 BST on 28 March 2027): six hours of wall
    # time shown as 22:00–04:00 local, five real hours, with the zone described.
    assert moved["DTSTART"].params["TZID"] == "Europe/London"
    start, end = moved.decoded("DTSTART"), moved.decoded("DTEND")
    assert (start.hour, end.hour) == (22, 4)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 5 * 3600
    assert b"BEGIN:VTIMEZONE" in r.data and b"TZID:Europe/London" in r.data

    changes_service.fire(sqlite_rt, actor_id=school.requester, ref=ref, trigger="withdraw",
                         reason="Budget cut")
    gone = _events(reader.get(path).data)[uid]
    assert str(gone["STATUS"]) == "CANCELLED" and int(gone["SEQUENCE"]) == 2


def test_the_schedule_feed_is_for_the_cab_and_shows_releases_and_freezes(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    scheduled = f.change_in(sqlite_rt, school, "minor", "scheduled")
    f.change_in(sqlite_rt, school, "minor", "release_planning")  # not scheduled: not in this feed
    calendar.add_period(sqlite_rt, actor_id=None, kind="exams", title="GCSE summer series",
                        start="2027-05-10", end="2027-06-25")
    calendar.add_period(sqlite_rt, actor_id=None, kind="term", title="Summer term", start="2027-04-12",
                        end="2027-07-21")
    requester = app.test_client()  # no schedule role, not in the support audience
    login(requester, school.emails[school.other_requester])
    r = post(requester, "/account/feeds", {"kind": "schedule"})
    assert r.status_code == 400 and "forward schedule" in r.get_data(as_text=True)
    path = _feed(app.test_client(), school, school.cab[0], "schedule")
    body = app.test_client().get(path).data
    events = _events(body)
    assert f"{scheduled.lower()}@{HOST}" in events and len(events) == 2
    freeze = next(e for e in events.values() if "GCSE" in str(e["SUMMARY"]))
    assert str(freeze["SUMMARY"]) == "Change freeze: GCSE summer series"
    assert str(freeze.decoded("DTSTART")) == "2027-05-10" and str(freeze.decoded("DTEND")) == "2027-06-26"
    vobject.readOne(body.decode())


def test_a_revoked_or_unknown_address_reads_nothing(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    client = app.test_client()
    path = _feed(client, school, school.requester)
    reader = app.test_client()
    assert reader.get(path).status_code == 200
    feed_id = feeds.list_feeds(sqlite_rt, user_id=school.requester)[0].id
    assert post(client, f"/account/feeds/{feed_id}/revoke").status_code == 302
    assert reader.get(path).status_code == 404
    assert reader.get("/calendar/feed/fc_" + "x" * 43 + ".ics").status_code == 404
    assert reader.get("/calendar/feed/" + "y" * 300 + ".ics").status_code == 404


def test_a_cached_feed_survives_a_decision_outside_its_year_and_follows_one_inside(sqlite_rt, monkeypatch):
    """Issue 21.4: every decision anywhere rebuilt every feed (a year's feed is thousands of
    events). Now a feed is kept per version of the changes in its own range."""
    from datetime import timedelta

    from fitsflow.services import gates

    rt = sqlite_rt
    school = f.School(rt)
    here = f.change_in(rt, school, "minor", "implement_approval", title="Wi-Fi here",
                       window=rt.now() + timedelta(days=10))
    far = f.change_in(rt, school, "minor", "implement_approval", title="Printing much later",
                      window=rt.now() + timedelta(days=400))
    schedule_feed = feeds.create_feed(rt, user_id=school.cab[0], kind="schedule")
    my_feed = feeds.create_feed(rt, user_id=school.requester, kind="mine")

    def look() -> tuple[feeds.Feed | None, feeds.Feed | None]:
        return feeds.render(rt, token=schedule_feed), feeds.render(rt, token=my_feed)

    kept = look()
    assert kept[0] is not None and kept[1] is not None and b"Wi-Fi here" in kept[1].body
    gates.decide(rt, actor_id=school.cab[0], ref=far, decision="approve")  # beyond the feed's year
    changes_service.fire(rt, actor_id=school.requester, ref=far, trigger="schedule")
    again = look()
    assert again[0] is kept[0] and again[1] is kept[1]
    assert b"Printing much later" not in again[1].body  # (outside the range, as it should be)
    gates.decide(rt, actor_id=school.cab[0], ref=here, decision="approve")  # within it
    changes_service.fire(rt, actor_id=school.requester, ref=here, trigger="schedule")
    moved = look()
    assert moved[0] is not kept[0] and moved[1] is not kept[1]
    assert moved[1] is not None and _events(moved[1].body)[f"{here.lower()}@{HOST}"]["STATUS"] == "CONFIRMED"
    read: list[int] = []
    real = feeds.feed_store.releases
    monkeypatch.setattr(feeds.feed_store, "releases", lambda *a, **k: read.append(1) or real(*a, **k))
    # The calendar: the feed is made again with the freeze, from the releases' events as kept.
    calendar.add_period(rt, actor_id=None, kind="freeze", title="Mocks",
                        start=(rt.now() + timedelta(days=30)).date().isoformat())
    frozen = look()
    assert frozen[0] is not moved[0] and frozen[0] is not None and b"Change freeze: Mocks" in frozen[0].body
    assert read == []


@pytest.mark.parametrize("tzid", ["Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata"])
def test_three_readers_read_each_window_at_the_same_instant_in_winter_summer_and_the_clock_change(tzid):
    """Issue 22.10: vobject read every winter time an hour late (icalendar's VTIMEZONE opened
    with a 1970 rule it applied to every date). The zone is now written as yearly rules; the
    feed is read by icalendar, vobject and dateutil alike."""
    from datetime import datetime, timedelta
    from io import StringIO
    from types import SimpleNamespace
    from zoneinfo import ZoneInfo

    from dateutil import tz as dateutil_tz

    from fitsflow.domain import ical_zone
    from fitsflow.persistence.feed_store import FeedRelease

    zone = ZoneInfo(tzid)
    walls = [datetime(2027, 1, 14, 9, 30), datetime(2027, 7, 15, 18, 0),  # winter, summer
             datetime(2027, 3, 27, 22, 0), datetime(2027, 3, 28, 4, 0),  # London's spring weekend
             datetime(2027, 10, 30, 23, 0), datetime(2027, 10, 31, 3, 0),  # and autumn's
             datetime(2027, 3, 13, 23, 0), datetime(2027, 11, 7, 3, 0),  # New York's
             datetime(2027, 4, 3, 23, 0), datetime(2027, 10, 3, 4, 0)]  # Sydney's
    starts = [w.replace(tzinfo=zone) for w in walls]
    releases = [FeedRelease(f"CHG-{i:04d}", "Window", "scheduled", "standard", "minor", starts[0], s,
                            s + timedelta(hours=1), 1, "", "Sam", "") for i, s in enumerate(starts)]
    settings = SimpleNamespace(school=SimpleNamespace(timezone=tzid, name="School"),
                               delivery=SimpleNamespace(base_url="https://school.example"))
    workflows = SimpleNamespace(states_of_kind=lambda *kinds: [("standard", "scheduled")])
    rt = SimpleNamespace(timezone=zone, settings=settings, workflows=workflows,
                         now=lambda: datetime(2027, 1, 1, tzinfo=zone))
    body = feeds._ical(rt, "mine", feeds.release_events(rt, releases), []).decode()  # type: ignore[arg-type]
    assert "RRULE:FREQ=YEARLY" in body or tzid == "Asia/Kolkata"
    assert ical_zone.vtimezone(tzid, 2027) is not None
    expected = [s.astimezone(UTC) for s in starts]

    by_icalendar = sorted(e.decoded("DTSTART").astimezone(UTC)
                          for e in icalendar.Calendar.from_ical(body).walk("VEVENT"))
    by_vobject = sorted(e.dtstart.value.astimezone(UTC) for e in vobject.readOne(body).vevent_list)
    # dateutil reads the VTIMEZONE itself; the events' wall times are applied to it.
    zone_block = body[body.index("BEGIN:VTIMEZONE"):body.index("END:VTIMEZONE") + len("END:VTIMEZONE")]
    read_zone = dateutil_tz.tzical(StringIO(zone_block)).get(tzid)
    by_dateutil = sorted(w.replace(tzinfo=read_zone).astimezone(UTC) for w in walls)
    assert by_icalendar == by_vobject == by_dateutil == sorted(expected)
