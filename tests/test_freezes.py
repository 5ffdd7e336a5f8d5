"""Issue: no freeze or blackout window; a window in the past (1990) was accepted and
scheduled. Now submitting for approval to implement, approving and scheduling refuse a
window in a freeze (naming it and its dates); a caution period asks for a reason; an
emergency change may override a freeze with a recorded reason; a past window, or one too
soon for the shortest notice lead time, is refused (an emergency goes ahead)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitsflow.domain.errors import GateNotSatisfied
from fitsflow.persistence import audit_store
from fitsflow.services import calendar, gates, stages
from fitsflow.services import changes as changes_service

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


def _around_the_window(rt, kind: str = "exams", effect: str = "", title: str = "GCSE summer series"):  # type: ignore[no-untyped-def]
    """A period covering the factories' release window (ten days ahead)."""
    first = (rt.now() + timedelta(days=8)).date().isoformat()
    last = (rt.now() + timedelta(days=12)).date().isoformat()
    return calendar.add_period(rt, actor_id=None, kind=kind, title=title, start=first, end=last,
                               effect=effect)


def _events(rt, ref: str) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def, type-arg]
    import json

    with rt.db.read() as session:
        return [(e.event_type, json.loads(e.payload)) for e in audit_store.iter_events(session)
                if e.change_ref == ref]


def test_submitting_for_approval_to_implement_is_refused_in_a_freeze(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "release_planning")
    f.fill_stages(rt, school.requester, ref, ("release_plan",))
    _around_the_window(rt)
    before = f.counts(rt)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    text = str(err.value)
    assert "the freeze “GCSE summer series”" in text and "choose another window" in text
    assert f.snapshot(rt, ref)[0] == "release_planning" and f.counts(rt) == before
    # Shown on the change page before anyone tries: the action says what blocks it.
    detail = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    blocked = next(a for a in detail.actions if a.trigger == "submit_implement")
    assert any("GCSE summer series" in m for m in blocked.blocked_by)


def test_every_approval_is_refused_in_a_freeze_not_only_the_last(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "implement_approval")
    _around_the_window(rt, kind="freeze", title="Ofsted window")
    with pytest.raises(GateNotSatisfied) as err:
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", role="cab")
    assert "Ofsted window" in str(err.value)
    assert f.snapshot(rt, ref) [0] == "implement_approval"
    # Rejecting stays possible: the requester then moves the window.
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="reject", role="cab",
                    comment="Ofsted are in that week")
    assert f.snapshot(rt, ref)[0] == "release_planning"


def test_scheduling_is_refused_in_a_freeze(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    _around_the_window(rt)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    assert "GCSE summer series" in str(err.value)
    assert f.snapshot(rt, ref)[0] == "approved"


def test_a_caution_period_asks_for_a_reason_and_records_it(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    _around_the_window(rt, kind="mocks", title="Year 11 mocks")
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule")
    assert "caution period “Year 11 mocks”" in str(err.value) and "give a reason" in str(err.value)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="schedule",
                  reason="Only the library is affected; mocks are in the sports hall")
    assert f.snapshot(rt, ref)[0] == "scheduled"
    accepted = [p for e, p in _events(rt, ref) if e == "caution.accepted"]
    assert accepted and accepted[0]["reason"].startswith("Only the library")


def test_an_emergency_may_override_a_freeze_with_a_recorded_reason(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "emergency", "assessment")
    f.fill_stages(rt, school.requester, ref, ("release_plan", "needs"))
    _around_the_window(rt)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit")
    assert "an emergency change may go ahead with a reason" in str(err.value)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit",
                  reason="The exam-board portal is down: candidates' coursework cannot upload")
    overridden = [p for e, p in _events(rt, ref) if e == "freeze.overridden"]
    assert overridden and "GCSE summer series" in overridden[0]["freezes"][0]
    assert overridden[0]["reason"].startswith("The exam-board portal")
    # The approver, too, must say why to approve inside the freeze.
    with pytest.raises(GateNotSatisfied):
        gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve", role="slt")
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve", role="slt",
                    comment="Agreed with the exams officer")
    assert len([e for e, _ in _events(rt, ref) if e == "freeze.overridden"]) == 2


def test_a_window_in_the_past_is_refused_but_an_emergency_goes_ahead(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(rt), "window_start": "2020-03-02T10:00",
                                       "window_end": "2020-03-02T12:00"})
    # Moving an approved window reopens approval to implement; nobody can approve the past.
    assert f.snapshot(rt, ref)[0] == "implement_approval"
    with pytest.raises(GateNotSatisfied) as err:
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert "the window starts in the past" in str(err.value)
    emergency = f.change_in(rt, school, "emergency", "assessment")
    f.fill_stages(rt, school.requester, emergency, ("needs",))
    stages.record_release_plan(rt, actor_id=school.requester, ref=emergency,
                                 data={**f.release_plan(rt), "window_start": "2020-03-02T10:00",
                                       "window_end": "2020-03-02T12:00"})
    changes_service.fire(rt, actor_id=school.requester, ref=emergency, trigger="submit")


