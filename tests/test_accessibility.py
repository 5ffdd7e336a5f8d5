"""Accessibility as a test: axe-core (the npm package in tests/axe, installed by .ci/run)
is injected into every page each role uses, at desktop width and at 390 px, and must report
no violation (WCAG 2.1 A and AA rules, colour contrast and focus included)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from fitsflow.delivery.worker import Worker
from fitsflow.domain.templates import parse_ref
from fitsflow.persistence.models import CalendarPeriod, Change, InboxItem, NoticeReceipt, ReleaseNotice
from fitsflow.services import assets, calendar, filtering, gates
from fitsflow.services import notices as notices_service

from . import factories as f
from .conftest import IN_CI, sqlite_runtime
from .test_browser import CHROMIUM, _unavailable
from .web_support import PASSWORD, WebSchool, make_app, serving

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, WebSchool, dict[str, str]]]:
    missing_axe = None if AXE.exists() else f"no axe-core at {AXE} (cd tests/axe && npm ci)"
    reason = _unavailable() or missing_axe
    if reason:
        if IN_CI:
            pytest.fail(f"accessibility tests must run under CI: {reason}")
        pytest.skip(f"accessibility tests did not run: {reason}")
    with serve_site(tmp_path_factory.mktemp("a11y")) as served:
        yield served


@contextmanager
def serve_site(folder: Path) -> Iterator[tuple[str, WebSchool, dict[str, str]]]:
    """The school every role's pages are seen in (a change at each stage, a notice sent, an
    inbox item each, a holiday, a standard template), served; its refs name them for `_pages`.
    Also used by tests/test_browser_widths.py."""
    rt = sqlite_runtime(f"sqlite:///{folder / 'a11y.db'}")
    school = WebSchool(rt)
    refs = {
        "gate": f.change_in(rt, school, "minor", "implement_approval", title="Visualisers"),
        "planning": f.change_in(rt, school, "minor", "financial_planning", title="Tablets"),
        "closed": f.change_in(rt, school, "minor", "closed", title="Projector"),
        "reviewing": f.change_in(rt, school, "minor", "in_review", title="Laptops"),
    }
    gates.decide(rt, actor_id=school.cab[0], ref=f.change_in(rt, school, "minor", "implement_approval"),
                    decision="reject", comment="No test plan")
    sent = f.change_in(rt, school, "minor", "scheduled", title="Printers")
    for n in notices_service.notices_for(rt, actor_id=school.requester, ref=sent):
        if n.status in ("draft", "held"):  # every audience's notice now, for the pages that show one
            notices_service.release_notice(rt, actor_id=school.requester, ref=sent, notice_id=n.id,
                                            action="send_now")
    notices_service.publish_due(rt)
    refs["drafted"] = f.change_in(rt, school, "minor", "scheduled", title="Switches")
    refs["draft"] = next(str(n.id) for n in notices_service.notices_for(rt, actor_id=school.requester,
                                                                        ref=refs["drafted"])
                         if n.status == "draft")
    Worker(rt, email=None, webhook=None).run_once()  # the inbox items these people open
    calendar.add_period(rt, actor_id=None, kind="holiday", title="Half term", start="2027-02-15",
                        end="2027-02-19")
    refs["template"] = str(parse_ref(f.standard_template(rt, school)))
    refs["staff"] = str(school.staff)
    refs["filter"] = str(filtering.ask(rt, actor_id=school.staff, data={
        "what": "www.scratch.mit.edu", "action": "allow", "why": "The Year 8 programming unit",
        "for_whom": "Year 8", "until": ""}).id)
    refs["asset"] = str(assets.add(rt, actor_id=school.requester, data={
        "name": "Core switch", "tag": "SW-01", "serial": "FDO2231X0AB", "warranty_ends": "2027-03-31"}).id)
    with rt.db.read() as session:
        notices = select(ReleaseNotice.id).join(Change, Change.id == ReleaseNotice.change_id)
        notice = session.exec(notices.where(Change.ref == refs["closed"])).first()
        assert notice is not None, "the closed change has no release notice"
        refs["notice"] = str(notice)
        receipts = select(NoticeReceipt.notice_id).where(NoticeReceipt.user_id == school.staff)
        receipt = session.exec(receipts).first()
        assert receipt is not None, "the member of staff received no release notice"
        refs["received"] = str(receipt)
        refs["period"] = str(session.exec(select(CalendarPeriod.id)).first())
        for role, uid in (("cab", school.cab[0]), ("requester", school.requester)):
            item = session.exec(select(InboxItem.id).where(InboxItem.user_id == uid)).first()
            assert item is not None, f"no inbox item for the {role}"
            refs[f"inbox_{role}"] = str(item)
    with serving(make_app(rt, folder)) as base:
        yield base, school, refs


def _pages(role: str, refs: dict[str, str]) -> list[str]:
    common = ["/", "/notices", "/notices/releases", "/maintenance", "/account", "/account/mfa",
              "/no-such-page"]
    viewer = ["/changes", "/changes?q=visualisers&cost_min=100", f"/changes/{refs['gate']}",
              f"/changes/{refs['closed']}", "/schedule", "/templates"]
    return common + {
        "staff": [f"/notices/{refs['received']}", "/proposals", "/proposals/new", "/filtering",
                  "/filtering/new", f"/filtering/{refs['filter']}"],
        "requester": [*viewer, "/changes/new", f"/changes/{refs['planning']}/stage/finance",
                      f"/changes/{refs['planning']}",
                      f"/changes/{refs['planning']}/actions/withdraw/confirm",
                      f"/changes/{refs['closed']}/notices/{refs['notice']}/acknowledgements",
                      f"/changes/{refs['closed']}/notices/{refs['notice']}/acknowledgements?waiting=1",
                      f"/notices/inbox/{refs['inbox_requester']}",
                      f"/changes/{refs['planning']}/stage/release-plan",  # a refusal page (409)
                      f"/changes/{refs['planning']}/stage/needs",
                      f"/changes/{refs['drafted']}/notices/{refs['draft']}",
                      f"/changes/{refs['closed']}/stage/review",
                      f"/changes/{refs['reviewing']}/stage/review",  # the review form, actual costs
                      f"/changes/{refs['reviewing']}/feedback",  # the 360° feedback form
                      f"/changes/{refs['closed']}/usage", "/usage-checks?status=all", "/proposals",
                      "/templates/new", f"/templates/{refs['template']}", "/assets", "/assets/new",
                      "/assets/import", f"/assets/{refs['asset']}", "/filtering",
                      f"/filtering/{refs['filter']}"],
        "cab": [*viewer, "/approvals", "/approvals?sort=-cost", f"/notices/inbox/{refs['inbox_cab']}"],
        "auditor": [*viewer, "/audit", "/audit?cost_min=1000", "/schedule/exceptions", "/usage-checks",
                    "/reports", "/assets", f"/assets/{refs['asset']}", "/filtering?view=all"],
        "admin": [*viewer, "/admin/users", "/admin/users?q=test&sort=-email", f"/admin/users/{refs['staff']}",
                  "/admin/workflows",
                  "/admin/calendar", f"/admin/calendar/{refs['period']}", "/admin/services", "/admin/outbox",
                  "/admin/providers",
                  "/changes/new"],  # a page for requesters: the refusal (403)
    }[role]


def _expected(refs: dict[str, str]) -> dict[tuple[str, str], int]:
    """The pages checked that are refusals on purpose (they are pages too); the rest are 200."""
    planning = refs["planning"]
    return {**{(role, "/no-such-page"): 404 for role in ("staff", "requester", "cab", "auditor", "admin")},
            ("requester", f"/changes/{planning}/stage/release-plan"): 409,
            ("requester", f"/changes/{refs['closed']}/stage/review"): 409,
            ("admin", "/changes/new"): 403}


def _violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',
                                                                           'wcag21aa', 'best-practice']}});
        return r.violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3)
            .map(n => n.target.join(' ')).join(' | '));
    }""")
    return list(found)


