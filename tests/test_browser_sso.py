"""Issue 24, item 5, in a real browser at phone width (390 × 844): a member of staff taps
"Sign in with School Microsoft" on the sign-in page, the school's provider (npm's
oidc-provider on 127.0.0.1) signs them in, they land on their home page here with the
roles their groups give; signing out offers "Sign out of School Microsoft", which ends the
provider's session too; axe finds nothing on the pages on the way. Screenshots in
test-artifacts/browser/ (sso-*)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fitsflow.persistence import queries
from web import create_app

from .oidc_support import running_provider
from .test_accessibility import _violations
from .test_browser import ARTIFACTS, launched_chromium, require_browser
from .test_sso import ACCOUNTS, _runtime
from .web_support import serving

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    require_browser()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with running_provider(tmp_path, ACCOUNTS, app=base) as provider:
        # A file, not memory: the served app answers the page and its files in several threads.
        rt = _runtime(tmp_path, provider.issuer, url=f"sqlite:///{tmp_path / 'sso.db'}")
        with serving(create_app(rt, {"TESTING": True}), port=port):
            yield base, rt, provider
        rt.db.dispose()


def test_a_teacher_signs_in_with_the_schools_account_on_a_phone_and_out_again(served):
    base, rt, provider = served
    provider.control(login="alice")
    with launched_chromium() as chromium:
        # bypass_csp: only so that axe itself can be injected; the pages keep their policy.
        context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT}, bypass_csp=True)
        page = context.new_page()
        page.goto(base + "/login")
        button = page.get_by_role("link", name="Sign in with School Microsoft")
        assert button.is_visible()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        assert _violations(page) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sso-01-sign-in.png"), full_page=True)
        button.click()
        page.wait_for_url(lambda url: url.startswith(base) and "/login" not in url)
        assert "Alice Archer" in page.inner_text("body")
        with rt.db.read() as session:
            user = queries.user_by_email(session, ACCOUNTS["alice"]["claims"]["email"])
            assert user is not None and user.id is not None
            assert queries.roles_of(session, user.id) == {"cab"}
        page.screenshot(path=str(ARTIFACTS / "sso-02-home.png"), full_page=True)
        page.goto(base + "/account")
        assert "You sign in with School Microsoft" in page.inner_text("main")
        assert _violations(page) == []
        page.get_by_role("button", name="Sign out", exact=True).first.click()
        page.wait_for_url(lambda url: "/logout" in url or "/login" in url)
        assert "You are signed out of fitsflow" in page.inner_text("main")
        leave = page.get_by_role("link", name="Sign out of School Microsoft")
        assert leave.is_visible() and page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        assert _violations(page) == []
        page.screenshot(path=str(ARTIFACTS / "sso-03-signed-out.png"), full_page=True)
        leave.click()
        # The provider asks to confirm its own sign-out, then sends the browser back here.
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(lambda url: url.startswith(base + "/login"))
        assert page.get_by_role("link", name="Sign in with School Microsoft").is_visible()
        # Signed out there too: the next sign-in asks the provider again (scripted: nobody now).
        provider.control(login=None)
        page.get_by_role("link", name="Sign in with School Microsoft").click()
        page.wait_for_load_state()
        assert "no login scripted" in page.inner_text("body")
        context.close()
