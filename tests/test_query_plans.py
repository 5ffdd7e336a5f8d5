"""Issue 21.3: pages whose cost follows the page, not the history. The requester's home and
the change lists read every filter and sort through an index: no full scan of the changes,
no sort of all of them — checked here by reading each query's plan on both databases
(SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN with sequential scans and sorts priced
out, so a plan still using one has no index to use)."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from fitsflow.persistence import change_store
from fitsflow.services import change_search
from fitsflow.services.change_search import ChangeFilter

from . import factories as f

FILTERS: dict[str, dict[str, Any]] = {
    "none": {},
    "state": {"state": "closed"},
    "category": {"category": "minor"},
    "phase": {"phase": "delivery"},
    "requester": {"requester_id": 1},
    "service": {"service": "Wi-Fi"},
    "cost": {"cost_min": Decimal("100")},
    "created": {"created_from": date(2026, 1, 1)},
}
SORTS = ("-updated", "updated", "-created", "created", "ref", "-ref", "title", "cost", "-cost", "state",
         "category")


def _statements(rt, run) -> list[tuple[str, Any]]:  # type: ignore[no-untyped-def]
    """The SELECTs on changes ``run`` sends, as the driver receives them."""
    seen: list[tuple[str, Any]] = []
    last: list[Any] = [None]  # an engine's copies share listeners: one execution fires twice

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if context is last[0]:
            return
        last[0] = context
        if statement.lstrip().upper().startswith("SELECT") and "changes" in statement:
            seen.append((statement, parameters))

    event.listen(rt.db.engine, "before_cursor_execute", capture)
    event.listen(rt.db._read_engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", capture)
        event.remove(rt.db._read_engine, "before_cursor_execute", capture)
    return seen


RANGED = ("changes", "release_plans")  # the tables whose every row a page must never read


def _plan(rt, statement: str, parameters: Any) -> list[str]:  # type: ignore[no-untyped-def]
    raw = rt.db.engine.raw_connection()
    try:
        return [str(r[-1]) for r in raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    finally:
        raw.close()


def _problems(rt, statement: str, parameters: Any) -> list[str]:  # type: ignore[no-untyped-def]
    raw = rt.db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        if rt.db.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [str(row[-1]) for row in cursor.fetchall()]
            # A plain "SCAN changes" walks the table in id order: a problem only when it filters
            # (an id-ordered page with no filter stops at its limit).
            filtering = " WHERE " in statement.upper()
            return [line for line in lines
                    if (re.fullmatch(r"SCAN (changes|release_plans)", line.strip()) and filtering)
                    or ("TEMP B-TREE FOR ORDER BY" in line and "RIGHT PART" not in line)]
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_sort = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        found: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in RANGED:
                found.append(f"Seq Scan on {node['Relation Name']}")
            if node.get("Node Type") == "Sort":
                found.append(f"Sort by {node.get('Sort Key')}")
            for child in node.get("Plans", ()):
                walk(child)

        walk(plan[0]["Plan"])
        return found
    finally:
        raw.rollback()
        raw.close()


@pytest.fixture
def listed(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    from fitsflow.services import catalogue

    catalogue.load_demo(rt)
    for _ in range(3):
        f.change_in(rt, school, "minor", "needs_analysis", affected=("Wi-Fi",))
    return rt, school


@pytest.mark.parametrize("name", FILTERS)
def test_each_filter_of_the_lists_reads_an_index(listed, name):
    rt, school = listed
    filters = ChangeFilter(**FILTERS[name])
    sent = _statements(rt, lambda: change_search.find(rt, actor_id=school.auditor, filters=filters))
    assert sent
    for statement, parameters in sent:
        if name == "none" and "count(" in statement.lower():
            continue  # how many changes there are: counting them all is what was asked
        assert _problems(rt, statement, parameters) == [], statement


@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_of_the_lists_reads_an_index(listed, sort):
    rt, school = listed
    filters = ChangeFilter(sort=sort)
    sent = _statements(rt, lambda: change_search.find(rt, actor_id=school.auditor, filters=filters))
    pages = [(s, p) for s, p in sent if "count(" not in s.lower()]
    assert pages
    for statement, parameters in pages:
        assert _problems(rt, statement, parameters) == [], statement


def test_a_school_persons_list_at_a_step_reads_their_schools_stretch_of_one_index(rt):
    """In a trust, a person of one school reads the changes through their school's view: a
    list at a step (a phase's filter, the peer reviews waiting) walked the school's whole
    history by its school index, checking each change's step (3 ms at 2,000 changes, against
    0.02 ms for one school alone). The school's stretch at that step is one index's."""
    from fitsflow.services import schools

    oak = f.School(rt)  # made while the trust has one school: its people belong to it
    schools.add_school(rt, slug="brook", name="Brook Primary")
    f.change_in(rt, oak, "minor", "scheduled")
    filters = ChangeFilter(phase="delivery")
    sent = _statements(rt, lambda: change_search.find(rt, actor_id=oak.auditor, filters=filters))
    stretches = [(s, p) for s, p in sent if "school_id IN" in s and "changes.state = " in s
                 and "count(" not in s.lower()]
    assert stretches, "\n\n".join(s for s, _ in sent)
    for statement, parameters in stretches:
        assert _problems(rt, statement, parameters) == [], statement
        if rt.db.dialect == "sqlite":
            assert any("school_id=? AND workflow=? AND state=?" in line
                       for line in _plan(rt, statement, parameters)), statement
    assert change_search.find(rt, actor_id=oak.auditor, filters=filters).total == 1


def test_a_school_persons_missed_occurrences_read_their_own_changes_in_their_school(rt):
    """The home's routine work missed: the requester's changes joined to their occurrences.
    Through a school's view, the school's index looked as narrow as the requester's and the
    whole school's history was walked (3 ms at 2,000 changes); the requester's own rows in
    the school are one index's."""
    from fitsflow.services import recurrences, schools

    oak = f.School(rt)
    schools.add_school(rt, slug="brook", name="Brook Primary")
    f.change_in(rt, oak, "minor", "needs_analysis")
    sent = _statements(rt, lambda: recurrences.missed(rt, actor_id=oak.requester))
    joined = [(s, p) for s, p in sent if "recurrence_occurrences" in s]
    assert len(joined) == 1, "\n\n".join(s for s, _ in sent)
    statement, parameters = joined[0]
    assert "school_id IN" in statement  # read through the school's view
    # Sorted: the person's occurrences only (what the join found), never all the changes.
    scans = [p for p in _problems(rt, statement, parameters) if "TEMP B-TREE" not in p and "Sort" not in p]
    assert scans == [], statement
    if rt.db.dialect == "sqlite":
        assert any("requester_id=? AND school_id=?" in line for line in _plan(rt, statement, parameters))


