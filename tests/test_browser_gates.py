"""Issue 20.7 in a real browser: the head, who is also SLT, was offered "decide as SLT" first
when only the head's approval was missing; her vote counted as a second SLT and she was
then told she had already decided. Now the decision card says her vote counts as head, one
click passes the gate, and at phone width the card fits the screen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fitsflow.services import gates, mfa
from fitsflow.services import users as users_service

from . import factories as f
from .conftest import sqlite_runtime
from .test_browser import PASSWORD, browser, require_browser  # noqa: F401 - the fixture
from .web_support import make_app, serving

pytestmark = pytest.mark.browser


@pytest.fixture
def school_site(tmp_path) -> Iterator[tuple[str, object, str, str]]:  # type: ignore[no-untyped-def]
    require_browser()
    rt = sqlite_runtime(f"sqlite:///{tmp_path / 'gates.db'}")
    school = f.School(rt)
    helen = users_service.add_user(rt, name="Helen Carter", email="helen@browser.school",
                                   roles="head slt", audiences="slt", password=PASSWORD)
    mfa.set_exempt(rt, user_ids=[helen], exempt=True)
    ref = f.change_in(rt, school, "major", "proceed_approval")  # finance, SLT and the head
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    with serving(make_app(rt, tmp_path)) as base:
        yield base, rt, ref, "helen@browser.school"
    rt.db.dispose()


def test_the_head_who_is_also_slt_votes_as_head_in_one_click_at_phone_width(school_site, browser):  # noqa: F811
    base, rt, ref, email = school_site
    page = browser.new_page(viewport={"width": 375, "height": 800})
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")
    page.goto(f"{base}/changes/{ref}")
    card = page.inner_text("main")
    assert "Your vote counts as Headteacher" in card
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{base}/changes/{ref}")
    after = page.inner_text("main")
    assert "already decided" not in after
    from fitsflow.services import changes

    assert changes.get_change(rt, actor_id=1, ref=ref).change.state == "release_planning"
