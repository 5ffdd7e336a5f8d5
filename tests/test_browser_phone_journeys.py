"""Issue 22.11, journeys as tests: five people's journeys on a phone (390 × 844), each
asserting what the person sees — the words on the page, and that the control they need is
visible and inside the screen — not only that a page answered.

1. The network manager raises a change, fills the needs analysis (seeing what is needed for
   approval) and the financial plan, and submits it for approval to proceed.
2. An approver who is both head and SLT decides where only SLT is missing: the card says her
   vote counts as SLT, and one click moves the change on.
3. The administrator imports a staff list (checked before anything changes), then gives one
   person one more role; their audiences stay as they were.
4. A parent reads the release notice in My notices — when, what it means for them, whom to
   ask — marks it read and understood, and the unread count leaves the navigation.
5. An auditor searches the changes for "wifi", finds the Wi-Fi change, filters, exports the
   register, and reads the forward schedule and the planned maintenance.
6. (Issue 23) A technician follows the email's link to the 360° feedback form; the requester
   reads the summary, assesses the success measure and closes the review; the head opens the
   report and downloads the governors' PDF.

Screenshots are kept in test-artifacts/browser/ (phone-*)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fitsflow.delivery.worker import Worker
from fitsflow.persistence import queries
from fitsflow.services import changes as changes_service
from fitsflow.services import gates, notices
from fitsflow.services import users as users_service

from . import factories as f
from .conftest import sqlite_runtime
from .test_browser import ARTIFACTS, launched_chromium, require_browser
from .web_support import PASSWORD, WebSchool, make_app, serving

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
PUBLIC_CONTACT = "Reception, 01632 960 123"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module; each person gets a context of their own."""
    with launched_chromium() as instance:
        yield instance


@dataclasses.dataclass
class Site:
    base: str
    rt: Any
    school: WebSchool


@pytest.fixture
def site(tmp_path: Any) -> Iterator[Site]:
    """A school on a fresh database, served; its public contact named (parents are told it)."""
    require_browser()
    rt = sqlite_runtime(f"sqlite:///{tmp_path / 'phone.db'}")
    rt = dataclasses.replace(rt, settings=rt.settings.replace(school={"public_contact": PUBLIC_CONTACT}))
    school = WebSchool(rt)
    with serving(make_app(rt, tmp_path)) as base:
        yield Site(base, rt, school)
    rt.db.dispose()


