"""The users' journeys in a real browser: Debian's chromium driven by Playwright.

requester raises and submits → finance, SLT and CAB approve at the two gates →
requester schedules the release → the auditor reads the whole history and sees the
chain verified. The CAB member, whose role needs a second factor, enrols an
authenticator app at first sign-in, peer-reviews the release plan (FITS's technical peer
review, asked for significant changes), and later signs in with a code. The CAB sees a clash
with another change on the decision card before deciding, and scheduling over it asks
for a reason. Screenshots are kept
in test-artifacts/browser/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fitsflow.services import changes as changes_service
from fitsflow.services import gates as gates_service
from fitsflow.services import peer_review, stages
from fitsflow.services import users as users_service

from .conftest import IN_CI, sqlite_runtime
from .web_support import make_app, serving

CHROMIUM = os.environ.get("FITSFLOW_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.browser


def _unavailable() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    """A skip that says why without chromium and Playwright; a failure under CI, where the
    browser journeys must run."""
    reason = _unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"browser tests must run under CI: {reason}")
        pytest.skip(f"browser tests did not run: {reason}")


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    require_browser()
    rt = sqlite_runtime(f"sqlite:///{tmp_path / 'browser.db'}")
    people = {
        "requester": ("Nat Osei", "requester", "support"),
        "finance": ("Ben Marsh", "finance", "slt"),
        "slt": ("Dee Walsh", "slt", "slt"),
        "cab": ("Tom Price", "cab", "support"),
        "auditor": ("Gwen Ellis", "auditor", ""),
        "teacher": ("Sarah Khan", "", "staff"),
    }
    emails = {}
    for key, (name, roles, audiences) in people.items():
        emails[key] = f"{key}@browser.school"
        users_service.add_user(
            rt, name=name, email=emails[key], roles=roles, audiences=audiences, password=PASSWORD
        )
    # The CAB member goes through two-step sign-in; the other approvers are exempt (as demo
    # users are) so the journey stays about the change.
    from fitsflow.persistence import queries
    from fitsflow.services import mfa

    with rt.db.read() as session:
        exempt = [queries.user_by_email(session, emails[k]).id for k in ("finance", "slt")]  # type: ignore[union-attr]
    mfa.set_exempt(rt, user_ids=exempt, exempt=True)  # type: ignore[arg-type]
    with serving(make_app(rt, tmp_path, mfa=True)) as base:
        yield base, emails, rt
    rt.db.dispose()


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright (it cannot download its own here), quiet: the one
    way every browser test here starts it."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    with launched_chromium() as instance:
        yield instance


class Person:
    def __init__(
        self,
        browser,
        base: str,
        email: str,
        name: str,  # type: ignore[no-untyped-def]
        landing: str = "/",
    ):
        self.page = browser.new_page(viewport={"width": 1100, "height": 900})
        self.base, self.name = base, name
        self.shots = 0
        self.sign_in(email, landing)

    def sign_in(self, email: str, landing: str = "/") -> None:
        self.page.goto(self.base + "/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(PASSWORD)  # the same as web_support's people
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.base + landing)

    def shot(self, label: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        name = f"{self.name}-{self.shots:02d}-{label}.png"
        self.page.screenshot(path=str(ARTIFACTS / name), full_page=True)

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)

    def click(self, name: str) -> None:
        self.page.get_by_role("button", name=name).click()

    def text(self) -> str:
        return self.page.inner_text("main")


def _a_friday_ahead(rt) -> str:  # type: ignore[no-untyped-def]
    """A Friday five weeks or more ahead: never in the past, always beyond the notices' lead times."""
    from datetime import timedelta

    day = rt.today() + timedelta(days=35)
    return (day + timedelta(days=(4 - day.weekday()) % 7)).isoformat()


def licence_lines(person: Person, rows: range, years: range) -> None:
    for i, year in zip(rows, years, strict=True):
        person.page.locator(f"#year-{i}").select_option(str(year))
        person.page.locator(f"#kind-{i}").select_option("licence")
        person.page.locator(f"#amount-{i}").fill("400")
        person.page.locator(f"#funding_source-{i}").fill("ICT budget")


