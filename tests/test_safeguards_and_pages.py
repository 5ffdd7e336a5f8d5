"""Issue: "Withdraw the change" was a primary button, final, with no confirmation and an
empty reason accepted; every user row had a one-click "Deactivate"; Admin → Users was one
40,000 px page with no search; pagers said only "181 in all · Previous / Next"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitsflow.domain.errors import InvalidInput
from fitsflow.services import changes as changes_service
from fitsflow.services import users as users_service

from . import factories as f
from .web_support import WebSchool, bearer, csrf_token, login, make_app


def test_undoing_the_work_needs_a_reason(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Tablets", category="minor").ref
    detail = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    (withdraw,) = [a for a in detail.actions if a.destructive]
    assert withdraw.trigger == "withdraw" and not [
        a for a in detail.actions if a.destructive and a is not withdraw
    ]
    with pytest.raises(InvalidInput, match="say why"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw", reason="  ")
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state == "needs_analysis"
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw",
                         reason="Bought by the trust")
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state == "withdrawn"


def test_withdrawing_on_the_page_is_a_confirmed_step_with_a_reason(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Tablets", category="minor").ref
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    confirm = f"/changes/{ref}/actions/withdraw/confirm"
    assert f'href="{confirm}"' in page and 'class="button danger"' in page
    assert f'action="/changes/{ref}/actions/withdraw"' not in page  # no one-click form on the page
    step = client.get(confirm).get_data(as_text=True)
    assert "cannot be undone" in step and f'action="/changes/{ref}/actions/withdraw"' in step
    token = csrf_token(client, confirm)
    empty = client.post(f"/changes/{ref}/actions/withdraw", data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 400 and "say why" in empty.get_data(as_text=True)
    assert 'aria-invalid="true"' in empty.get_data(as_text=True)
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state == "needs_analysis"
    done = client.post(
        f"/changes/{ref}/actions/withdraw", data={"csrf_token": token, "reason": "Trust bought them"}
    )
    assert done.status_code == 302
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state == "withdrawn"
    # The flash says what was done in words, not a trigger name.
    assert "Withdraw the change: done" in client.get(f"/changes/{ref}").get_data(as_text=True)
    assert client.get(f"/changes/{ref}/actions/complete_needs/confirm").status_code == 404


def test_users_are_searched_and_paged_at_school_scale(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    for i in range(1000):
        users_service.add_user(
            rt, name=f"Staff Member {i:04d}", email=f"staff{i:04d}@test.school", audiences=["staff"]
        )
    rows, total = users_service.page_users(rt, q="", limit=25, offset=975)
    assert total >= 1000 and len(rows) == 25
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.admin])
    first = client.get("/admin/users").get_data(as_text=True)
    assert first.index("Add a user") < first.index("Find a user")  # the form comes first
    assert 'aria-current="page">1<' in first and 'aria-label="Page 2"' in first
    assert first.count("@test.school") <= 60  # one page, not everyone
    found = client.get("/admin/users?q=staff0427").get_data(as_text=True)
    assert "Staff Member 0427" in found and "Staff Member 0428" not in found and ": 1</caption>" in found
    bigger = client.get("/admin/users?size=100&page=3").get_data(as_text=True)
    assert 'aria-current="page">3<' in bigger and "201–300 of" in bigger
    rows, _ = users_service.page_users(rt, q="staff09", limit=3, sort="-email")
    assert [r.email for r in rows] == [f"staff{n}@test.school" for n in ("0999", "0998", "0997")]
    last = client.get("/admin/users?q=staff09&sort=-email").get_data(as_text=True)
    assert last.index("staff0999@") < last.index("staff0998@") and 'aria-sort="descending"' in last
    assert 'name="sort" value="-email"' in last  # a new search keeps the order
    assert client.get("/admin/users?sort=roles").status_code == 400


def test_the_requesters_home_shows_a_few_per_phase_and_links_to_the_rest(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    refs = [
        changes_service.raise_change(rt, actor_id=school.requester, title=f"Change {i}", category="minor").ref
        for i in range(30)
    ]
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    home = client.get("/").get_data(as_text=True)
    assert refs[-1] in home and refs[0] not in home  # the newest few, not all thirty
    assert "All 30 in planning" in home and "/changes?mine=1&amp;phase=planning" in home
    listed = client.get("/changes?mine=1&phase=planning").get_data(as_text=True)
    assert "Changes found: 30" in listed


def test_the_home_lists_a_few_releases_a_day_and_links_to_the_rest(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A busy fortnight keeps the home page short: a day lists as many releases as a day of the
    month view, then "N more" into that day's week, which lists them all."""
    from fitsflow.domain import limits
    from fitsflow.services import stages

    rt = sqlite_rt
    school = WebSchool(rt)
    busy = limits.SCHEDULE_DAY_ROWS + 2
    refs = [f.change_in(rt, school, "minor", "release_planning", title=f"Release {i}") for i in range(busy)]
    for ref in refs:
        stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=f.release_plan(rt))
    day = (rt.now() + timedelta(days=10)).astimezone(rt.timezone).date()
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    home = client.get("/").get_data(as_text=True)
    ahead = home[home.index('id="ahead"'):home.index("My changes")]
    assert sum(f'href="/changes/{ref}"' in ahead for ref in refs) == limits.SCHEDULE_DAY_ROWS
    assert f"2 more on {day.strftime('%A %d %B')}" in ahead
    link = f"/schedule?view=week&amp;date={day.isoformat()}"
    assert link in ahead
    week = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert all(f'/changes/{ref}"' in week for ref in refs)


def test_a_stage_that_cannot_be_edited_says_the_real_cause(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Tablets", category="minor").ref
    owner = make_app(rt, tmp_path).test_client()
    login(owner, school.emails[school.requester])
    early = owner.get(f"/changes/{ref}/stage/finance")
    text = early.get_data(as_text=True)
    assert early.status_code == 409 and "cannot be edited now: the change is at “Needs analysis”" in text
    assert "while the change is at “Financial planning”" in text and "permission" not in text
    other = make_app(rt, tmp_path).test_client()
    login(other, school.emails[school.other_requester])
    refused = other.get(f"/changes/{ref}/stage/needs")
    assert refused.status_code == 403 and "Only the requester and co-owners" in refused.get_data(as_text=True)


def test_an_action_overtaken_by_events_is_explained_in_words(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    token = csrf_token(client, f"/changes/{ref}")
    # The page offered "Needs analysis complete"; the change has moved on since.
    answer = client.post(f"/changes/{ref}/actions/complete_needs", data={"csrf_token": token})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "“Needs analysis complete” is not possible now" in text
    assert "the change is at “Financial planning”" in text
    assert "complete_needs" not in text and "Submit for approval to proceed" in text
    assert f'href="/changes/{ref}"' in text and f"Open {ref} as it is now" in text
    api = client.post(f"/api/v1/changes/{ref}/actions/complete_needs", json={},
                      headers=bearer(rt, school.requester))
    body = api.get_json()
    assert api.status_code == 409 and body["code"] == "not_allowed" and "submit_proceed" in body["allowed"]
    assert body["error"].startswith("“Needs analysis complete” is not possible now")
    assert "_" not in body["error"]


def test_a_page_for_other_roles_says_whose_it_is(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    school = WebSchool(sqlite_rt)
    client = make_app(sqlite_rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    answer = client.get("/admin/users")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 403 and "This page is for administrators" in text
    assert "permission" not in text and "ask an administrator for the role" in text
