"""Issue 21.3: a list's total is counted no further than its page needs (limits.COUNT_CAP, or
the end of the page asked for): past that the page says "1,000+" and offers Next, the API
says ``more``. Here the cap is made small so a few changes pass it."""

from __future__ import annotations

import pytest

from fitsflow.domain import limits
from fitsflow.services import change_search, inbox
from fitsflow.services.change_search import ChangeFilter

from . import factories as f
from .web_support import WebSchool, login, make_app


@pytest.fixture
def capped(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(limits, "COUNT_CAP", 3)


def test_a_list_past_the_cap_says_at_least_and_goes_on(rt, capped):
    school = f.School(rt)
    for i in range(6):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"Change {i}")
    page = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(), limit=2)
    assert (page.total, page.more, page.has_next) == (3, True, True)
    # Reading further counts to the end of the page asked for: exact once the end is in sight.
    deep = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(), limit=2, offset=4)
    assert (deep.total, deep.more, deep.has_next, len(deep.items)) == (6, False, False, 2)
    few = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(q="Change 1"), limit=2)
    assert (few.total, few.more) == (1, False)
    phase = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(phase="planning"), limit=2)
    assert (phase.total, phase.more) == (3, True)


def test_the_pages_and_the_api_show_the_bound(rt, tmp_path, capped):
    school = WebSchool(rt)
    for i in range(12):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"Change {i}")
    app = make_app(rt, tmp_path)
    client = app.test_client()
    assert login(client, school.emails[school.auditor]).status_code == 302
    page = client.get("/changes?size=10").get_data(as_text=True)
    assert "All changes you may see: 10+" in page and "1–10 of 10+" in page and 'rel="next"' in page
    last = client.get("/changes?size=10&page=2").get_data(as_text=True)
    assert "11–12 of 12" in last and 'rel="next"' not in last  # counted to the page's end: exact
    assert "Change register: 10+ changes" in client.get("/audit?size=10").get_data(as_text=True)
    from fitsflow.services import auth

    token = auth.create_token(rt, user_id=school.auditor, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/changes?limit=2", headers=headers).get_json()
    assert (body["total"], body["more"]) == (3, True)
    body = client.get("/api/v1/changes?limit=20", headers=headers).get_json()
    assert (body["total"], body["more"]) == (12, False)


def test_the_inbox_counts_as_far_as_its_page(rt, capped):
    from fitsflow.delivery.worker import Worker

    school = f.School(rt)
    for i in range(5):
        f.change_in(rt, school, "minor", "proceed_approval", title=f"Change {i}")
    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))
    every = inbox.my_notices(rt, actor_id=school.finance, limit=50)
    assert every.total >= 5 and not every.more  # counted to the end of a page of 50: exact
    first = inbox.my_notices(rt, actor_id=school.finance, limit=1)
    assert (first.total, first.more, first.has_next) == (3, True, True)
    assert first.unread == every.unread  # the unread count is always exact


def test_the_requesters_home_counts_each_phase_as_far_as_the_cap(rt, capped):
    school = f.School(rt)
    for i in range(5):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"Change {i}")
    f.change_in(rt, school, "minor", "financial_planning", title="Another")
    mine = change_search.mine_by_phase(rt, actor_id=school.requester)
    planning = mine["planning"]
    assert (planning.total, planning.more, len(planning.items)) == (4, True, 5)  # 3 + 1, and more
    assert (mine["delivery"].total, mine["delivery"].more) == (0, False)


def test_the_home_counts_only_the_states_whose_few_rows_fill_the_page(rt):
    """A state the home shows fewer than its few rows of has just those: only the states whose
    rows fill it are counted, in one statement (none for a requester with a few changes)."""
    from sqlalchemy import event

    school = f.School(rt)
    for i in range(6):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"Change {i}")
    for i in range(2):
        f.change_in(rt, school, "minor", "financial_planning", title=f"Planned {i}")
    f.change_in(rt, school, "minor", "approved", title="Delivering")
    counted: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "count(" in statement.lower():
            counted.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", seen)
    try:
        mine = change_search.mine_by_phase(rt, actor_id=school.requester, per_phase=5)
        few = change_search.mine_by_phase(rt, actor_id=school.requester, per_phase=10)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", seen)
    assert (mine["planning"].total, mine["planning"].more, len(mine["planning"].items)) == (8, False, 5)
    assert (mine["delivery"].total, len(mine["delivery"].items)) == (1, 1)
    assert (few["planning"].total, few["delivery"].total) == (8, 1)
    phase_counts = [s for s in counted if "UNION ALL" in s or "requester_id" in s]
    assert len(phase_counts) == 1  # the first call's, for needs analysis alone; none for the second
    assert phase_counts[0].count("count(") == 1
