"""The calendar as data: edited on an admin page, from the CLI and through the API;
imported from a CSV and from an ICS file (bad rows named, nothing imported); the demo
ships a realistic English academic year."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from fitsflow.domain.errors import InvalidInput
from fitsflow.services import auth, calendar
from fitsflow.services.demo_calendar import academic_years

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app, post

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

TERM_DATES_ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example County Council//Term dates//EN
BEGIN:VEVENT
UID:autumn-2027@example.gov.uk
DTSTAMP:20260901T000000Z
SUMMARY:Autumn Term 2027
DTSTART;VALUE=DATE:20270901
DTEND;VALUE=DATE:20271218
END:VEVENT
BEGIN:VEVENT
UID:ht-2027@example.gov.uk
DTSTAMP:20260901T000000Z
SUMMARY:October Half Term
DTSTART;VALUE=DATE:20271025
DTEND;VALUE=DATE:20271030
END:VEVENT
BEGIN:VEVENT
UID:inset-2027@example.gov.uk
DTSTAMP:20260901T000000Z
SUMMARY:INSET Day
DTSTART;VALUE=DATE:20270901
END:VEVENT
BEGIN:VEVENT
UID:ofsted@example.gov.uk
DTSTAMP:20260901T000000Z
SUMMARY:Open evening
DTSTART;TZID=Europe/London:20271007T170000
DTEND;TZID=Europe/London:20271007T203000
END:VEVENT
END:VCALENDAR
"""


def _all(rt):  # type: ignore[no-untyped-def]
    return calendar.page_periods(rt, limit=500)[0]


def test_term_dates_import_from_an_ics_file_with_kinds_read_from_the_titles(rt):
    assert calendar.import_ics(rt, data=TERM_DATES_ICS, actor_id=None) == 4
    by_title = {p.title: p for p in _all(rt)}
    tz = rt.timezone
    assert by_title["Autumn Term 2027"].kind == "term"
    assert by_title["Autumn Term 2027"].days(tz) == (date(2027, 9, 1), date(2027, 12, 17))
    assert by_title["October Half Term"].kind == "half_term"
    assert by_title["INSET Day"].days(tz) == (date(2027, 9, 1), date(2027, 9, 1))
    evening = by_title["Open evening"]
    assert evening.kind == "event" and evening.effect == "info"
    assert evening.starts_at.astimezone(tz).hour == 17


def test_a_bad_ics_event_is_named_and_nothing_is_imported(rt):
    bad = TERM_DATES_ICS.replace(b"DTEND;TZID=Europe/London:20271007T203000\n", b"")
    with pytest.raises(InvalidInput) as err:
        calendar.import_ics(rt, data=bad, actor_id=None)
    assert any("Open evening" in k and "no end" in v for k, v in err.value.problems.items())
    assert _all(rt) == []
    with pytest.raises(InvalidInput) as err:
        calendar.import_ics(rt, data=b"not a calendar at all", actor_id=None)
    assert "file" in err.value.problems


def test_a_csv_imports_every_row_or_none_naming_each_bad_line(rt):
    good = ("kind,title,start,end,effect,reason\n"
            "term,Spring term,2027-01-04,2027-03-26,,\n"
            "exams,GCSE summer series,2027-05-10,2027-06-25,,JCQ exams\n"
            "event,Ofsted window,2027-02-01,2027-02-05,freeze,Inspection expected\n")
    bad = good + "holiday,,2027-13-01,,,\nfestival,Fair,2027-06-01,,,\n"
    with pytest.raises(InvalidInput) as err:
        calendar.import_csv(rt, text=bad, actor_id=None)
    assert set(err.value.problems) == {"line 5", "line 6"}
    assert "title is required" in err.value.problems["line 5"] and "kind" in err.value.problems["line 6"]
    assert _all(rt) == []
    assert calendar.import_csv(rt, text=good, actor_id=None) == 3
    effects = {p.title: p.effect for p in _all(rt)}
    assert effects == {"Spring term": "info", "GCSE summer series": "freeze", "Ofsted window": "freeze"}
    with pytest.raises(InvalidInput) as err:
        calendar.import_csv(rt, text="name,when\nx,y\n", actor_id=None)
    assert "missing column" in err.value.problems["line 1"]


