"""Issue 20.2: "Mark as released" worked 34 days before the window, in one click, with all
five notices still drafts. Now a release before the window needs a reason (recorded as an
early release, shown on the register), and no change is released or closed while a notice
is a draft or held: each is published now or cancelled with a reason first."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput
from fitsflow.domain.guards import IMPLIED
from fitsflow.domain.vocabulary import CLOSED, RELEASED
from fitsflow.persistence import audit_store
from fitsflow.services import changes as changes_service
from fitsflow.services import notices, register
from fitsflow.services.change_search import ChangeFilter
from fitsflow.workflow import load_directory, shipped_directory

from . import factories as f
from .web_support import WebSchool, bearer, login, make_app, post


def _unsent(rt, school, ref):  # type: ignore[no-untyped-def]
    return [n for n in notices.notices_for(rt, actor_id=school.requester, ref=ref)
            if n.status in ("draft", "held")]


def test_an_early_release_with_drafts_is_refused_saying_what_is_missing(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    drafts = _unsent(rt, school, ref)
    assert len(drafts) >= 3
    before = f.snapshot(rt, ref), f.counts(rt)
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="release")
    missing = refused.value.missing
    assert any("release window opens" in m and "give a reason to release early" in m for m in missing)
    assert sum(m.endswith("publish it now or cancel it with a reason") for m in missing) == len(drafts)
    # A reason alone is not enough while notices are unsent …
    with pytest.raises(GateNotSatisfied, match="publish it now"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="release",
                             reason="Kit arrived early")
    # … and cancelling needs a reason of its own.
    choices = {n.id: ("cancel", "") for n in drafts}
    with pytest.raises(InvalidInput) as bad:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="release",
                             reason="Kit arrived early", notices=choices)
    assert set(bad.value.problems) == {f"notice_{n.id}_reason" for n in drafts}
    assert (f.snapshot(rt, ref), f.counts(rt)) == before


def test_with_a_reason_and_a_word_on_each_notice_it_is_released_and_recorded_as_early(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    drafts = _unsent(rt, school, ref)
    staff = next(n for n in drafts if n.audience == "staff")
    choices = {n.id: ("publish", "") if n.id == staff.id else ("cancel", "Nothing changes for them")
               for n in drafts}
    view = changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="release",
                                reason="The supplier came a week early", notices=choices)
    assert rt.workflows.get(view.workflow).definition.kind_of(view.state) == RELEASED
    statuses = {n.id: n.status for n in notices.notices_for(rt, actor_id=school.requester, ref=ref)}
    assert statuses[staff.id] == "published"
    assert all(statuses[n.id] == "cancelled" for n in drafts if n.id != staff.id)
    with rt.db.read() as session:
        kinds = [(e.event_type, e.payload) for e in audit_store.iter_events(session, change_ref=ref)]
    early = [p for k, p in kinds if k == "release.early"]
    assert len(early) == 1 and "The supplier came a week early" in early[0]
    cancelled = sum(k == "notice.cancelled" and "Nothing changes for them" in p for k, p in kinds)
    assert cancelled == len(drafts) - 1
    rows = register.page(rt, actor_id=school.auditor, filters=ChangeFilter(q=ref)).items
    assert [r.early_release for r in rows] == ["The supplier came a week early"]
    assert "Released early (why)" in register.header(rt)


def test_every_workflow_carries_the_rule_whatever_its_file_says(tmp_path):
    """The shipped files do not name the guards: the loader adds them to every transition
    into a released or closed state, so a custom file (or an old stored version) cannot
    leave them out."""
    for definition in load_directory(shipped_directory()):
        for t in definition.transitions:
            kind = definition.kind_of(t.dest)
            if kind in (RELEASED, CLOSED):
                assert set(IMPLIED[kind]) <= set(t.guards), (definition.name, t.trigger)


def test_the_api_and_the_change_page_ask_what_becomes_of_each_notice(sqlite_rt, tmp_path):
    rt = sqlite_rt
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    ref = f.change_in(rt, school, "minor", "scheduled")
    drafts = _unsent(rt, school, ref)
    client = app.test_client()
    headers = bearer(rt, school.requester)
    refused = client.post(f"/api/v1/changes/{ref}/actions/release", json={}, headers=headers)
    assert refused.status_code == 409 and refused.get_json()["code"] == "gate_not_satisfied"
    assert len(refused.get_json()["missing"]) == len(drafts) + 1
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Reason for releasing before the window opens" in page
    assert all(f'name="notice_{n.id}"' in page for n in drafts)
    version = changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.version
    form = {"version": str(version), "reason": "Parts in stock now"}
    form |= {f"notice_{n.id}": "publish" for n in drafts}
    done = post(client, f"/changes/{ref}/actions/release", form, page=f"/changes/{ref}")
    assert done.status_code == 302
    assert not _unsent(rt, school, ref)
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state == "released"
    # Through the API, on another change: the same choices in the body.
    other = f.change_in(rt, school, "minor", "scheduled")
    body = {"reason": "Parts in stock now",
            "notices": [{"id": n.id, "action": "publish"} for n in _unsent(rt, school, other)]}
    answer = client.post(f"/api/v1/changes/{other}/actions/release", json=body, headers=headers)
    assert answer.status_code == 200 and answer.get_json()["state"] == "released"
