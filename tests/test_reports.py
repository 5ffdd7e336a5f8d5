"""Issue 23.7: reports for SLT and governors. The figures are checked against values worked
out here, independently, from a generated school year: seeded random changes driven through
the services over two financial years. The governors' PDF is read back; the charts are SVG
that parses; the page, the CSV, the workbook and the API carry the same figures."""

from __future__ import annotations

import io
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from fitsflow.domain import financial_years
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.services import auth, proposals, reports

from . import factories as f
from .web_support import WebSchool, login, make_app

TARGETS = {
    "minor": ["needs_analysis", "closed", "withdrawn", "released", "in_review"],
    "significant": ["closed", "financial_planning", "backed_out"],
    "emergency": ["closed", "released"],
    "standard": ["closed", "scheduled"],
}


def _year(rt, school, seed: int = 7):  # type: ignore[no-untyped-def]
    """Changes raised over about eighteen months (two financial years), each driven to a
    random end; what was done, as the test saw it."""
    chance = random.Random(seed)
    made = []
    for _ in range(24):
        category = chance.choice(sorted(TARGETS))
        target = chance.choice(TARGETS[category])
        raised_at = rt.now()
        ref = f.change_in(rt, school, category, target, title=f"{category} {len(made)}")
        made.append({"ref": ref, "category": category, "target": target, "raised": raised_at})
        rt.clock.advance(timedelta(days=chance.randint(10, 30)))
    return made


@pytest.fixture
def year(rt):  # type: ignore[no-untyped-def]
    school = WebSchool(rt)
    made = _year(rt, school)
    one = proposals.propose(rt, actor_id=school.staff, data={"what": "Visualisers", "why": "Sharing work"})
    two = proposals.propose(rt, actor_id=school.staff, data={"what": "A 3D printer", "why": "DT projects"})
    proposals.triage(rt, actor_id=school.requester, proposal_id=two.id, action="decline", reason="DT budget")
    return rt, school, made, one


def test_the_figures_are_what_was_done(year):
    rt, school, made, _ = year
    first, last = made[0]["raised"].date(), rt.now().date()
    r = reports.report(rt, actor_id=school.head, start=first.isoformat(), end=last.isoformat())
    assert r.raised == len(made)
    counted = Counter(m["category"] for m in made)
    assert {c: sum(o.values()) for c, o in r.by_category.items()} == dict(counted)
    assert (r.emergency.count, r.emergency.of) == (counted["emergency"], len(made))
    assert (r.standard.count, r.standard.of) == (counted["standard"], len(made))
    closed = [m for m in made if m["target"] == "closed"]
    assert (r.success.count, r.success.of) == (len(closed), len(closed))  # each review said "successful"
    for m in made:
        outcome = {"closed": "successful", "withdrawn": "withdrawn", "backed_out": "backed out"}.get(
            m["target"], "in progress"
        )
        assert r.by_category[m["category"]][outcome] >= 1
    backed = [m for m in made if m["target"] == "backed_out"]
    assert r.backed_out.count == len(backed)
    # One measure each from the needs analysis (a standard change has none), met at the review.
    assert r.measures["met"] == sum(1 for m in closed if m["category"] != "standard")
    assert r.proposals == {"open": 1, "declined": 1}
    # Committed spend: every change past an approval and not withdrawn (a standard change is
    # approved as a template, never by a vote), planned by financial year from its plan.
    expected: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for m in made:
        if m["category"] == "standard" or m["target"] in (
            "needs_analysis",
            "financial_planning",
            "withdrawn",
        ):
            continue
        labels = financial_years.labels(
            rt.settings.planning.financial_year_start, m["raised"].astimezone(rt.timezone).date(), 5
        )
        for line in f.five_year_lines():
            expected[labels[line["year"] - 1]] += Decimal(str(line["amount"]))
        if m["target"] == "closed":
            actual[labels[0]] += Decimal(f.REVIEW["actual_costs"][0]["amount"])
    planned: Counter[str] = Counter()
    spent: Counter[str] = Counter()
    for s in r.spend:
        planned[s.financial_year] += s.planned
        spent[s.financial_year] += s.actual
    assert dict(planned) == dict(expected)
    assert {y: v for y, v in spent.items() if v} == dict(actual)
    assert len({s.financial_year for s in r.spend}) >= 2  # the plans reach across financial years
    assert r.audit_count > 0 and len(r.audit_head) == 64


