"""Every role's pages at school scale, in chromium: the approver from the email's link to a
decision on the card; a rejected change's banner; a five-year plan entered in one save; the
auditor finding "over £10,000 in the last term" and exporting the register (the workbook
opened with openpyxl, the CSV with pandas: the rows the filter found); search finding the
right change among 1,000."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fitsflow.delivery.worker import Worker
from fitsflow.persistence.models import InboxItem
from fitsflow.services import gates

from . import factories as f
from .conftest import sqlite_runtime
from .test_browser import ARTIFACTS, Person, browser, server  # noqa: F401  (fixtures)
from .web_support import WebSchool, make_app, serving

pytestmark = pytest.mark.browser



@pytest.fixture
def school_site(server, tmp_path) -> Iterator[tuple[str, WebSchool, Any]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A school of its own (the journey fixture's people are not needed), served as the
    other browser tests are; ``server`` only makes it skip or fail like them."""
    rt = sqlite_runtime(f"sqlite:///{tmp_path / 'scale.db'}")
    school = WebSchool(rt)
    with serving(make_app(rt, tmp_path)) as base:
        yield base, school, rt
    rt.db.dispose()


def _person(browser_: Any, base: str, school: WebSchool, uid: int, name: str) -> Person:
    return Person(browser_, base, school.emails[uid], name)


def test_from_the_email_link_to_a_decision_on_the_card(school_site, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, school, rt = school_site
    ref = f.change_in(rt, school, "minor", "proceed_approval", title="Visualisers for science")
    Worker(rt, email=None, webhook=None).run_once()
    with rt.db.read() as session:
        link = session.exec(select(InboxItem.link).where(InboxItem.user_id == school.finance)).first()[0]
    assert link == f"/changes/{ref}#decide"
    page = browser.new_page(viewport={"width": 390, "height": 900})
    page.goto(base + link)  # not signed in: sign-in first, then back to the change
    page.get_by_label("Email").fill(school.emails[school.finance])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/changes/{ref}*")
    card = page.locator("section.decision-card")
    assert "£1,700.00" in card.inner_text() and "Approve" in card.inner_text()
    page.get_by_label("Comment").fill("   ")
    page.get_by_role("button", name="Reject (give the reason above)").click()
    assert "Your decision was not recorded" in page.locator("section.decision-card").inner_text()
    page.get_by_label("Comment").fill("Funded from the capital grant.")
    page.get_by_role("button", name="Approve", exact=True).click()
    assert "Your decision on" in page.inner_text("main") and "Release planning" in page.inner_text("main")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "scale-decided-on-the-card.png"), full_page=True)
    page.close()


def test_the_rejected_banner_and_a_plan_in_one_save(school_site, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, school, rt = school_site
    returned = f.change_in(rt, school, "minor", "implement_approval", title="Laptop trolley")
    gates.decide(
        rt, actor_id=school.cab[0], ref=returned, decision="reject", comment="Needs a charging rota"
    )
    planning = f.change_in(rt, school, "minor", "financial_planning", title="Tablets")
    nat = _person(browser, base, school, school.requester, "scale-requester")
    nat.open(f"/changes/{returned}")
    banner = nat.page.locator("section.returned").inner_text()
    assert "Sent back at approval to implement" in banner and "Needs a charging rota" in banner
    nat.open(f"/changes/{planning}/stage/finance")
    nat.page.locator("#kind-0").select_option("capital")
    nat.page.locator("#amount-0").fill("6000")
    nat.page.locator("#funding_source-0").fill("Devolved capital")
    for i in range(1, 5):  # a row for each year is there from the start
        nat.page.locator(f"#kind-{i}").select_option("licence")
        nat.page.locator(f"#amount-{i}").fill("500")
        nat.page.locator(f"#funding_source-{i}").fill("ICT budget")
    nat.click("Add a line")  # the totals so far, nothing saved
    assert "£8,000.00" in nat.text()
    nat.click("Save financial plan")
    assert "Financial plan saved" in nat.text() and "total cost of ownership £8,000.00" in nat.text()
    nat.shot("plan-in-one-save")


def test_the_auditor_finds_the_big_ones_and_exports_the_register(school_site, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, school, rt = school_site
    small = f.change_in(rt, school, "minor", "closed", title="Visualisers")
    big = f.costly_change(rt, school)
    gwen = _person(browser, base, school, school.auditor, "scale-auditor")
    gwen.open("/audit")
    gwen.page.get_by_label("Five-year cost from (£)").fill("10000")
    gwen.page.get_by_label("Raised from").fill((rt.today() - timedelta(days=100)).isoformat())
    gwen.click("Filter")
    table = gwen.page.locator("table.register").inner_text()
    assert big in table and small not in table
    with gwen.page.expect_download() as excel:
        gwen.page.get_by_role("link", name="Excel").click()
    sheet = load_workbook(io.BytesIO(Path(excel.value.path()).read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [big]
    with gwen.page.expect_download() as csv_file:
        gwen.page.get_by_role("link", name="CSV").first.click()
    frame = pandas.read_csv(Path(csv_file.value.path()))
    assert list(frame["Reference"]) == [big] and float(frame["Planned five-year cost"][0]) == 13000.0
    gwen.shot("register-over-10k")


def test_search_finds_the_right_change_among_a_thousand(school_site, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    base, school, rt = school_site
    needle = f.haystack(rt, school)
    cab = _person(browser, base, school, school.cab[0], "scale-search")
    cab.open("/changes")
    assert "1000" in cab.text() or "1,000" in cab.text()
    cab.page.get_by_label("Search").fill("arbor")
    cab.click("Find")
    found = cab.page.locator("table").first.inner_text()
    assert needle in found and "Routine change" not in found and "Changes found: 1" in cab.text()
    cab.shot("search-among-1000")
    assert json.dumps(found)  # the page text is plain and complete