def test_the_demo_years_surround_today_with_every_kind():
    for today in (date(2026, 12, 2), date(2027, 8, 15), date(2027, 9, 1), date(2027, 9, 6)):
        rows = academic_years(today)
        kinds = {r["kind"] for r in rows}
        assert kinds == {"term", "half_term", "holiday", "inset", "exams", "mocks", "freeze"}
        terms = [r for r in rows if r["kind"] == "term"]
        assert len(terms) == 9  # three terms a year: the year before, this one, the next
        # Most of a year's terms either side of today.
        assert terms[0]["start"] <= (today - timedelta(days=300)).isoformat()
        assert terms[-1]["end"] >= (today + timedelta(days=300)).isoformat()
        exams = [r for r in rows if r["kind"] == "exams"]
        assert len(exams) == 3 and all(e["start"][5:7] == "05" and e["end"][5:7] == "06" for e in exams)


def test_the_admin_page_lists_adds_imports_and_removes(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    r = post(admin, "/admin/calendar", {"kind": "freeze", "title": "Ofsted", "start": "2027-03-01",
                                        "end": "2027-02-01"}, page="/admin/calendar")
    assert r.status_code == 400 and "must be after the start" in r.get_data(as_text=True)
    r = post(admin, "/admin/calendar", {"kind": "freeze", "title": "Ofsted window", "start": "2027-03-01",
                                        "end": "2027-03-05", "reason": "Inspection"}, page="/admin/calendar")
    assert r.status_code == 302
    page = admin.get("/admin/calendar?q=ofsted").get_data(as_text=True)
    assert "Ofsted window" in page and "Mon 01 Mar 2027" in page
    token = csrf_token(admin, "/admin/calendar")
    r = admin.post("/admin/calendar/import", data={"csrf_token": token,
                                                   "file": (io.BytesIO(TERM_DATES_ICS), "terms.ics")},
                   content_type="multipart/form-data")
    assert r.status_code == 302
    assert len(_all(sqlite_rt)) == 5
    period = next(p for p in _all(sqlite_rt) if p.title == "Ofsted window")
    form = admin.get(f"/admin/calendar/{period.id}").get_data(as_text=True)
    assert 'value="2027-03-01"' in form and 'value="2027-03-05"' in form and 'value="Inspection"' in form
    edit = f"/admin/calendar/{period.id}"
    r = post(admin, edit, {"kind": "freeze", "title": "Ofsted window", "start": "2027-03-08",
                           "end": "2027-03-01"}, page=edit)
    assert r.status_code == 400 and "must be after the start" in r.get_data(as_text=True)
    unchanged = next(p for p in _all(sqlite_rt) if p.id == period.id)
    assert unchanged.days(sqlite_rt.timezone)[0] == date(2027, 3, 1)
    r = post(admin, edit, {"kind": "freeze", "title": "Ofsted window", "start": "2027-03-08T12:00",
                           "end": "2027-03-12T15:30", "reason": "Inspection moved"}, page=edit)
    assert r.status_code == 302
    period = next(p for p in _all(sqlite_rt) if p.id == period.id)
    assert period.start_end_text(sqlite_rt.timezone) == ("2027-03-08T12:00", "2027-03-12T15:30")
    assert period.reason == "Inspection moved"
    assert admin.get("/admin/calendar/999999").status_code == 404
    assert post(admin, f"/admin/calendar/{period.id}/delete", page="/admin/calendar").status_code == 302
    assert "Ofsted window" not in [p.title for p in _all(sqlite_rt)]
    from fitsflow.persistence import audit_store

    with sqlite_rt.db.read() as session:
        events = [e.event_type for e in audit_store.iter_events(session)]
    assert {"calendar.added", "calendar.imported", "calendar.changed", "calendar.removed"} <= set(events)
    # Not for anyone else.
    cab = app.test_client()
    login(cab, school.emails[school.cab[0]])
    assert cab.get("/admin/calendar").status_code == 403


def test_the_api_lists_and_admins_edit(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    admin = {"Authorization": "Bearer " + auth.create_token(sqlite_rt, user_id=school.admin, name="t",
                                                            scope="admin")}
    reader = {"Authorization": "Bearer " + auth.create_token(sqlite_rt, user_id=school.requester, name="t",
                                                             scope="read")}
    client = app.test_client()
    r = client.post("/api/v1/calendar", json={"kind": "exams", "title": "Summer series",
                                               "start": "2027-05-10", "end": "2027-06-25"}, headers=admin)
    assert r.status_code == 201 and r.json["effect"] == "freeze" and r.json["last_day"] == "2027-06-25"
    pid = r.json["id"]
    r = client.get("/api/v1/calendar?kind=exams&start=2027-06-01", headers=reader)
    assert r.status_code == 200 and r.json["total"] == 1
    assert client.get("/api/v1/calendar?start=2027-07-01", headers=reader).json["total"] == 0
    assert client.get("/api/v1/calendar?kind=party", headers=reader).status_code == 400
    r = client.put(f"/api/v1/calendar/{pid}", json={"kind": "mocks", "title": "Mocks", "start": "2027-01-11",
                                                    "end": "2027-01-22"}, headers=admin)
    assert r.status_code == 200 and r.json["effect"] == "caution"
    assert client.delete(f"/api/v1/calendar/{pid}", headers=reader).status_code == 403
    assert client.delete(f"/api/v1/calendar/{pid}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/calendar/{pid}", headers=reader).status_code == 404


def test_the_command_line_adds_lists_imports_and_removes(tmp_path, monkeypatch):
    from fitsflow.cli import cli

    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cal.db'}")
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    result = runner.invoke(cli, ["calendar", "add", "--kind", "exams", "--title", "GCSE series",
                                 "--start", "2027-05-10", "--end", "2027-06-25"])
    assert result.exit_code == 0 and "freeze" in result.output
    ics = tmp_path / "terms.ics"
    ics.write_bytes(TERM_DATES_ICS)
    result = runner.invoke(cli, ["calendar", "import", str(ics)])
    assert result.exit_code == 0 and "4 periods" in result.output
    listing = runner.invoke(cli, ["calendar", "list", "--kind", "exams"]).output
    assert "GCSE series" in listing and "2027-05-10 – 2027-06-25" in listing
    pid = listing.split()[0]
    assert runner.invoke(cli, ["calendar", "remove", pid]).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,title,start\nterm,,2027-01-04\n")
    result = runner.invoke(cli, ["calendar", "import", str(bad)])
    assert result.exit_code != 0 and "line 2" in result.output


def test_only_admins_edit_through_the_service(sqlite_rt):
    school = f.School(sqlite_rt)
    from fitsflow.domain.errors import NotPermitted

    with pytest.raises(NotPermitted):
        calendar.import_csv(sqlite_rt, text="kind,title,start\nterm,T,2027-01-04\n",
                            actor_id=school.requester)


def test_far_dates_in_the_api_are_a_400_not_an_overflow(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    reader = {"Authorization": "Bearer " + auth.create_token(sqlite_rt, user_id=school.requester, name="t",
                                                             scope="read")}
    client = app.test_client()
    for query in ("end=9999-12-31", "start=0001-01-01", "start=2027-02-30"):
        r = client.get(f"/api/v1/calendar?{query}", headers=reader)
        assert r.status_code == 400, query
