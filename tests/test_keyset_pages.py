"""Issue 21.3: keyset pagination. The changes list and the register go on from the row next
to the page (``after`` / ``before``, the pager's Next and Previous, the API's ``next_after`` /
``prev_before``), so the thousandth page costs what the second does: the same rows as
offsets give, in every order (ties included), both ways; a position from another order or
a mangled one is refused with a message; a change updated meanwhile is not shown twice; and
the query reads its index as a range (no sort, no walk of the rows before the page)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence.models import Change
from fitsflow.services import auth, change_search, register
from fitsflow.services.change_search import ChangeFilter

from . import factories as f
from .test_query_plans import _problems, _statements
from .web_support import WebSchool, login, make_app

ORDERS = ("-updated", "updated", "-created", "created", "ref", "-ref", "title", "-title", "state",
          "category", "-category", "cost", "-cost", "relevance")
CHANGES = Change.__table__  # type: ignore[attr-defined]
TITLES = ("Printer", "Wi-Fi", "Backup", "Printer", "Servers", "Laptops", "Printer", "Backup", "Tablets")


@pytest.fixture
def school(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    for i, title in enumerate(TITLES):
        f.change_in(rt, school, ("minor", "significant", "major")[i % 3], "needs_analysis", title=title)
    # Ties in the time orders too: the id decides between them, the same way round.
    tie = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with rt.db.engine.begin() as connection:
        connection.execute(update(CHANGES).where(CHANGES.c.id % 3 == 0)
                           .values(updated_at=tie, created_at=tie))
    return school


def _walk(rt, school, sort, size):  # type: ignore[no-untyped-def]
    """Every page by Next, then back by Previous: the refs of each page."""
    filters = ChangeFilter(sort=sort)
    forward, offset = [], 0
    page = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=size)
    for _ in range(len(TITLES)):
        forward.append([found.change.ref for found in page.items])
        assert page.offset == offset
        if not page.has_next:
            break
        offset += size
        page = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=size, offset=offset,
                                  after=page.next_after)
    backward = [forward[-1]]
    while page.prev_before and len(backward) < len(forward):
        offset -= size
        page = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=size, offset=offset,
                                  before=page.prev_before)
        backward.append([found.change.ref for found in page.items])
    return forward, backward[::-1]


@pytest.mark.parametrize("sort", ORDERS)
def test_pages_by_position_are_the_pages_by_offset_both_ways(rt, school, sort):
    everything = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort=sort), limit=50)
    refs = [found.change.ref for found in everything.items]
    assert len(refs) == len(TITLES)
    forward, backward = _walk(rt, school, sort, 2)
    assert [ref for page in forward for ref in page] == refs
    assert backward == forward
    by_offset = [[found.change.ref for found in change_search.find(
        rt, actor_id=school.auditor, filters=ChangeFilter(sort=sort), limit=2, offset=o).items]
        for o in range(0, len(TITLES), 2)]
    assert forward == by_offset


def test_the_phase_list_goes_on_by_position_too(rt, school):
    filters = ChangeFilter(phase="planning")
    first = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=4)
    second = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=4, offset=4,
                                after=first.next_after)
    third = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=4, offset=8,
                               after=second.next_after)
    refs = [c.change.ref for page in (first, second, third) for c in page.items]
    every = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=50)
    assert refs == [c.change.ref for c in every.items]
    assert (second.total, third.total, third.has_next) == (9, 9, False)
    back = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=4, offset=4,
                              before=third.prev_before)
    assert [c.change.ref for c in back.items] == [c.change.ref for c in second.items]


def test_a_change_raised_meanwhile_does_not_show_a_row_twice(rt, school):
    filters = ChangeFilter()
    first = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=3)
    shown = [c.change.ref for c in first.items]
    # A change raised while the reader is on page one: by offset, page two starts one row
    # early and shows the last row of page one again; by position it goes on from there.
    f.change_in(rt, school, "minor", "needs_analysis", title="Raised meanwhile")
    by_offset = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=3, offset=3)
    by_position = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=3, offset=3,
                                     after=first.next_after)
    assert by_offset.items[0].change.ref == shown[-1]  # what an offset does
    assert not set(shown) & {c.change.ref for c in by_position.items}
    assert len(by_position.items) == 3


def test_a_position_from_another_order_or_mangled_is_refused(rt, school):
    first = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort="title"), limit=2)
    for after in (first.next_after, "bm90IGEgcG9zaXRpb24", "%%%", "x" * 5000,
                  first.next_after[:-3] + "AAA"):
        with pytest.raises(InvalidInput) as err:
            change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort="-updated"), limit=2,
                               after=after)
        assert "start again from the first page" in err.value.problems["after"]
    # Positions naming values no row can hold: refused, never a database error.
    from fitsflow.domain.cursor import Position

    for sort, value in (("-cost", "9e999999"), ("-cost", "1e12"), ("-updated", "9999-12-31T23:59:59+14:00"),
                        ("created", "2026-01-01T00:00:00")):
        with pytest.raises(InvalidInput):
            change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort=sort), limit=2,
                               after=Position(sort, value, 1).text())
    with pytest.raises(InvalidInput) as err:
        change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(q="printer", sort="relevance"),
                           limit=2,
                           before=change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(
                               sort="relevance"), limit=2).next_after)
    assert "before" in err.value.problems
    # The best match first has no positions: its pages go by number.
    best = change_search.find(rt, actor_id=school.auditor,
                              filters=ChangeFilter(q="printer", sort="relevance"), limit=2)
    assert best.next_after == "" and best.has_next


def test_the_pages_and_the_api_go_on_by_position(rt, tmp_path):
    school = WebSchool(rt)
    for i in range(12):
        f.change_in(rt, school, "minor", "needs_analysis", title=f"Change {i:02}")
    client = make_app(rt, tmp_path).test_client()
    assert login(client, school.emails[school.auditor]).status_code == 302
    page = client.get("/changes?size=10&sort=title").get_data(as_text=True)
    first = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort="title"), limit=10)
    assert f"after={first.next_after}" in page and "before=" not in page
    html = client.get(f"/changes?sort=title&size=10&page=2&after={first.next_after}").get_data(as_text=True)
    assert "11–12 of 12" in html and "Change 10" in html and "Change 11" in html and "Change 09" not in html
    second = change_search.find(rt, actor_id=school.auditor, filters=ChangeFilter(sort="title"), limit=10,
                                offset=10, after=first.next_after)
    assert f"before={second.prev_before}" in html
    audit = client.get(f"/audit?sort=title&size=10&page=2&after={first.next_after}").get_data(as_text=True)
    assert "Change 10" in audit and "Change 09" not in audit
    for url in ("/changes?sort=title&after=nonsense", "/audit?before=nonsense"):
        refused = client.get(url)
        assert refused.status_code == 400
        assert "start again from the first page" in refused.get_data(as_text=True)
    token = auth.create_token(rt, user_id=school.auditor, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    one = client.get("/api/v1/changes?limit=2&sort=title", headers=headers).get_json()
    assert one["next_after"] and one["prev_before"] is None
    two = client.get(f"/api/v1/changes?limit=2&sort=title&offset=2&after={one['next_after']}",
                     headers=headers).get_json()
    back = client.get(f"/api/v1/changes?limit=2&sort=title&before={two['prev_before']}",
                      headers=headers).get_json()
    assert [c["title"] for c in two["items"]] == ["Change 02", "Change 03"]
    assert [c["title"] for c in back["items"]] == ["Change 00", "Change 01"] and back["offset"] == 0
    bad = client.get("/api/v1/changes?after=nonsense", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid"
    assert "after" in bad.get_json()["problems"]
    register_page = client.get(f"/api/v1/register?limit=2&sort=title&offset=2&after={one['next_after']}",
                               headers=headers).get_json()
    assert [e["change"]["title"] for e in register_page["items"]] == ["Change 02", "Change 03"]


def test_the_register_export_reads_batch_after_batch_by_position(rt, school, monkeypatch):
    monkeypatch.setattr(register, "BATCH", 2)
    for sort in ("-updated", "title", "relevance"):
        filters = ChangeFilter(sort=sort, q="printer" if sort == "relevance" else "")
        out = io.StringIO()
        writer = csv.writer(out)
        for row in register.every_row(rt, actor_id=school.auditor, filters=filters):
            writer.writerow([row.change.ref])
        exported = [line[0] for line in csv.reader(io.StringIO(out.getvalue()))]
        listed = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=50)
        assert exported == [c.change.ref for c in listed.items]


@pytest.mark.parametrize(("sort", "only"), [
    ("-updated", {}), ("title", {}), ("created", {}), ("-cost", {}), ("ref", {}), ("-ref", {}),
    ("-updated", {"state": "needs_analysis"}), ("-updated", {"phase": "planning"}),
    ("-updated", {"category": "minor"})])
def test_a_page_by_position_reads_its_index_as_a_range(rt, school, sort, only):
    filters = ChangeFilter(sort=sort, **only)
    first = change_search.find(rt, actor_id=school.auditor, filters=filters, limit=2)
    sent = _statements(rt, lambda: change_search.find(rt, actor_id=school.auditor, filters=filters, limit=2,
                                                      offset=2, after=first.next_after))
    assert sent
    for statement, parameters in sent:
        if " OFFSET " in statement.upper():  # SQLite's dialect writes one always: it must be 0
            assert isinstance(parameters, tuple) and parameters[-1] == 0, statement
        assert _problems(rt, statement, parameters) == [], statement


def test_the_inbox_and_the_release_notices_go_on_by_position(rt, tmp_path):
    """The inbox and a person's release notices are years of rows: their pages went on by
    offset. Now, as the changes list does, from the row next to the page: the same rows as by
    offset both ways, a row arriving meanwhile shown once, positions from another list or
    mangled refused (page 400, API ``invalid``)."""
    from fitsflow.delivery.worker import Worker
    from fitsflow.services import inbox
    from fitsflow.services import notices as release_notices

    school = WebSchool(rt)
    for i in range(5):
        f.change_in(rt, school, "minor", "released", title=f"Release {i}")
    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))

    def ids(page):  # type: ignore[no-untyped-def]
        return [getattr(item, "id", None) or item.receipt_id for item in page.items]

    lists = ((lambda **kw: inbox.my_notices(rt, actor_id=school.requester, **kw)),
             (lambda **kw: release_notices.release_notice_page(rt, actor_id=school.staff, **kw)))
    for listing in lists:
        whole = ids(listing(limit=100))
        assert len(whole) >= 5
        by_offset = [ids(listing(limit=2, offset=n)) for n in range(0, len(whole), 2)]
        pages, page = [], listing(limit=2)
        while True:
            pages.append(ids(page))
            if not page.has_next:
                break
            page = listing(limit=2, offset=page.offset + 2, after=page.next_after)
        assert pages == by_offset
        back = [ids(page)]
        while page.prev_before:
            page = listing(limit=2, offset=max(page.offset - 2, 0), before=page.prev_before)
            back.append(ids(page))
        assert list(reversed(back)) == by_offset and page.offset == 0
        with pytest.raises(InvalidInput) as refused:
            listing(limit=2, after="nonsense")
        assert "after" in refused.value.problems
    # A position of one list is not one of another's.
    from_inbox = inbox.my_notices(rt, actor_id=school.requester, limit=2).next_after
    with pytest.raises(InvalidInput):
        release_notices.release_notice_page(rt, actor_id=school.staff, limit=2, after=from_inbox)
    # A notification arriving between two pages: the next page does not show a row again.
    first = inbox.my_notices(rt, actor_id=school.requester, limit=2)
    f.change_in(rt, school, "minor", "needs_analysis", title="Meanwhile")
    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))
    second = inbox.my_notices(rt, actor_id=school.requester, limit=2, offset=2, after=first.next_after)
    assert not set(ids(first)) & set(ids(second))

    client = make_app(rt, tmp_path).test_client()
    assert login(client, school.emails[school.requester]).status_code == 302
    html = client.get("/notices?size=10").get_data(as_text=True)
    shown = inbox.my_notices(rt, actor_id=school.requester, limit=10)
    assert f"after={shown.next_after}" in html
    assert client.get(f"/notices?size=10&page=2&after={shown.next_after}").status_code == 200
    for url in ("/notices?after=nonsense", "/notices/releases?before=nonsense"):
        refused_page = client.get(url)
        assert refused_page.status_code == 400
        assert "start again from the first page" in refused_page.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {auth.create_token(rt, user_id=school.requester, name='t')}"}
    one = client.get("/api/v1/notices?limit=2", headers=headers).get_json()
    two = client.get(f"/api/v1/notices?limit=2&offset=2&after={one['next_after']}",
                     headers=headers).get_json()
    assert two["offset"] == 2 and not {i["id"] for i in one["items"]} & {i["id"] for i in two["items"]}
    back = client.get(f"/api/v1/notices?limit=2&before={two['prev_before']}", headers=headers).get_json()
    assert [i["id"] for i in back["items"]] == [i["id"] for i in one["items"]] and back["offset"] == 0
    bad = client.get("/api/v1/notices?after=nonsense", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid"


def test_a_position_past_any_id_is_refused_and_a_page_by_position_says_there_are_rows_before(rt, tmp_path):
    """Found by review: a position naming an id past the database's integers reached it (500
    on both databases), in the changes list too; and an API client following ``next_after``
    without an ``offset`` was told its second page was the first (no ``prev_before``)."""
    from fitsflow.delivery.worker import Worker
    from fitsflow.domain import cursor

    school = WebSchool(rt)
    for i in range(3):
        f.change_in(rt, school, "minor", "released", title=f"Release {i}")
    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))
    client = make_app(rt, tmp_path).test_client()
    assert login(client, school.emails[school.requester]).status_code == 302
    huge = 10**30
    for path, sort, value in (("/notices", "inbox", ""), ("/notices/releases", "received", ""),
                              ("/changes", "-updated", "2026-01-01T00:00:00+00:00")):
        for side in ("after", "before"):
            position = cursor.Position(sort, value, huge).text()
            refused = client.get(f"{path}?{side}={position}")
            assert refused.status_code == 400, (path, side)
            assert "start again from the first page" in refused.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {auth.create_token(rt, user_id=school.requester, name='t')}"}
    bad = client.get(f"/api/v1/notices?after={cursor.Position('inbox', '', huge).text()}", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["code"] == "invalid"
    one = client.get("/api/v1/notices?limit=1", headers=headers).get_json()
    two = client.get(f"/api/v1/notices?limit=1&after={one['next_after']}", headers=headers).get_json()
    assert two["items"] and two["prev_before"]
    back = client.get(f"/api/v1/notices?limit=1&before={two['prev_before']}", headers=headers).get_json()
    assert [i["id"] for i in back["items"]] == [i["id"] for i in one["items"]] and back["prev_before"] is None