def test_a_school_persons_search_looks_up_its_hits_rather_than_walking_the_school(rt):
    """A search through a school's view read "in the hits or with that reference" by walking
    every change of the school to test each (10 ms at 2,000 changes); the hits are now read
    first and each looked up."""
    from fitsflow.services import schools

    oak = f.School(rt)
    schools.add_school(rt, slug="brook", name="Brook Primary")
    own = f.change_in(rt, oak, "minor", "needs_analysis", title="Projector in room 4")
    f.change_in(rt, oak, "minor", "needs_analysis", title="Something else")
    for q, expected in (("projector", [own]), (own.lower(), [own]), ("nothing like it", [])):
        filters = ChangeFilter(q=q, sort="relevance")  # the list's order for a search
        sent = _statements(rt, lambda f=filters: change_search.find(rt, actor_id=oak.auditor, filters=f))
        searched = [(s, p) for s, p in sent if "school_id IN" in s and "change_search" in s]
        assert searched, "\n\n".join(s for s, _ in sent)
        for statement, parameters in searched:
            scans = [p for p in _problems(rt, statement, parameters)
                     if "TEMP B-TREE" not in p and "Sort" not in p]
            assert scans == [], statement
            if rt.db.dialect == "sqlite":
                walks = [line for line in _plan(rt, statement, parameters)
                         if re.search(r"INDEX \w+ \(school_id=\?\)$", line)]
                assert walks == [], statement
        found = change_search.find(rt, actor_id=oak.auditor, filters=filters)
        assert [v.ref for v in found.items] == expected and found.total == len(expected)