def test_a_period_cuts_what_is_counted(year):
    rt, school, made, _ = year
    middle = made[len(made) // 2]["raised"].astimezone(rt.timezone).date()
    early = reports.report(
        rt,
        actor_id=school.auditor,
        start=made[0]["raised"].date().isoformat(),
        end=(middle - timedelta(days=1)).isoformat(),
    )
    late = reports.report(rt, actor_id=school.auditor, start=middle.isoformat(), end=rt.today().isoformat())
    assert early.raised + late.raised == len(made)
    assert early.raised == sum(1 for m in made if m["raised"].astimezone(rt.timezone).date() < middle)


def test_who_may_read_it_and_periods_that_cannot_be(year):
    rt, school, _, _ = year
    for outsider in (school.cab[0], school.staff, school.requester):
        with pytest.raises(NotPermitted):
            reports.report(rt, actor_id=outsider)
    for args, key in (
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-09-10", "end": "2026-09-01"}, "end"),
        ({"term": 999_999}, "term"),
        ({"year": 1850}, "year"),
        ({"start": "2000-01-01", "end": "2026-01-01"}, "end"),
    ):
        with pytest.raises(InvalidInput) as bad:
            reports.report(rt, actor_id=school.head, **args)
        assert key in bad.value.problems


def test_the_pdf_the_page_the_files_and_the_api_carry_the_figures(year, tmp_path):
    from pypdf import PdfReader

    rt, school, made, _ = year
    app = make_app(rt, tmp_path)
    token = auth.create_token(rt, user_id=school.head, name="t")  # before the figures: it is audited too
    head = app.test_client()
    assert login(head, school.emails[school.head]).status_code == 302
    query = f"start={made[0]['raised'].date().isoformat()}&end={rt.today().isoformat()}"
    r = reports.report(
        rt, actor_id=school.head, start=made[0]["raised"].date().isoformat(), end=rt.today().isoformat()
    )
    page = head.get(f"/reports?{query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) >= 2
    for svg in svgs:
        root = ET.fromstring(svg)  # charts parse as XML
        assert root.get("role") == "img" and root.find("{http://www.w3.org/2000/svg}title") is not None
    pdf = head.get(f"/reports/governors.pdf?{query}")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "Changesraised" in flat and str(r.raised) in text
    assert r.audit_head in flat and "fitsflowauditverify" in flat
    csv_text = head.get(f"/reports/report.csv?{query}").get_data(as_text=True)
    assert f"changes,raised,{r.raised}" in csv_text
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(head.get(f"/reports/report.xlsx?{query}").data))
    assert ("changes", "raised", str(r.raised)) in [
        tuple(row) for row in book.active.iter_rows(values_only=True)
    ]
    body = head.get(f"/api/v1/reports?{query}", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["raised"] == r.raised and body["rates"]["success"]["count"] == r.success.count
    assert body["audit_head"] == r.audit_head
    cab = app.test_client()
    assert login(cab, school.emails[school.cab[0]]).status_code == 302
    assert cab.get("/reports").status_code == 403


def test_a_report_is_kept_until_something_is_recorded(year):
    rt, school, _, _ = year
    first = reports.report(rt, actor_id=school.head)
    assert reports.report(rt, actor_id=school.head) is first  # nothing recorded since: kept
    proposals.propose(rt, actor_id=school.staff, data={"what": "Sockets", "why": "Charging"})
    again = reports.report(rt, actor_id=school.head)
    assert again is not first and again.audit_count > first.audit_count
    assert again.proposals.get("open", 0) == first.proposals.get("open", 0) + 1


def test_the_pdf_takes_a_long_reason(year):
    from pypdf import PdfReader

    from fitsflow.services import governors_pdf

    rt, school, _, _ = year
    r = reports.report(rt, actor_id=school.head)
    import dataclasses

    long = dataclasses.replace(
        r, went_ahead=(("2027-03-01", "CHG-2027-0001", "Freeze overridden", "why " * 500),)
    )
    body = governors_pdf.render(long, school="Test School", money=rt.money)
    assert "Freeze overridden" in "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
