"""Issue: approvers decided without the money and risk in view; an emergency approval was
listed last in the deputy head's queue. The queue now shows cost, risk, window, age and
gate, emergencies first and then the longest waiting, with counts per gate in the
navigation."""

from __future__ import annotations

from decimal import Decimal

from fitsflow import services
from fitsflow.services import queues

from . import factories as f
from .web_support import WebSchool, login, make_app


def test_emergencies_come_first_then_the_longest_waiting(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    older = f.change_in(rt, school, "significant", "proceed_approval", title="Older")
    newer = f.change_in(rt, school, "significant", "proceed_approval", title="Newer")
    emergency = f.change_in(rt, school, "emergency", "emergency_approval", title="Broken portal")
    refs = [v.ref for v in services.awaiting_decision(rt, actor_id=school.slt).items]
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
    plan = services.get_change(rt, actor_id=school.requester, ref=ref).release_plan
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