def test_the_requesters_home_reads_a_few_rows_per_state(listed):
    rt, school = listed
    f.change_in(rt, school, "minor", "closed")
    sent = _statements(rt, lambda: change_search.mine_by_phase(rt, actor_id=school.requester))
    # The newest few per state, the rows: two, however many phases (no state fills its few).
    assert len(sent) == 2, "\n\n".join(s for s, _ in sent)
    if rt.db.dialect == "postgresql":  # the states as one list, planned once: not a union of parts
        assert "JOIN LATERAL" in sent[0][0] and "UNION" not in sent[0][0]
    for statement, parameters in sent:
        assert _problems(rt, statement, parameters) == [], statement
    home = change_search.mine_by_phase(rt, actor_id=school.requester)
    assert home["planning"].total == 3 and len(home["planning"].items) == 3
    assert sum(p.total for p in home.values()) == 4
    assert home["planning"].items[0].change.state == "needs_analysis"
    for i in range(5):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"More {i}")
    sent = _statements(rt, lambda: change_search.mine_by_phase(rt, actor_id=school.requester, per_phase=2))
    # A state whose rows fill its few is counted, through its stretch of the index: three.
    assert len(sent) == 3, "\n\n".join(s for s, _ in sent)
    for statement, parameters in sent:
        assert _problems(rt, statement, parameters) == [], statement


def test_the_service_filter_follows_a_change_whose_services_are_edited(rt):
    school = f.School(rt)
    from fitsflow.services import catalogue

    catalogue.load_demo(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis", affected=("Wi-Fi",))

    def found(service: str) -> list[str]:
        page = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(service=service))
        return [x.change.ref for x in page.items]

    assert found("Wi-Fi") == [ref]
    with rt.db.transaction() as session:
        record = change_store.load(session, ref)
        assert record is not None
        record.affected_services = "Printing"
    assert found("Wi-Fi") == [] and found("Printing") == [ref]


def test_the_schedule_and_the_feeds_read_their_range_through_an_index(listed):
    """The month view and a year's feed, and the version they are cached by, read only the
    windows in their range (issue 21.4)."""
    from datetime import timedelta

    from fitsflow.services import feeds, schedule

    rt, school = listed
    f.change_in(rt, school, "minor", "scheduled", window=rt.now() + timedelta(days=3))
    token = feeds.create_feed(rt, user_id=school.cab[0], kind="schedule")
    mine = feeds.create_feed(rt, user_id=school.requester, kind="mine")
    start = rt.now().date()
    sent = _statements(rt, lambda: (
        schedule.forward_schedule(rt, actor_id=school.cab[0], start=start, days=35),
        feeds.render(rt, token=token), feeds.render(rt, token=mine)))
    ranged = [(s, p) for s, p in sent if "release_plans" in s]
    # The month's changes and versions, and its rows (by id: the first view reads them all);
    # each feed's version and rows.
    assert len(ranged) >= 5
    assert any("window_end >" not in s for s, _ in ranged)  # the month's rows, by their ids
    for statement, parameters in ranged:
        # The range's rows are sorted (a few hundred at most); never every window.
        found = [p for p in _problems(rt, statement, parameters)
                 if "TEMP B-TREE FOR ORDER BY" not in p and not p.startswith("Sort by")]
        assert found == [], statement
        if rt.db.engine.dialect.name == "sqlite" and "window_end >" in statement:
            # entered by the end: windows to come, not history
            assert any("ix_release_plans_window_end (window_end>?)" in line
                       for line in _plan(rt, statement, parameters)), statement
    if rt.db.engine.dialect.name == "sqlite":  # the versions from the indexes alone
        versions = [(s, p) for s, p in ranged if "sum(" in s.lower() or "c.id, c.version" in s]
        assert len(versions) >= 2
        raw = rt.db.engine.raw_connection()
        try:
            for statement, parameters in versions:
                rows = raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plan = [str(r[-1]) for r in rows]
                assert all("COVERING INDEX" in line for line in plan), plan
        finally:
            raw.close()


