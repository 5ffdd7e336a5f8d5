"""Issue 20, item 8, walked in chromium at phone width (390 px): staff imported from the MIS
open the invitation email's link, choose a password and are in — a teacher straight to her
notices, a new CAB member on to setting up the authenticator app, one step after another —
and someone who forgot a password asks for a link. No page is wider than the phone.
Screenshots in test-artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fitsflow.domain import totp
from fitsflow.services import users

from .mail_support import deliver, link_in, mail_runtime, message_to
from .test_accessibility import AXE, _violations
from .test_browser import ARTIFACTS, browser, server  # noqa: F401  (fixtures)
from .web_support import make_app, serving

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
STAFF = ("name,email,roles,audiences\n"
         "Sarah Khan,sarah.khan@school.example,,staff\n"
         "Tom Price,tom.price@school.example,cab,support\n")


@pytest.fixture
def site(server, tmp_path) -> Iterator[tuple[str, Any, Any]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """A school with email going to aiosmtpd, served; ``server`` only makes it skip or fail as
    the other browser tests do."""
    with mail_runtime("sqlite", f"sqlite:///{tmp_path / 'invite.db'}") as (rt, recorder):
        with serving(make_app(rt, tmp_path, mfa=True)) as base:
            yield base, rt, recorder


def phone(chromium: Any) -> Any:
    # bypass_csp: only so that axe itself can be injected; the pages keep their policy.
    return chromium.new_page(viewport=PHONE, bypass_csp=True)


def fits(page: Any, label: str) -> None:
    """Nothing sideways on a phone (the page no wider than the screen) and no axe violation.
    A screenshot kept."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"invitation-{label}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{label}: {width} px wide on a {PHONE['width']} px phone"
    if AXE.exists():  # as in test_accessibility: axe-core comes from npm (tests/axe)
        assert _violations(page) == [], label


def test_imported_staff_sign_in_from_the_invitation_at_phone_width(site, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    base, rt, recorder = site
    assert users.import_users(rt, text=STAFF).invited == 2
    deliver(rt)

    sarah = phone(browser)
    sarah.goto(base + link_in(message_to(recorder, "sarah.khan@school.example")))
    assert "Choose your password" in sarah.inner_text("main")
    fits(sarah, "teacher-choose")
    sarah.get_by_label("Password (12 characters").fill("password1234")
    sarah.get_by_label("The password again").fill("password1234")
    sarah.get_by_role("button", name="Save my password").click()
    assert "is one of the most common passwords" in sarah.inner_text("main")
    fits(sarah, "teacher-refused")
    sarah.get_by_label("Password (12 characters").fill("kestrel meadow lantern")
    sarah.get_by_label("The password again").fill("kestrel meadow lantern")
    sarah.get_by_role("button", name="Save my password").click()
    sarah.wait_for_url(base + "/")
    assert "you are signed in" in sarah.inner_text("main")
    fits(sarah, "teacher-home")
    sarah.goto(base + "/notices/releases")
    fits(sarah, "teacher-notices")

    tom = phone(browser)
    tom.goto(base + link_in(message_to(recorder, "tom.price@school.example")))
    tom.get_by_label("Password (12 characters").fill("otter harbour twilight")
    tom.get_by_label("The password again").fill("otter harbour twilight")
    tom.get_by_role("button", name="Save my password").click()
    tom.wait_for_url(base + "/account/welcome")
    text = tom.inner_text("main")
    assert "Step 1 of 1" in text and "Set up your authenticator app" in text
    qr = tom.get_by_role("img", name="QR code for your authenticator app")
    assert qr.is_visible() and qr.bounding_box()["width"] <= PHONE["width"]
    fits(tom, "approver-enrol")
    tom.goto(base + "/approvals")  # any other page leads back to the step
    assert tom.url == base + "/account/welcome"
    secret = tom.locator("#totp-secret").inner_text()
    tom.get_by_label("Code from the app").fill(totp.code_at(secret, rt.now()))
    tom.get_by_role("button", name="Turn on two-step sign-in").click()
    assert tom.locator("#recovery-codes li").count() == 10
    fits(tom, "approver-codes")
    tom.get_by_role("link", name="Go on to fitsflow").click()
    tom.goto(base + "/approvals")
    assert tom.url == base + "/approvals"
    fits(tom, "approver-approvals")


def test_forgot_password_at_phone_width(site, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    base, rt, recorder = site
    users.add_user(rt, name="Nat Osei", email="nat.osei@school.example", roles="requester",
                   password="correct horse battery")
    page = phone(browser)
    page.goto(base + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    fits(page, "forgot")
    page.get_by_label("Email").fill("nat.osei@school.example")
    page.get_by_role("button", name="Send me a link").click()
    assert "If an account uses nat.osei@school.example" in page.inner_text("main")
    fits(page, "forgot-sent")
    deliver(rt)
    page.goto(base + link_in(message_to(recorder, "nat.osei@school.example")))
    assert "Choose a new password" in page.inner_text("main")
    page.get_by_label("Password (12 characters").fill("lantern orchard seventeen")
    page.get_by_label("The password again").fill("lantern orchard seventeen")
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(base + "/")
    fits(page, "reset-home")
    page.goto(base + link_in(message_to(recorder, "nat.osei@school.example")))
    assert "This link no longer works" in page.inner_text("main")
    fits(page, "reset-gone")


def test_a_new_approver_whose_first_password_the_admin_set_is_led_through_both_steps(site, browser):  # type: ignore[no-untyped-def]  # noqa: F811
    """The loop of issue 20 (/account ↔ /account/mfa, "too many redirects"), walked in a browser."""
    base, rt, _ = site
    admin = users.add_user(rt, name="Only Admin", email="admin@school.example", roles="admin",
                           password="correct horse battery")
    users.add_user(rt, name="Dee Walsh", email="dee.walsh@school.example", roles="slt", audiences="slt",
                   password="admin chosen heron", actor_label="admin@school.example",
                   by=users.By(admin, "admin@school.example"))
    dee = phone(browser)
    dee.goto(base + "/login")
    dee.get_by_label("Email").fill("dee.walsh@school.example")
    dee.get_by_label("Password").fill("admin chosen heron")
    dee.get_by_role("button", name="Sign in").click()
    dee.wait_for_url(base + "/account/welcome")
    assert "Step 1 of 2: Choose your password" in dee.inner_text("main")
    fits(dee, "onboarding-password")
    dee.get_by_label("The password you were given").fill("admin chosen heron")
    dee.get_by_label("Your new password").fill("heron quietly lantern")
    dee.get_by_label("The new password again").fill("heron quietly lantern")
    dee.get_by_role("button", name="Save my password").click()
    dee.wait_for_url(base + "/account/welcome")
    assert "Step 2 of 2: Set up your authenticator app" in dee.inner_text("main")
    fits(dee, "onboarding-mfa")
    secret = dee.locator("#totp-secret").inner_text()
    dee.get_by_label("Code from the app").fill(totp.code_at(secret, rt.now()))
    dee.get_by_role("button", name="Turn on two-step sign-in").click()
    assert dee.locator("#recovery-codes li").count() == 10
    dee.get_by_role("link", name="Go on to fitsflow").click()
    dee.wait_for_url(base + "/")
    dee.goto(base + "/approvals")
    assert dee.url == base + "/approvals"