def test_a_window_too_soon_for_the_shortest_lead_time_is_refused(sqlite_rt):
    import dataclasses

    from fitsflow.domain.roles import Audience

    rt = sqlite_rt
    book = dataclasses.replace(rt.roles, audiences={
        **rt.roles.audiences, "students": Audience("students", "Students", "brief", 3),
        "parents": Audience("parents", "Parents", "brief", 3)})
    rt = dataclasses.replace(rt, roles=book)
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "approved")
    tomorrow = sqlite_rt.now() + timedelta(days=1)
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(sqlite_rt), "window_start": tomorrow.isoformat(),
                                       "window_end": (tomorrow + timedelta(hours=1)).isoformat()})
    assert f.snapshot(rt, ref)[0] == "implement_approval"  # moved nine days: approval reopened
    with pytest.raises(GateNotSatisfied) as err:
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert "less than the shortest notice lead time (3 school days)" in str(err.value)


def test_the_change_page_names_the_period_and_asks_for_the_reason(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "approved")
    _around_the_window(sqlite_rt, kind="mocks", title="Year 11 mocks")
    client = app.test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Caution:" in page and "Year 11 mocks" in page and 'id="reason-schedule"' in page
    version = f.snapshot(sqlite_rt, ref)[1]
    r = post(client, f"/changes/{ref}/actions/schedule", {"version": str(version)}, page=f"/changes/{ref}")
    assert r.status_code == 409 and "give a reason" in r.get_data(as_text=True)
    r = post(client, f"/changes/{ref}/actions/schedule",
             {"version": str(version), "reason": "Library only"}, page=f"/changes/{ref}")
    assert r.status_code == 302 and f.snapshot(sqlite_rt, ref)[0] == "scheduled"
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Went ahead in a caution period" in page and "Library only" in page


def test_overrides_and_accepted_cautions_are_counted_in_the_calendar_exceptions_report(sqlite_rt, tmp_path):
    from datetime import date

    from fitsflow.domain.errors import InvalidInput
    from fitsflow.services import auth, calendar_report

    from .web_support import WebSchool, login, make_app

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    cautious = f.change_in(sqlite_rt, school, "minor", "approved", title="Library kiosks")
    _around_the_window(sqlite_rt, kind="mocks", title="Year 11 mocks")
    changes_service.fire(sqlite_rt, actor_id=school.requester, ref=cautious, trigger="schedule",
                  reason="Library only")
    urgent = f.change_in(sqlite_rt, school, "emergency", "assessment", title="Exam portal")
    f.fill_stages(sqlite_rt, school.requester, urgent, ("release_plan", "needs"))
    calendar.add_period(sqlite_rt, actor_id=None, kind="exams", title="GCSE summer series",
                        start=(sqlite_rt.now() + timedelta(days=8)).date().isoformat(),
                        end=(sqlite_rt.now() + timedelta(days=12)).date().isoformat())
    changes_service.fire(sqlite_rt, actor_id=school.requester, ref=urgent, trigger="submit",
                         reason="Portal down")
    today = sqlite_rt.today()
    report = calendar_report.calendar_exceptions(sqlite_rt, actor_id=school.cab[0], first=today, last=today)
    # The emergency's window is in the mocks too: it accepted that caution as well.
    assert report.counts == {"freeze.overridden": 1, "caution.accepted": 2, "clash.accepted": 0}
    assert {(e.ref, e.kind, e.reason) for e in report.page.items} == {
        (urgent, "freeze.overridden", "Portal down"), (urgent, "caution.accepted", "Portal down"),
        (cautious, "caution.accepted", "Library only")}
    assert report.page.items[-1].ref == cautious  # newest first
    override = next(e for e in report.page.items if e.kind == "freeze.overridden")
    assert "GCSE summer series" in override.details[0] and override.actor == school.emails[school.requester]
    earlier = calendar_report.calendar_exceptions(sqlite_rt, actor_id=school.cab[0], first=date(2025, 9, 1),
                                                  last=today - timedelta(days=1))
    assert earlier.page.total == 0 and set(earlier.counts.values()) == {0}
    with pytest.raises(InvalidInput) as err:
        calendar_report.calendar_exceptions(sqlite_rt, actor_id=school.cab[0], first=today,
                                            last=today - timedelta(days=1))
    assert err.value.problems == {"to": "must be on or after the first day"}

    client = app.test_client()
    login(client, school.emails[school.auditor])
    page = client.get("/schedule/exceptions").get_data(as_text=True)
    assert "Freeze overridden (emergency)" in page and urgent in page and "Portal down" in page
    assert client.get("/schedule/exceptions?from=2027-02-30").status_code == 400
    assert client.get(f"/schedule/exceptions?from={today}&to={today - timedelta(days=1)}").status_code == 400
    token = auth.create_token(sqlite_rt, user_id=school.auditor, name="t")
    body = client.get("/api/v1/schedule/exceptions", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["counts"] == {"freeze_overridden": 1, "caution_accepted": 2, "clash_accepted": 0}
    assert body["total"] == 3 and body["items"][0]["ref"] == urgent
