"""Issue 25, the filtering journey in a real browser on a phone (390 × 844): a teacher asks for
a site to be unblocked; the designated safeguarding lead decides with the reason; the network
manager marks it applied; a governor sees it in the term's report. Each step asserts what the
person sees and that the control they need is on screen.

Screenshots are kept in test-artifacts/browser/ (phone-filtering-*)."""

from __future__ import annotations

from typing import Any

import pytest

from fitsflow.services import users as users_service

from .test_browser_phone_journeys import Phone, Site, chromium, site  # noqa: F401 - fixtures
from .web_support import PASSWORD

pytestmark = pytest.mark.browser


def test_a_teacher_asks_the_dsl_decides_on_a_phone_it_is_applied_and_the_governor_sees_it(
        site: Site, chromium: Any) -> None:  # noqa: F811 - the fixtures above
    rt, school = site.rt, site.school
    users_service.add_user(rt, name="Jo Webb (DSL)", email="jo.webb@phone.school", roles="dsl",
                           audiences="slt", password=PASSWORD)
    users_service.add_user(rt, name="Rob Hughes (Governor)", email="rob.hughes@phone.school",
                           roles="governors", password=PASSWORD)

    teacher = Phone(chromium, site.base, school.emails[school.staff], "filtering-teacher")
    try:
        teacher.nav_link("Web filtering").click()
        teacher.page.get_by_role("link", name="Ask for a filtering change").click()
        site_field = teacher.page.get_by_label("The website's address, or the category of sites")
        site_field.fill("www.scratch.mit.edu")
        teacher.page.get_by_label("Allow (unblock)").check()
        teacher.page.get_by_label("Why: what it is needed for, or the harm it would prevent").fill(
            "The Year 8 programming unit shares projects on Scratch")
        teacher.page.get_by_label("For whom (a class, a year group, staff, everyone)").fill("Year 8")
        teacher.button("Send the request").click()
        said = teacher.text()
        assert "your request is with the safeguarding lead" in said
        assert "Waiting for the safeguarding lead" in said
        request_path = teacher.page.url.removeprefix(site.base)
        teacher.shot("asked")
    finally:
        teacher.close()

    dsl = Phone(chromium, site.base, "jo.webb@phone.school", "filtering-dsl")
    try:
        link = dsl.nav_link("Web filtering")
        assert link.inner_text().split() == ["Web", "filtering", "waiting", "for", "you:", "1"]
        link.click()
        listed = dsl.text()
        assert "Waiting for me" in listed and "www.scratch.mit.edu" in listed
        dsl.page.get_by_role("link", name="Allow (unblock): www.scratch.mit.edu").click()
        reason = dsl.page.get_by_label("Reason for the decision", exact=False).first
        dsl.on_screen(reason, "the reason for the decision")
        dsl.button("Agree").click()  # no reason yet: the browser asks for it, nothing is sent
        assert "Waiting for the safeguarding lead" in dsl.text()
        reason.fill("Educational; projects are moderated. Allowed for Year 8 only.")
        dsl.button("Agree").click()
        after = dsl.text()
        assert "Agreed: waiting to be applied" in after and "Educational; projects are moderated" in after
        dsl.shot("agreed")
    finally:
        dsl.close()

    manager = Phone(chromium, site.base, school.emails[school.requester], "filtering-manager")
    try:
        manager.open("/filtering")
        assert "www.scratch.mit.edu" in manager.text()
        manager.open(request_path)
        manager.button("Record it as applied").click()
        assert "Applied on the filter" in manager.text()
        manager.shot("applied")
    finally:
        manager.close()

    governor = Phone(chromium, site.base, "rob.hughes@phone.school", "filtering-governor")
    try:
        governor.nav_link("Reports").click()
        report = governor.page.locator("section[aria-labelledby=filtering]")
        heading = report.get_by_role("heading", name="Web filtering")
        governor.on_screen(heading, "the report's web filtering")
        text = report.inner_text()
        assert "1 request to allow or block" in text and "agreed: 1" in text
        assert "applied on the filter: 1" in text
        report.get_by_role("link", name="The decisions and their reasons").click()
        assert "www.scratch.mit.edu" in governor.text()
        governor.shot("report")
    finally:
        governor.close()