def test_change_from_raise_to_release_and_audit(server, browser):  # type: ignore[no-untyped-def]
    base, emails, rt = server
    nat = Person(browser, base, emails["requester"], "requester")
    nat.page.get_by_role("link", name="Raise a change").first.click()
    nat.page.get_by_label("Title").fill("Wi-Fi in the sports hall")
    nat.page.get_by_label("Significant").check()
    nat.page.get_by_label("Description (Markdown)").fill("Coverage for **PE** lessons and exams.")
    nat.click("Raise the change")
    assert "Needs analysis" in nat.text()
    ref = nat.page.url.rsplit("/", 1)[1]
    nat.shot("raised")

    nat.page.get_by_role("link", name="Needs analysis").first.click()
    nat.page.get_by_label("What is needed, by whom, and why").fill("PE staff cannot use tablets in the hall")
    nat.page.get_by_label("Stakeholders consulted").fill("Head of PE\nExams officer\nSite manager")
    nat.page.get_by_label("School Development Plan priority").fill("SDP 2: digital learning")
    nat.page.get_by_label("Options considered").fill("Mesh repeaters; cabled access points (chosen)")
    nat.page.get_by_label("none is processed").check()
    nat.page.get_by_label("not touched").check()
    nat.page.locator("#measure_1_statement").fill("A tablet connects anywhere in the hall")
    nat.page.locator("#measure_1_method").fill("A walk round with a tablet by the head of PE")
    nat.page.locator("#measure_1_check_by").fill("2027-06-30")
    nat.click("Save needs analysis")
    nat.click("Needs analysis complete")
    nat.page.get_by_role("link", name="Financial plan").click()
    nat.page.locator("#year-0").select_option("1")
    nat.page.locator("#kind-0").select_option("capital")
    nat.page.locator("#amount-0").fill("6000")
    nat.page.locator("#funding_source-0").fill("Devolved capital")
    licence_lines(nat, rows=range(1, 4), years=range(1, 4))
    nat.click("Save financial plan")
    # A blocked action is shown disabled, with what it is missing beside it (not an error page).
    blocked = nat.page.get_by_role("button", name="Submit for approval to proceed")
    assert blocked.is_disabled() and "years 4–5 unfunded" in nat.text()
    nat.shot("gate-blocked")
    nat.open(f"/changes/{ref}/stage/finance")
    licence_lines(nat, rows=range(4, 6), years=range(4, 6))
    nat.click("Save financial plan")
    nat.click("Submit for approval to proceed")
    assert "Awaiting approval to proceed" in nat.text()
    assert "total cost of ownership £8,000.00" in nat.text()
    slt = "1 Senior leadership (SLT)"  # the school's words for its roles
    assert f"{slt}: significant changes (FITS change cycle); above £2,000.00 over five years" in nat.text()

    for key in ("finance", "slt"):
        approver = Person(browser, base, emails[key], key)
        assert "Awaiting my decision 1" in approver.text()
        approver.page.get_by_role("link", name=ref).first.click()
        assert "PE staff cannot use tablets" in approver.text() and "£8,000.00" in approver.text()
        approver.page.get_by_label("Comment").fill("Funded from the ICT budget.")
        approver.click("Approve")
        assert "decision" in approver.text()
        approver.shot("approved")
        approver.page.close()

    nat.open(f"/changes/{ref}")
    nat.page.get_by_role("link", name="Risk, back-out and release plan").click()
    friday = _a_friday_ahead(rt)
    nat.page.get_by_label("Starts").fill(f"{friday}T16:00")
    nat.page.get_by_label("Ends").fill(f"{friday}T19:00")
    for answer in (
        "a department or a year group",
        "no: outside lessons",
        "one service that others do not rely on",
        "yes, in a test setting or on a pilot group",
        "under 30 minutes",
        "no: the school's own team",
        "no data is touched",
    ):
        nat.page.get_by_label(answer).check()
    nat.page.get_by_label("Impact on teaching, exams and staff").fill("Hall closed after school only")
    nat.page.get_by_label("Back-out plan").fill("Disconnect the new APs; the old repeater stays in place")
    nat.page.get_by_label("Test plan").fill("Tablet streaming test at each end of the hall")
    nat.click("Save release plan")
    # A significant change is peer-reviewed first: the action waits, disabled, saying so.
    assert nat.page.get_by_role("button", name="Submit for approval to implement").is_disabled()
    assert "no technical peer review" in nat.text()

    # First sign-in of the CAB member: set up the authenticator app before anything else.
    from datetime import timedelta

    from fitsflow.domain import totp

    tom = Person(browser, base, emails["cab"], "cab-enrol", landing="/account/welcome")
    assert "Set up your authenticator app" in tom.text()
    assert tom.page.get_by_role("img", name="QR code for your authenticator app").is_visible()
    secret = tom.page.locator("#totp-secret").inner_text()
    tom.shot("enrol")
    tom.page.get_by_label("Code from the app").fill(totp.code_at(secret, rt.now()))
    tom.click("Turn on two-step sign-in")
    assert tom.page.locator("#recovery-codes li").count() == 10
    tom.page.get_by_role("link", name="Go on to fitsflow").click()
    # Tom is in the support team: he peer-reviews the plan before it goes to the CAB.
    tom.open(f"/changes/{ref}")
    tom.page.get_by_label("Approve: ready for the CAB").check()
    tom.page.get_by_label("Comments (required to return)").fill("Back-out plan checked on the spare AP.")
    tom.click("Record the peer review")
    assert "approved the release plan" in tom.text()
    nat.open(f"/changes/{ref}")
    nat.click("Submit for approval to implement")
    assert "Awaiting approval to implement" in nat.text()
    assert "low (1 point from the risk assessment)" in nat.text()
    tom.open("/")
    assert "Awaiting my decision 1" in tom.text()
    tom.click("Sign out")
    # Signing in again: the password, then a code (the next one the app will show: each
    # code works once, and the one used to enrol is spent).
    tom.sign_in(emails["cab"], landing="/login/code")
    tom.page.get_by_label("Code").fill(totp.code_at(secret, rt.now() + timedelta(seconds=30)))
    tom.click("Sign in")
    tom.page.wait_for_url(base + "/")
    tom.shot("signed-in-with-code")
    tom.open(f"/changes/{ref}")
    tom.click("Approve")
    tom.page.close()

    slt = Person(browser, base, emails["slt"], "slt-implement")
    slt.open(f"/changes/{ref}")
    slt.click("Approve")
    slt.page.close()

    nat.open(f"/changes/{ref}")
    assert "Approved" in nat.text()
    nat.click("Schedule the release")
    assert "Scheduled" in nat.text()
    assert "Release notices" in nat.text()
    nat.shot("scheduled")

    # The staff notice goes out on its lead time; a teacher reads and acknowledges it.
    from fitsflow.services import notices

    notices.publish_due(rt, now=rt.now() + timedelta(days=400))
    sarah = Person(browser, base, emails["teacher"], "teacher")
    sarah.page.get_by_role("link", name="My notices").first.click()
    notice_text = sarah.text()
    assert "Wi-Fi in the sports hall" in notice_text and "Tablet streaming" not in notice_text
    assert "£" not in notice_text
    sarah.shot("notice")
    sarah.click("Read and understood")
    assert "Acknowledged" in sarah.text()
    nat.open(f"/changes/{ref}")
    # The count links to the names (a parents' notice has hundreds).
    notices = nat.page.locator("section[aria-labelledby=notices]")
    notices.get_by_role("link", name="1", exact=True).first.click()
    assert "Sarah Khan" in nat.text()

    gwen = Person(browser, base, emails["auditor"], "auditor")
    gwen.page.get_by_role("link", name="Audit").first.click()
    assert "Audit trail verified up to seq" in gwen.text()
    gwen.shot("chain-verified")
    gwen.page.get_by_role("link", name=ref).click()
    history = gwen.text()
    # The history in words, never event or trigger names.
    for event in (
        "Raised by",
        "Needs analysis edited",
        "Financial plan edited",
        "Approval asked for: Approval to proceed",
        "Approved at Approval to proceed",
        "Release plan edited",
        "Approval to implement: passed",
        "Schedule the release",
    ):
        assert event in history, event
    assert "approval.decided" not in history and "stage.needs" not in history
    assert "Funded from the ICT budget." in history
    assert gwen.page.get_by_role("button", name="Approve").count() == 0
    gwen.shot("history")