class Phone:
    """One person on a phone-sized screen."""

    def __init__(self, chromium: Any, base: str, email: str, name: str):
        self.context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT},
                                            accept_downloads=True)
        self.page = self.context.new_page()
        self.base, self.name, self.shots = base, name, 0
        self.page.goto(base + "/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(lambda url: "/login" not in url)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name).click()

    def text(self) -> str:
        return str(self.page.inner_text("main"))

    def nav(self) -> str:
        return str(self.page.inner_text("header.top nav"))

    def shot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        self.page.screenshot(path=str(ARTIFACTS / f"phone-{self.name}-{self.shots:02d}-{label}.png"),
                             full_page=True)

    def on_screen(self, locator: Any, what: str) -> None:
        """Visible, and wholly inside the screen's width (no sideways scrolling to reach it)."""
        locator.scroll_into_view_if_needed()
        assert locator.is_visible(), f"{what} is not visible"
        box = locator.bounding_box()
        assert box is not None, f"{what} has no box"
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (
            f"{what} runs from {box['x']:.0f} to {box['x'] + box['width']:.0f} px on a {WIDTH} px screen")
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= WIDTH, f"the page is {scroll} px wide on a {WIDTH} px screen ({self.page.url})"

    def button(self, name: str) -> Any:
        """The button, once it is on screen."""
        button = self.page.get_by_role("button", name=name, exact=True)
        self.on_screen(button, f"the button “{name}”")
        return button

    def nav_link(self, name: str) -> Any:
        """A link of the main navigation, once it is on screen."""
        link = self.page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
        self.on_screen(link, f"the navigation's “{name}”")
        return link

    def close(self) -> None:
        self.context.close()


def test_the_network_manager_raises_and_submits_a_change_on_a_phone(site: Site, chromium: Any) -> None:
    school = site.school
    nat = Phone(chromium, site.base, school.emails[school.requester], "requester")
    try:
        nat.nav_link("Raise a change").click()
        assert "Raise a change" in nat.page.inner_text("h1")
        nat.page.get_by_label("Title").fill("Visitor Wi-Fi in the library")
        nat.page.get_by_label("Minor").check()
        nat.page.get_by_label("Description (Markdown)").fill("A guest network for **visiting speakers**.")
        nat.button("Raise the change").click()
        assert "Needs analysis" in nat.text()
        ref = nat.page.url.rsplit("/", 1)[1]
        nat.shot("raised")

        nat.page.get_by_role("link", name="Needs analysis").first.click()
        # The form says which answers the change cannot go for approval without.
        assert nat.page.locator("#needed-note").is_visible()
        assert "needed for approval" in nat.page.locator("label[for=stakeholders]").inner_text()
        assert "needed for approval" in nat.page.locator("label[for=options_considered]").inner_text()
        nat.page.get_by_label("What is needed, by whom, and why").fill("Visiting speakers cannot get online")
        nat.page.get_by_label("Stakeholders consulted").fill("Librarian\nSite manager")
        nat.page.get_by_label("School Development Plan priority").fill("SDP 4: community")
        nat.page.get_by_label("Options considered").fill("Tethering; a guest SSID (chosen)")
        nat.page.get_by_label("none is processed").check()
        nat.page.get_by_label("not touched").check()
        note = nat.page.locator("#measures-note").inner_text()
        assert "needed before the change leaves needs analysis" in note
        nat.page.locator("#measure_1_statement").fill("A visiting speaker is online within five minutes")
        nat.page.locator("#measure_1_method").fill("Timed at the next three talks by the librarian")
        nat.page.locator("#measure_1_check_by").fill("2027-03-31")
        nat.shot("needs")
        nat.button("Save needs analysis").click()
        nat.button("Needs analysis complete").click()

        nat.page.get_by_role("link", name="Financial plan").click()
        lines = [(1, "capital", "1200", "Capital grant")] + [
            (y, "licence", "100", "ICT budget") for y in range(1, 6)]
        for i, (year, kind, amount, source) in enumerate(lines):
            nat.page.locator(f"#year-{i}").select_option(str(year))
            nat.page.locator(f"#kind-{i}").select_option(kind)
            nat.page.locator(f"#amount-{i}").fill(amount)
            nat.page.locator(f"#funding_source-{i}").fill(source)
        nat.button("Save financial plan").click()
        submit = nat.button("Submit for approval to proceed")
        assert submit.is_enabled(), nat.text()
        submit.click()

        page = nat.text()
        assert "Awaiting approval to proceed" in page
        assert "£1,700.00" in page
        # What it waits for, in the school's words, on the screen.
        still = nat.page.locator("section.decision-card").get_by_text("Still needed:")
        nat.on_screen(still, "what the change is waiting for")
        assert "needs 1 more approval from School business manager (finance)" in still.inner_text()
        nat.shot("submitted")
        assert f.snapshot(site.rt, ref)[0] == "proceed_approval"
    finally:
        nat.close()


def test_an_approver_with_two_roles_votes_for_the_one_missing(site: Site, chromium: Any) -> None:
    rt, school = site.rt, site.school
    helen = users_service.add_user(rt, name="Helen Carter", email="helen@phone.school", roles="head slt",
                                   audiences="slt", password=PASSWORD)
    ref = f.change_in(rt, school, "major", "proceed_approval", title="Replace the core switch")
    # Finance and the head have approved: only SLT is missing.
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates.decide(rt, actor_id=school.head, ref=ref, decision="approve", role="head")
    phone = Phone(chromium, site.base, "helen@phone.school", "head-and-slt")
    try:
        phone.open(f"/changes/{ref}")
        card = phone.page.locator("section.decision-card")
        text = card.inner_text()
        assert "Your vote counts as Senior leadership (SLT)" in text, text
        phone.on_screen(card.get_by_text("Your vote counts as"), "“Your vote counts as …”")
        assert "Still needed:" in text
        approve = phone.button("Approve")
        phone.shot("card")
        approve.click()
        phone.page.wait_for_url(f"{site.base}/changes/{ref}")
        after = phone.text()
        assert "already decided" not in after
        status = phone.page.locator("p.status").inner_text()
        assert "Awaiting approval to proceed" not in status, status
        assert "Release planning" in status, status
        assert changes_service.get_change(rt, actor_id=helen, ref=ref).change.state == "release_planning"
        phone.shot("moved-on")
    finally:
        phone.close()


STAFF_LIST = """name,email,roles,audiences
Priya Shah,priya@phone.school,requester,support;staff
Omar Ali,omar@phone.school,,staff;parents
"""


def test_the_administrator_imports_staff_then_adds_a_role(site: Site, chromium: Any, tmp_path: Any) -> None:
    school = site.school
    admin = Phone(chromium, site.base, school.emails[school.admin], "admin")
    csv = tmp_path / "staff.csv"
    csv.write_text(STAFF_LIST, encoding="utf-8")
    try:
        admin.nav_link("Users").click()
        admin.page.get_by_label("CSV file").set_input_files(str(csv))
        admin.button("Import").click()
        preview = admin.text()
        assert "Check before importing staff.csv" in preview
        assert "Nothing has changed yet" in preview
        assert "2 new" in preview
        for seen in ("Priya Shah", "Omar Ali", "New account: invited to choose a password",
                     "Roles given: Network manager (raises changes)",
                     "Audiences added: ICT support team, Staff"):
            assert seen in preview, seen
        admin.shot("import-preview")
        with site.rt.db.read() as session:
            assert queries.user_by_email(session, "priya@phone.school") is None  # not yet
        admin.button("Import: make these changes").click()
        listing = admin.text()
        assert "Imported: 2 created, 0 updated." in listing
        row = admin.page.locator("tr", has_text="priya@phone.school")
        assert "ICT support team" in row.inner_text() and "Staff" in row.inner_text()

        name = row.get_by_role("link", name="Priya Shah")
        admin.on_screen(name, "Priya's name")
        name.click()
        assert "/admin/users/" in admin.page.url
        assert admin.page.inner_text("h1") == "Priya Shah"
        admin.page.get_by_label("Auditor").check()
        admin.button("Save changes").click()
        page = admin.text()
        assert "Saved Priya Shah." in page
        for audience in ("ICT support team", "Staff"):
            assert admin.page.get_by_label(audience, exact=True).is_checked(), audience
        assert not admin.page.get_by_label("Parents", exact=True).is_checked()
        assert admin.page.get_by_label("Auditor").is_checked()
        admin.shot("saved")
        admin.page.get_by_role("link", name="Users and roles").click()
        row = admin.page.locator("tr", has_text="priya@phone.school").inner_text()
        for seen in ("Network manager (raises changes)", "Auditor", "ICT support team", "Staff"):
            assert seen in row, (seen, row)
        assert "Parents" not in row
    finally:
        admin.close()


def test_a_parent_reads_the_notice_and_the_unread_count_goes(site: Site, chromium: Any) -> None:
    rt, school = site.rt, site.school
    users_service.add_user(rt, name="Jo Parent", email="jo@phone.school", audiences="parents",
                           password=PASSWORD)
    ref = f.change_in(rt, school, "minor", "scheduled", title="New Wi-Fi in the library")
    drafted = notices.notices_for(rt, actor_id=school.auditor, ref=ref)
    parents = next(n for n in drafted if n.audience == "parents")
    # The day the parents' notice is due: it is published and delivered into their inbox.
    rt.clock.set(parents.publish_at, running=True)
    assert notices.publish_due(rt) > 0
    f.drain(Worker(rt, email=None, webhook=None))
    jo = Phone(chromium, site.base, "jo@phone.school", "parent")
    try:
        badge = jo.page.locator("header.top nav .count.badge")
        assert badge.count() == 1 and "1" in badge.inner_text()
        jo.nav_link("My notices").click()
        listing = jo.text()
        assert "New Wi-Fi in the library" in listing and ref in listing
        jo.page.locator("article.notice").get_by_role("link", name="Read it all").first.click()
        notice = jo.text()
        jo.shot("notice")
        plan = changes_service.get_change(rt, actor_id=school.auditor, ref=ref).release_plan
        assert plan is not None and plan.window_start is not None and plan.window_end is not None
        start = plan.window_start.astimezone(rt.timezone)
        end = plan.window_end.astimezone(rt.timezone)
        # When (the day and the hours), what it means for them, and whom to ask.
        assert start.strftime("%A %d %B %Y, %H:%M") in notice, notice
        assert end.strftime("%H:%M") in notice, notice
        assert "What it means for you: Suite closed for an afternoon" in notice
        assert f"Questions: {PUBLIC_CONTACT}" in notice
        assert "£" not in notice and "Reimage from backup" not in notice
        jo.button("Read and understood").click()
        after = jo.text()
        assert "You acknowledged this notice" in after, after
        assert jo.page.locator("header.top nav .count.badge").count() == 0, jo.nav()
        jo.open("/notices")
        assert jo.page.locator("header.top nav .count.badge").count() == 0, jo.nav()
        assert "0 unread" in jo.text()
        jo.shot("read")
    finally:
        jo.close()


def test_an_auditor_finds_filters_exports_and_reads_the_schedule(site: Site, chromium: Any) -> None:
    rt, school = site.rt, site.school
    wifi = f.change_in(rt, school, "minor", "scheduled", title="Replace the Wi-Fi access points")
    other = f.change_in(rt, school, "minor", "needs_analysis", title="New printers in the staff room")
    gwen = Phone(chromium, site.base, school.emails[school.auditor], "auditor")
    try:
        gwen.nav_link("Changes").click()
        gwen.page.get_by_label("Search").fill("wifi")
        gwen.button("Find").click()
        found = gwen.text()
        assert "Replace the Wi-Fi access points" in found and "New printers" not in found
        assert "Changes found: 1" in found
        gwen.on_screen(gwen.page.get_by_role("link", name=wifi), "the Wi-Fi change's reference")
        gwen.shot("search")
        filters = gwen.page.locator("details", has=gwen.page.locator("summary", has_text="Filters"))
        if filters.get_attribute("open") is None:  # open already while a search is in force
            filters.locator("summary").click()
        gwen.page.get_by_label("State").select_option("scheduled")
        gwen.button("Find").click()
        assert "Replace the Wi-Fi access points" in gwen.text() and other not in gwen.text()
        gwen.page.get_by_label("Search").fill("")
        gwen.button("Find").click()
        assert wifi in gwen.text() and other not in gwen.text()

        gwen.nav_link("Audit").click()
        gwen.page.get_by_label("Search").fill("wifi")
        gwen.button("Filter").click()
        assert "Change register: 1 change matching the filters" in gwen.text()
        for label, suffix in (("Excel", ".xlsx"), ("CSV", ".csv")):
            link = gwen.page.get_by_role("link", name=label, exact=True).first
            gwen.on_screen(link, f"the register's {label} link")
            with gwen.page.expect_download() as info:
                link.click()
            download = info.value
            assert download.suggested_filename.startswith("fitsflow-register-")
            assert download.suggested_filename.endswith(suffix)
            path = download.path()
            assert path is not None
            if suffix == ".csv":
                text = Path(path).read_bytes().decode("utf-8-sig")
            else:
                from io import BytesIO

                from openpyxl import load_workbook

                book = load_workbook(BytesIO(Path(path).read_bytes()), read_only=True)
                text = "\n".join(str(cell) for row in book.active.iter_rows(values_only=True)
                                 for cell in row)
                book.close()
            # The register as filtered on the page: the Wi-Fi change, not the printers.
            assert wifi in text and "Replace the Wi-Fi access points" in text, text[:500]
            assert other not in text and "New printers" not in text

        gwen.nav_link("Schedule").click()
        schedule = gwen.text()
        assert "Forward schedule of change" in schedule
        assert "Replace the Wi-Fi access points" in schedule
        gwen.shot("schedule")
        gwen.open("/maintenance")
        planned = gwen.text()
        assert "Planned maintenance" in planned and "Replace the Wi-Fi access points" in planned
        assert "What you will notice: Suite closed for an afternoon" in planned
        gwen.shot("maintenance")
    finally:
        gwen.close()


def test_feedback_from_the_email_link_then_the_review_closes_and_the_head_reads_the_report(
        site: Site, chromium: Any) -> None:
    """Issue 23: a technician follows the email's link to the 360° feedback form on a phone
    (sign-in first, then straight to the form); the requester reads the summary, records the
    success measure and closes the review; the head opens the report and downloads the
    governors' PDF."""
    from fitsflow.services import feedback

    school, rt = site.school, site.rt
    ref = f.change_in(rt, school, "minor", "in_review")
    technician = school.cab[1]  # in the support team; not a decider on a minor change
    link = f"/changes/{ref}/feedback"
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    try:
        page.goto(site.base + link)
        page.get_by_label("Email").fill(school.emails[technician])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: url.endswith(link))
        assert "Did it meet the need?" in page.inner_text("main")
        for question, score in (("meets_need", "4"), ("disruption", "5"), ("training", "3"),
                                ("communication", "4")):
            page.locator(f"input[name={question}][value='{score}']").check()
        page.get_by_label("What worked").fill("Access points went in after school as promised")
        send = page.get_by_role("button", name="Send my feedback")
        send.scroll_into_view_if_needed()
        box = send.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH
        send.click()
        assert "your feedback is saved" in page.inner_text("main")
    finally:
        context.close()
    feedback.respond(rt, actor_id=school.staff, ref=ref, data={
        "meets_need": 3, "disruption": 4, "training": 2, "communication": 3, "improve": "A how-to sheet"})

    nat = Phone(chromium, site.base, school.emails[school.requester], "reviewer")
    try:
        nat.open(f"/changes/{ref}")
        summary = nat.page.locator("section[aria-labelledby=feedback-summary]")
        nat.on_screen(summary.get_by_role("heading", name="360° feedback"), "the feedback summary")
        said = summary.inner_text()
        assert rt.roles.audience_label("support") in said and "1 of" in said
        assert "Access points went in after school" in said
        nat.page.get_by_role("link", name="Post-implementation review").first.click()
        nat.page.get_by_label("successful", exact=True).check()
        nat.page.locator("input[name=measure_1_result][value=met]").check()
        nat.page.locator("#measure_1_evidence").fill("Timed in three lessons: 40 seconds at most")
        nat.button("Save review").click()
        nat.button("Close the change").click()
        assert "Closed" in nat.text()
        nat.shot("closed")
    finally:
        nat.close()

    head = Phone(chromium, site.base, school.emails[school.head], "head")
    try:
        head.nav_link("Reports").click()
        assert "Changes raised" in head.text()
        pdf = head.page.get_by_role("link", name="The governors' report (PDF)")
        head.on_screen(pdf, "the governors' report link")
        with head.page.expect_download() as download:
            pdf.click()
        saved = download.value.path()
        assert saved is not None and Path(saved).read_bytes().startswith(b"%PDF")
        head.shot("report")
    finally:
        head.close()
