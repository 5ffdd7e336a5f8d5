"""Issue: approvers decided without the money and risk in view; an emergency approval was
listed last in the deputy head's queue. The queue now shows cost, risk, window, age and
gate, emergencies first and then the longest waiting, with counts per gate in the
navigation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fitsflow.domain.errors import InvalidInput
from fitsflow.services import changes, queues

from . import factories as f
from .web_support import WebSchool, login, make_app


def test_emergencies_come_first_then_the_longest_waiting(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    older = f.change_in(rt, school, "significant", "proceed_approval", title="Older")
    newer = f.change_in(rt, school, "significant", "proceed_approval", title="Newer")
    emergency = f.change_in(rt, school, "emergency", "emergency_approval", title="Broken portal")
    refs = [v.ref for v in queues.awaiting_decision(rt, actor_id=school.slt).items]
    assert refs == [emergency, older, newer]
    queue = queues.approval_queue(rt, actor_id=school.slt)
    assert [q.ref for q in queue.items] == refs and queue.total == 3
    assert queue.items[0].emergency and not queue.items[1].emergency
    assert queue.items[0].gate == "Emergency approval" and queue.items[1].gate == "Approval to proceed"
    assert all(q.waiting_since is not None for q in queue.items)
    assert queues.waiting_by_gate(rt, actor_id=school.slt) == [
        ("Approval to proceed", 2),
        ("Emergency approval", 1),
    ]


def test_each_item_carries_the_money_risk_and_window(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "implement_approval")
    (item,) = queues.approval_queue(rt, actor_id=school.cab[0]).items
    assert item.ref == ref and item.gate == "Approval to implement"
    # The factory's plan: £1,200 capital in year 1 and £100 of licences in each of five years.
    assert item.five_year_cost == Decimal("1700.00") and item.first_year_cost == Decimal("1300.00")
    assert item.risk == "low" and item.window_start is not None and item.window_end is not None
    plan = changes.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and item.window_start == plan.window_start


def test_the_queue_page_and_the_navigation_show_it(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "implement_approval")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.cab[0]])
    html = client.get("/approvals").get_data(as_text=True)
    assert ref in html and "£1,700.00" in html and "£1,300.00" in html and "Approval to implement" in html
    assert 'title="Approval to implement"' in html  # the count per gate in the navigation
    requester = make_app(rt, tmp_path).test_client()
    login(requester, school.emails[school.requester])
    assert 'title="Approval to implement"' not in requester.get("/").get_data(as_text=True)


def test_the_queue_sorts_by_a_column_and_emergencies_stay_first(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    cheap = f.change_in(rt, school, "significant", "proceed_approval", title="Cheap")
    costly = f.costly_change(rt, school, title="Costly")
    changes.fire(rt, actor_id=school.requester, ref=costly, trigger="submit_proceed")
    emergency = f.change_in(rt, school, "emergency", "emergency_approval", title="Broken portal")
    order = [q.ref for q in queues.approval_queue(rt, actor_id=school.slt, sort="-cost").items]
    assert order == [emergency, costly, cheap]
    assert [q.ref for q in queues.approval_queue(rt, actor_id=school.slt, sort="cost").items] == [
        emergency, cheap, costly]
    assert [q.ref for q in queues.approval_queue(rt, actor_id=school.slt, sort="-waiting").items] == [
        emergency, costly, cheap]
    with pytest.raises(InvalidInput, match="waiting, cost, ref, title"):
        queues.approval_queue(rt, actor_id=school.slt, sort="risk")


def test_the_queue_page_sorts_from_its_headings(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    f.change_in(rt, school, "minor", "implement_approval")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.cab[0]])
    html = client.get("/approvals?sort=-cost").get_data(as_text=True)
    assert 'aria-sort="descending"><a href="/approvals?sort=cost&amp;page=1">Five-year cost</a>' in html
    assert '<a href="/approvals?sort=waiting&amp;page=1">Waiting</a>' in html
    refused = client.get("/approvals?sort=risk")
    assert refused.status_code == 400
    assert "must be one of: waiting, cost, ref, title" in refused.get_data(as_text=True)


def test_the_api_gives_the_queue_with_its_facts_in_any_order(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .web_support import bearer

    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "implement_approval")
    client = make_app(rt, tmp_path).test_client()
    body = client.get("/api/v1/approvals?sort=-cost", headers=bearer(rt, school.cab[0])).get_json()
    assert body["total"] == 1
    (item,) = body["items"]
    assert item["change"]["ref"] == ref and item["gate"] == "Approval to implement"
    assert item["five_year_cost"] == "1700.00" and item["first_year_cost"] == "1300.00"
    assert item["risk"] == "low"
    assert item["window_start"] and item["waiting_since"] and item["emergency"] is False
    wrong = client.get("/api/v1/approvals?sort=risk", headers=bearer(rt, school.cab[0]))
    assert wrong.status_code == 400
    assert client.get("/api/v1/approvals", headers=bearer(rt, school.requester)).get_json()["total"] == 0
