"""Issue: the auditor could not answer "changes over £10k last term": no cost filter or
column, an export of raw events only, one change's history by editing the URL, and no way to
check the chain against a head published earlier. The register answers it, on the page and
as CSV and Excel with the same rows."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pandas
from openpyxl import load_workbook

from fitsflow.services import audit as audit_service
from fitsflow.services import change_search, register
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app


def _school_with_changes(rt):  # type: ignore[no-untyped-def]
    school = WebSchool(rt)
    closed = f.change_in(rt, school, "minor", "closed", title="Visualisers for science")
    big = f.costly_change(rt, school)
    changes_service.raise_change(rt, actor_id=school.requester, title="Nothing costed yet", category="minor")
    return school, closed, big


def test_one_row_per_change_with_its_gates_costs_and_outcome(sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school, closed, big = _school_with_changes(rt)
    rows = {
        r.ref: r
        for r in register.page(rt, actor_id=school.auditor, filters=change_search.ChangeFilter()).items
    }
    assert len(rows) == 3
    done = rows[closed]
    assert done.five_year_cost == Decimal("1700.00") and done.outcome == "successful"
    assert done.actual_cost is not None and done.actual_cost > 0
    proceed, implement = done.gates["Approval to proceed"], done.gates["Approval to implement"]
    assert proceed.passed_at is not None and proceed.approvers == ("Finance",)
    assert implement.passed_at is not None and len(implement.approvers) == 1
    assert (
        rows[big].five_year_cost == Decimal("13000.00")
        and rows[big].gates["Approval to proceed"].passed_at is None
    )
    over = change_search.parse(
        rt, {"cost_min": "10000", "created_from": str(sqlite_rt.today() - timedelta(days=90))}
    )
    assert [r.ref for r in register.page(rt, actor_id=school.auditor, filters=over).items] == [big]


def test_the_exports_hold_the_rows_the_page_shows(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school, closed, big = _school_with_changes(rt)
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.auditor])
    page = client.get("/audit?cost_min=10000").get_data(as_text=True)
    assert big in page and closed not in page and "1 change matching the filters" in page
    assert "/audit/register.xlsx?cost_min=10000" in page
    workbook = client.get("/audit/register.xlsx?cost_min=10000")
    assert workbook.status_code == 200 and "attachment" in workbook.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(workbook.data)).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert len(table) == 2 and table[0][0] == "Reference" and table[1][0] == big
    assert table[1][table[0].index("Planned five-year cost")] == 13000
    everything = pandas.read_csv(io.BytesIO(client.get("/audit/register.csv").data))
    assert len(everything) == 3 and set(everything["Reference"]) == {closed, big, *everything["Reference"]}
    filtered = pandas.read_csv(io.BytesIO(client.get("/audit/register.csv?cost_min=10000").data))
    assert list(filtered["Reference"]) == [big] and float(filtered["Planned five-year cost"][0]) == 13000.0
    # One change's history, one click from its page.
    change = client.get(f"/changes/{closed}").get_data(as_text=True)
    assert f"/audit/export.csv?change={closed}" in change
    history = pandas.read_csv(io.BytesIO(client.get(f"/audit/export.csv?change={closed}").data))
    assert set(history["change_ref"]) == {closed} and len(history) > 5
    assert client.get("/audit?created_from=2026-12-10&created_to=2026-12-01").status_code == 400
    # Sorted from a heading; the exports follow the same order.
    by_cost = client.get("/audit?sort=-cost").get_data(as_text=True)
    heading = 'aria-sort="descending"><a href="/audit?sort=cost&amp;page=1">Planned five-year cost</a>'
    assert heading in by_cost
    assert by_cost.index(big) < by_cost.index(closed) and "/audit/register.csv?sort=-cost" in by_cost
    cheapest = pandas.read_csv(io.BytesIO(client.get("/audit/register.csv?sort=cost").data))
    assert list(cheapest["Reference"])[-1] == big


def test_the_page_checks_the_chain_against_a_published_head(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school, _closed, _big = _school_with_changes(rt)
    head = audit_service.verify(rt).head_hash
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.auditor])
    good = client.get(f"/audit?head={head}").get_data(as_text=True)
    assert "The chain holds and contains the head" in good
    bad = client.get("/audit?head=" + "ab" * 32).get_data(as_text=True)
    assert "The chain holds and contains the head" not in bad and "not" in bad.lower()


def test_the_api_gives_the_register_with_the_same_filters(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .web_support import bearer

    rt = sqlite_rt
    school, closed, big = _school_with_changes(rt)
    client = make_app(rt, tmp_path).test_client()
    body = client.get("/api/v1/register?cost_min=10000", headers=bearer(rt, school.auditor)).get_json()
    assert body["total"] == 1 and body["items"][0]["change"]["ref"] == big
    assert body["items"][0]["five_year_cost"] == "13000.00"
    every = client.get("/api/v1/register?sort=ref", headers=bearer(rt, school.auditor)).get_json()
    row = next(r for r in every["items"] if r["change"]["ref"] == closed)
    assert row["outcome"] and row["actual_cost"] is not None
    assert all(g["passed_at"] and g["approvers"] for g in row["gates"])
    reversed_range = client.get("/api/v1/register?created_from=2026-12-10&created_to=2026-12-01",
                                headers=bearer(rt, school.auditor))
    assert reversed_range.status_code == 400 and "created_to" in reversed_range.get_json()["problems"]


def test_the_workbook_is_as_a_governor_expects_and_a_reopened_approval_says_so(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 22.10: the .xlsx register had no frozen header, filter, window or risk column,
    and read "Approval to implement: passed … Priya Shah" for an approval that was reopened."""
    from fitsflow.services import rescheduling

    rt = sqlite_rt
    school, closed, big = _school_with_changes(rt)
    # Scheduled, then moved two months: beyond the policy's tolerance, approval to implement
    # is reopened.
    moved = f.change_in(rt, school, "minor", "scheduled", title="Moved after approval")
    plan = changes_service.get_change(rt, actor_id=school.requester, ref=moved).release_plan
    assert plan is not None and plan.window_start is not None and plan.window_end is not None
    rescheduling.reschedule(rt, actor_id=school.requester, ref=moved, reason="Exams moved",
                            window_start=(plan.window_start + timedelta(days=60)).isoformat(),
                            window_end=(plan.window_end + timedelta(days=60)).isoformat())
    rows = {r.ref: r for r in register.page(rt, actor_id=school.auditor,
                                            filters=change_search.ChangeFilter()).items}
    assert rows[moved].gates["Approval to implement"].reopened
    assert not rows[closed].gates["Approval to implement"].reopened
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.auditor])
    sheet = load_workbook(io.BytesIO(client.get("/audit/register.xlsx").data)).active
    assert sheet is not None
    assert sheet.freeze_panes == "B2" and sheet.auto_filter.ref is not None
    assert sheet.auto_filter.ref.startswith("A1:") and sheet.auto_filter.ref.endswith(str(sheet.max_row))
    assert (sheet.column_dimensions["B"].width or 0) >= 30  # the title column is wide enough to read
    table = list(sheet.iter_rows(values_only=True))
    heads = list(table[0])
    for column in ("Release window start", "Release window end", "Risk"):
        assert column in heads
    done = next(r for r in table[1:] if r[0] == closed)
    assert done[heads.index("Risk")] and done[heads.index("Release window start")] is not None
    cost = heads.index("Planned five-year cost") + 1
    big_row = 2 + [r[0] for r in table[1:]].index(big)
    assert "£" in sheet.cell(row=big_row, column=cost).number_format
    said = next(r for r in table[1:] if r[0] == moved)[heads.index("Approval to implement: approved by")]
    assert str(said).startswith("Reopened: waiting to be approved again (was approved by ")