def test_the_cab_sees_a_clash_before_deciding_and_scheduling_over_it_needs_a_reason(server, browser):  # type: ignore[no-untyped-def]
    from fitsflow.services import catalogue, mfa

    from . import factories as f
    from .web_support import WebSchool

    base, _, rt = server
    catalogue.load_demo(rt)
    school = WebSchool(rt)
    mfa.set_exempt(rt, user_ids=[*school.cab, school.requester], exempt=True)
    other = f.change_in(rt, school, "minor", "scheduled", title="Switch firmware", affected=("Core network",))
    mine = f.change_in(
        rt, school, "minor", "implement_approval", title="Wi-Fi controllers", affected=("Wi-Fi",)
    )

    cab = Person(browser, base, school.emails[school.cab[0]], "cab-clash")
    cab.open(f"/changes/{mine}")
    card = cab.page.locator("section.decision-card").inner_text()
    assert "Clash:" in card  # on the decision card, beside the buttons
    assert other in card and "Switch firmware" in card and "Wi-Fi ↔ Core network" in card
    cab.shot("clash-on-card")
    cab.page.get_by_label("Comment").fill("Firmware first, then the controllers.")
    cab.click("Approve")
    assert "Approved" in cab.text()
    cab.page.close()

    requester = Person(browser, base, school.emails[school.requester], "requester-clash")
    requester.open(f"/changes/{mine}")
    assert other in requester.text()
    # Scheduling over the clash asks for the reason in the form itself.
    reason = requester.page.locator("#reason-schedule")
    assert reason.get_attribute("required") is not None
    reason.fill("Agreed at CAB: firmware is done by 18:00")
    requester.click("Schedule the release")
    assert "Scheduled" in requester.text()
    assert "Agreed at CAB: firmware is done by 18:00" in requester.text()
    requester.shot("scheduled-over-clash")