@pytest.mark.parametrize("role", ["staff", "requester", "cab", "auditor", "admin"])
def test_every_page_of_every_role_has_no_axe_violation(site, role: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    base, school, refs = site
    expected = _expected(refs)
    who = {"staff": school.staff, "requester": school.requester, "cab": school.cab[0],
           "auditor": school.auditor, "admin": school.admin}[role]
    problems: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for width in WIDTHS:
            # bypass_csp: only so that axe itself can be injected; the pages keep their policy.
            page = browser.new_page(viewport={"width": width, "height": 900}, bypass_csp=True)
            page.goto(base + "/login")
            found = _violations(page)  # the one page seen signed out
            if found:
                problems[f"/login at {width}px"] = found
            page.get_by_label("Email").fill(school.emails[who])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            for path in _pages(role, refs):
                response = page.goto(base + path)
                status = response.status if response else 0
                if status != expected.get((role, path.split("?")[0]), 200):
                    problems[f"{path} at {width}px"] = [f"answered {status}"]
                found = _violations(page)
                if found:
                    problems[f"{path} at {width}px"] = found
            if role == "admin":  # the deactivation step is the answer to a form, not an address
                page.goto(base + "/admin/users?q=" + school.emails[school.staff])
                page.get_by_role("button", name="Deactivate…").first.click()
                page.get_by_role("heading", name="Deactivate").wait_for()
                found = _violations(page)
                if found:
                    problems[f"the deactivation step at {width}px"] = found
            page.close()
        browser.close()
    assert not problems, "\n".join(f"{where}:\n  " + "\n  ".join(v) for where, v in problems.items())


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_focus_ring_stands_out_at_least_three_to_one() -> None:
    """axe does not measure focus indicators: the stylesheet's ring is checked here against the
    page's white and the navigation's background."""
    import re

    css = (Path(__file__).resolve().parent.parent / "web" / "static" / "style.css").read_text()
    rule = re.search(r"a:focus, button:focus[^{]*\{([^}]*)\}", css)
    assert rule is not None
    ring = re.search(r"outline: 3px solid (#[0-9a-fA-F]{6})", rule.group(1))
    assert ring is not None
    background = re.search(r"--bg: (#[0-9a-fA-F]{6})", css)
    white = background.group(1) if background else "#ffffff"
    assert _contrast(ring.group(1), white) >= 3
    top = re.search(r"\.top \{[^}]*background: (#[0-9a-fA-F]{6})", css)
    if top:
        halo = re.search(r"box-shadow: 0 0 0 \dpx (#[0-9a-fA-F]{6})", rule.group(1))
        assert halo is not None and _contrast(halo.group(1), top.group(1)) >= 3
