"""Issue: with the window inside the lead time, notices were published about a second after
scheduling. Now a notice that would publish within a school day is held for the requester:
send now, send at a time, or not relevant to its audience (with a reason)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitsflow.domain.errors import InvalidInput, NotAllowed, NotPermitted
from fitsflow.services import changes as changes_service
from fitsflow.services import notices

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


def _by_audience(rt, school, ref):  # type: ignore[no-untyped-def]
    return {n.audience: n for n in notices.notices_for(rt, actor_id=school.requester, ref=ref)}


def test_notices_due_at_once_are_held_until_the_requester_says(rt):
    school = f.School(rt)
    f.user(rt, "", "staff", "Teacher")
    ref = f.change_in(rt, school, "minor", "scheduled")  # window ten days ahead: SLT's is due at once
    held = _by_audience(rt, school, ref)
    assert held["slt"].status == "held" and held["staff"].status == "draft"
    assert notices.publish_due(rt) == 0  # nothing goes out by itself
    with pytest.raises(NotPermitted):
        notices.release_notice(
            rt, actor_id=school.cab[0], ref=ref, notice_id=held["slt"].id, action="send_now"
        )
    with pytest.raises(InvalidInput) as err:
        notices.release_notice(
            rt, actor_id=school.requester, ref=ref, notice_id=held["slt"].id, action="not_relevant"
        )
    assert "reason" in err.value.problems
    notices.release_notice(
        rt, actor_id=school.requester, ref=ref, notice_id=held["slt"].id, action="send_now"
    )
    assert notices.publish_due(rt) == 1
    notices.release_notice(
        rt,
        actor_id=school.requester,
        ref=ref,
        notice_id=held["parents"].id,
        action="not_relevant",
        reason="The sports hall is not used by visitors that week",
    )
    after = _by_audience(rt, school, ref)
    assert after["slt"].status == "published" and after["parents"].status == "not_relevant"
    with pytest.raises(NotAllowed):
        notices.release_notice(
            rt, actor_id=school.requester, ref=ref, notice_id=after["slt"].id, action="send_now"
        )


def test_send_at_a_time_before_the_window(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    slt = _by_audience(rt, school, ref)["slt"]
    plan = changes_service.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and plan.window_start is not None
    after = plan.window_start.astimezone(rt.timezone).replace(tzinfo=None) + timedelta(days=1)
    with pytest.raises(InvalidInput, match="until the window starts"):
        notices.release_notice(
            rt, actor_id=school.requester, ref=ref, notice_id=slt.id, action="send_at", at=after.isoformat()
        )
    # A whole hour on the window's day before it starts (the factory's window starts ten
    # days from now, at whatever time of day the test runs).
    start = plan.window_start.astimezone(rt.timezone).replace(tzinfo=None)
    at = (start - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    notices.release_notice(
        rt, actor_id=school.requester, ref=ref, notice_id=slt.id, action="send_at", at=at.isoformat()
    )
    moved = _by_audience(rt, school, ref)["slt"]
    assert moved.status == "draft" and moved.publish_at.astimezone(rt.timezone).replace(tzinfo=None) == at


def test_the_change_page_sends_a_held_notice(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "scheduled")
    client = app.test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "held for you" in page and "they are held until you send them" in page
    slt = _by_audience(sqlite_rt, school, ref)["slt"]
    r = post(
        client, f"/changes/{ref}/notices/{slt.id}/release", {"action": "send_now"}, page=f"/changes/{ref}"
    )
    assert r.status_code == 302 and _by_audience(sqlite_rt, school, ref)["slt"].status == "draft"


def test_the_api_and_the_command_line_settle_a_held_notice_as_the_page_does(file_rt, tmp_path,
                                                                            monkeypatch):
    """Issue 22.10: held notices could be sent now, re-timed or marked not relevant only on the
    web. The API and the command line do it through the same service, with its refusals."""
    from click.testing import CliRunner

    from fitsflow.cli import cli

    from .web_support import WebSchool, bearer, make_app

    rt = file_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    held = _by_audience(rt, school, ref)
    client = app.test_client()
    mine, theirs = bearer(rt, school.requester), bearer(rt, school.cab[0])
    path = f"/api/v1/changes/{ref}/notices/{held['slt'].id}/release"
    r = client.post(path, json={"action": "not_relevant"}, headers=mine)
    assert r.status_code == 400 and "reason" in r.get_json()["problems"]
    assert client.post(path, json={"action": "send_now"}, headers=theirs).status_code == 403
    r = client.post(path, json={"action": "send_now"}, headers=mine)
    assert r.status_code == 200 and r.get_json()["status"] == "draft"
    other = held["staff"]  # a draft, not yet due: the same word may be given on it
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", rt.db.engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    email = school.emails[school.requester]
    listed = runner.invoke(cli, ["change", "notices", ref, "--as", email])
    assert listed.exit_code == 0, listed.output
    assert f"{other.id}  {other.audience}  draft  " in listed.output
    done = runner.invoke(cli, ["change", "notice", ref, str(other.id), "not_relevant", "--as", email,
                               "--reason", "Parents are not affected"])
    assert done.exit_code == 0, done.output
    assert _by_audience(rt, school, ref)[other.audience].status == "not_relevant"