def test_a_30000_change_needs_the_governors_and_an_edit_after_approval_is_seen_again(server, browser):  # type: ignore[no-untyped-def]
    """Issue 10's journey: the page explains that the governors must approve a £30,000
    change; the CAB approves; the requester edits the back-out plan; the CAB sees "changed
    since approval" field by field and approves again."""
    from fitsflow.services import mfa

    from . import factories as f
    from .web_support import PASSWORD as WEB_PASSWORD
    from .web_support import WebSchool

    base, _, rt = server
    assert WEB_PASSWORD == PASSWORD
    school = WebSchool(rt)
    governor = users_service.add_user(
        rt, name="Rob Hughes", email="rob@browser.school", roles="governors", password=PASSWORD
    )
    mfa.set_exempt(
        rt,
        user_ids=[*school.cab, school.requester, school.slt, school.head, school.finance, governor],
        exempt=True,
    )
    ref = f.change_in(rt, school, "major", "financial_planning", title="Replace the core network")
    lines = [{"year": 1, "kind": "capital", "amount": "25000", "funding_source": "Devolved capital"}]
    lines += [
        {"year": y, "kind": "licence", "amount": "1000", "funding_source": "ICT budget"} for y in range(1, 6)
    ]
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=lines)

    nat = Person(browser, base, school.emails[school.requester], "requester-30k")
    nat.open(f"/changes/{ref}")
    page = nat.text()
    assert "total cost of ownership £30,000.00" in page
    assert "1 Governors' finance committee: above £25,000.00 over five years" in page
    nat.shot("governors-needed")
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    gate = changes_service.get_change(rt, actor_id=school.requester, ref=ref).gate
    assert gate is not None and gate.requirements == {"finance": 1, "slt": 1, "head": 1, "governors": 1}
    for uid in (school.finance, school.slt, school.head, governor):
        gates_service.decide(rt, actor_id=uid, ref=ref, decision="approve")
    f.fill_stages(rt, school.requester, ref, ("release_plan",))
    peer_review.review_plan(rt, actor_id=school.cab[0], ref=ref, outcome="approve")
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")

    cab = Person(browser, base, school.emails[school.cab[1]], "cab-30k")
    cab.open(f"/changes/{ref}")
    cab.click("Approve")
    for uid in (school.cab[0], school.slt, school.head):
        gates_service.decide(rt, actor_id=uid, ref=ref, decision="approve")
    assert f.snapshot(rt, ref)[0] == "approved"

    nat.open(f"/changes/{ref}/stage/release-plan")
    nat.page.get_by_label("Back-out plan").fill("none really")
    nat.click("Save release plan")
    assert "Awaiting approval to implement" in nat.text()

    cab.open(f"/changes/{ref}")
    text = cab.text()
    assert "Changed since approval to implement was given" in text
    row = (
        cab.page.locator("table", has_text="What was approved")
        .locator("tr", has_text="back-out plan")
        .inner_text()
    )
    assert "Reimage from backup" in row and "none really" in row
    cab.shot("changed-since-approval")
    cab.click("Approve")
    assert "Recorded; the gate still needs" in cab.text()