def _reads_of(rt, table: str, run) -> list[tuple[str, list[str]]]:  # type: ignore[no-untyped-def]
    """Each statement on ``table`` that ``run`` reads, with its plan: SQLite's EXPLAIN QUERY
    PLAN, or PostgreSQL's EXPLAIN with sequential scans and sorts priced out."""
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if table in statement:
            seen.append((statement, parameters))

    event.listen(rt.db._read_engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(rt.db._read_engine, "before_cursor_execute", capture)
    raw = rt.db.engine.raw_connection()
    found = []
    try:
        cursor = raw.cursor()
        for statement, parameters in seen:
            if rt.db.engine.dialect.name == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                found.append((statement, [str(row[-1]) for row in cursor.fetchall()]))
            else:
                cursor.execute("SET enable_seqscan = off")
                cursor.execute("SET enable_sort = off")
                cursor.execute("EXPLAIN " + statement, parameters)
                found.append((statement, [str(row[0]) for row in cursor.fetchall()]))
    finally:
        raw.rollback()
        raw.close()
    return found


def test_the_inbox_page_and_the_unread_badge_read_a_page_and_the_unread_rows_only(rt):
    """At 100,000 changes the badge on every page counted a person's whole inbox (20–35 ms) and
    the inbox page sorted it all (2.6 s): the page now stops at its rows, the badge counts the
    unread rows alone."""
    from fitsflow.delivery.worker import Worker
    from fitsflow.persistence import inbox_store

    school = f.School(rt)
    f.change_in(rt, school, "minor", "released")  # the requester is told at each step
    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))
    with rt.db.read() as session:
        listed = inbox_store.page(session, school.requester, unread_only=False, limit=3, offset=0)
        ids = [r.id for r in listed[0]]

    def run() -> None:
        with rt.db.read() as session:
            inbox_store.page(session, school.requester, unread_only=False, limit=25, offset=0)
            inbox_store.unread(session, school.requester)
            # From a position (and counted from there): no deeper than the first page.
            for position in ({"after": ids[0]}, {"before": ids[-1]}):
                rows, _, offset, _ = inbox_store.page(session, school.requester, unread_only=False, limit=1,
                                                   offset=500, **position)
                assert rows and offset == 500

    plans = _reads_of(rt, "inbox_items", run)
    assert len(plans) >= 2
    for _, plan in plans:
        if rt.db.engine.dialect.name == "sqlite":
            whole = [line for line in plan if "TEMP B-TREE" in line or line.strip() == "SCAN inbox_items"]
            assert whole == [], plan
            assert any("USING" in line and "INDEX" in line for line in plan), plan
        else:
            assert not any("Sort" in line or "Seq Scan" in line for line in plan), plan


def test_a_persons_release_notices_are_read_and_counted_from_their_own_index(rt):
    """Every release a school sends adds a receipt per person: a teacher's "release notices"
    page (and the inbox beside it) counted all of theirs (22 ms at 80,000 on PostgreSQL) and
    walked every receipt of the school newest first to find theirs. Both now read the
    person's own rows from (user_id, id), the count stopping at the cap."""
    from fitsflow.persistence import notice_store

    school = f.School(rt)
    for _ in range(3):
        f.change_in(rt, school, "minor", "released")
    with rt.db.read() as session:
        ids = [r.receipt_id for r in notice_store.received_page(session, school.staff, limit=3)[0]]

    def run() -> None:
        with rt.db.read() as session:
            notice_store.received_page(session, school.staff, limit=25, offset=0)
            # From a position (and counted from there): no deeper than the first page.
            for position in ({"after": ids[0]}, {"before": ids[-1]}):
                rows, _, offset, _ = notice_store.received_page(session, school.staff, limit=1, offset=500,
                                                             **position)
                assert rows and offset == 500

    plans = _reads_of(rt, "notice_receipts", run)
    assert len(plans) >= 4
    for _, plan in plans:
        assert not any("TEMP B-TREE" in line or "Sort" in line or "Seq Scan" in line for line in plan), plan
        assert any(re.search(r"\bix_notice_receipts_user\b", line) for line in plan), plan


def test_the_clash_check_reads_the_windows_to_come_not_every_standing_change(listed):
    """The clash check for one window started from the standing (workflow, state) pairs — most
    of a school's open changes — and looked up each one's window (14 ms at 20,000 changes on
    SQLite): it now reads the windows ending after the one checked, then each change by id."""
    from datetime import UTC, datetime, timedelta

    from fitsflow.services import clashes

    rt, _ = listed
    start = datetime(2026, 12, 1, 16, tzinfo=UTC)

    def run() -> None:
        with rt.db.read() as session:
            clashes.find(rt, session, change_id=0, services=["Wi-Fi"], start=start,
                         end=start + timedelta(hours=3))

    seen = [(s, p) for s, p in _statements(rt, run) if "release_plans" in s]
    assert len(seen) == 1
    statement, parameters = seen[0]
    # The rows in the window are sorted (a few), never all of them: no scan, no sort by an index walk.
    assert [p for p in _problems(rt, statement, parameters) if not p.startswith(("Sort", "USE TEMP"))] == []
    if rt.db.engine.dialect.name == "sqlite":
        plan = _plan(rt, statement, parameters)
        assert any("SEARCH release_plans USING COVERING INDEX ix_release_plans_window_end" in line
                   for line in plan), plan
        assert not any(line.startswith("SCAN") or "ix_changes_phase_updated" in line for line in plan), plan
