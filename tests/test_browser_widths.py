"""Nothing wider than a phone, and every text readable — measured by the test itself.

Every page each role uses (the lists of tests/test_accessibility.py) is loaded in chromium at
360 and 390 px. The page must not scroll sideways: `document.documentElement.scrollWidth` may
not exceed the viewport (a wide table scrolls inside its own focusable region instead), and a
failure names the widest elements that stick out. The same pass computes, in the page, the
WCAG contrast of every visible text against its effective background (4.5:1, or 3:1 for large
text) and of every focus indicator against what surrounds it (3:1) — not left to axe alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .test_accessibility import _expected, _pages, serve_site
from .test_browser import launched_chromium, require_browser
from .web_support import PASSWORD, WebSchool

WIDTHS = (360, 390)
ROLES = ("staff", "requester", "cab", "auditor", "admin")

pytestmark = pytest.mark.browser

# In the page: an element named by its last few ancestors (tag#id.class > …).
PATH = """
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        [...el.classList].map(c => '.' + c).join('');
    const path = el => {
        const parts = [];
        for (let a = el; a && a !== document.body && parts.length < 4; a = a.parentElement) {
            parts.unshift(name(a));
        }
        return parts.join(' > ');
    };
"""

# Runs in the page: how far it sticks out, and which elements do it (those outside any region
# that scrolls sideways on its own).
MEASURE_WIDTH = "() => {" + PATH + """
    const width = window.innerWidth;
    // Held inside a region of its own: an ancestor that scrolls (or clips) sideways and that
    // contains it for layout (an absolutely placed element escapes up to its positioned ancestor).
    const scrolls = el => {
        let position = getComputedStyle(el).position;
        if (position === 'fixed') return true;
        let escaping = position === 'absolute';
        for (let a = el.parentElement; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            const o = s.overflowX;
            if (!escaping && (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip')) return true;
            if (escaping && (s.position !== 'static' || s.transform !== 'none')) escaping = false;
            if (!escaping && (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip')) return true;
        }
        return false;
    };
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.right <= width + 0.5 || scrolls(el)) continue;
        wide.push({el, right: Math.round(r.right), width: Math.round(r.width)});
    }
    // The outermost offenders explain the rest: drop those inside another offender.
    const outer = wide.filter(w => !wide.some(o => o.el !== w.el && o.el.contains(w.el) &&
                                                   o.right >= w.right));
    outer.sort((a, b) => b.right - a.right);
    // A region that scrolls sideways must be reachable from the keyboard: focusable itself
    // (tabindex="0") or holding something focusable.
    const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
    const stuck = [];
    for (const el of document.body.querySelectorAll('*')) {
        const o = getComputedStyle(el).overflowX;
        if ((o !== 'auto' && o !== 'scroll') || el.scrollWidth <= el.clientWidth + 1) continue;
        if (el.tabIndex >= 0 || el.querySelector(focusable)) continue;
        stuck.push(`${path(el)} scrolls sideways (${el.scrollWidth}px in ${el.clientWidth}px) ` +
                   'but cannot be reached from the keyboard');
    }
    return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, stuck,
            offenders: outer.slice(0, 5).map(w => `${path(w.el)} (right ${w.right}px, ` +
                `${w.width}px wide: "${(w.el.innerText || '').trim().slice(0, 40).replace(/\\s+/g, ' ')}")`)};
}"""

# Runs in the page: WCAG contrast of every visible text and of every focus indicator.
MEASURE_CONTRAST = "() => {" + PATH + """
    const parse = s => {
        const m = s.match(/rgba?\\(([^)]+)\\)/);
        if (!m) return null;
        const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
        return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top, under) => {  // top (with alpha) composited on an opaque colour
        const a = top[3];
        return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
    };
    const lum = c => {
        const l = c.slice(0, 3).map(v => v / 255)
            .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2];
    };
    const ratio = (a, b) => {
        const x = lum(a), y = lum(b);
        return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
    };
    const hex = c => '#' + c.slice(0, 3).map(v => Math.round(v).toString(16).padStart(2, '0')).join('');
    // The colour behind an element: its own and its ancestors' backgrounds composited down to
    // the white canvas; null when a background image is in the way (unknown, skipped).
    const background = el => {
        const layers = [];
        for (let a = el; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (s.backgroundImage && s.backgroundImage !== 'none') return null;
            const c = parse(s.backgroundColor);
            if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
        }
        let colour = [255, 255, 255, 1];
        for (const c of layers.reverse()) colour = over(c, colour);
        return colour;
    };
    const opacity = el => {
        let o = 1;
        for (let a = el; a; a = a.parentElement) o *= Number(getComputedStyle(a).opacity);
        return o;
    };
    const hidden = el => {
        for (let a = el; a; a = a.parentElement) {
            const s = getComputedStyle(a);
            if (s.visibility === 'hidden' || s.display === 'none') return true;
            const r = a.getBoundingClientRect();
            const clipped = s.overflow === 'hidden' || s.clip !== 'auto';
            if (clipped && (r.width <= 1 || r.height <= 1)) return true;
        }
        const r = el.getBoundingClientRect();
        return r.width === 0 || r.height === 0 || r.right <= 0 || r.bottom <= -window.scrollY - 100;
    };
    const failures = [];
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || seen.has(el) || !node.textContent.trim()) continue;
        seen.add(el);
        if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TITLE', 'OPTION'].includes(el.tagName) || hidden(el)) continue;
        const s = getComputedStyle(el);
        const bg = background(el);
        const fg = parse(s.color);
        if (!bg || !fg) continue;
        const shown = over([fg[0], fg[1], fg[2], fg[3] * opacity(el)], bg);
        const size = parseFloat(s.fontSize), weight = Number(s.fontWeight) || 400;
        const large = size >= 24 || (size >= 18.66 && weight >= 700);
        const need = large ? 3 : 4.5;
        const r = ratio(shown, bg);
        if (r < need - 0.005) {
            const text = node.textContent.trim().slice(0, 30).replace(/\\s+/g, ' ');
            failures.push(`text ${path(el)} "${text}": ` +
                          `${hex(shown)} on ${hex(bg)} is ${r.toFixed(2)}:1, needs ${need}:1`);
        }
    }
    // Focus indicators: the outline or the halo (box-shadow) must stand 3:1 against what is
    // around the control (its parent's background).
    const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
    const before = document.activeElement;
    const x = window.scrollX, y = window.scrollY;
    for (const el of document.querySelectorAll(focusable)) {
        if (el.disabled || hidden(el)) continue;
        el.focus({preventScroll: true});
        if (document.activeElement !== el) continue;
        const s = getComputedStyle(el);
        const around = background(el.parentElement || el);
        if (!around) continue;
        const marks = [];
        if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) {
            const c = parse(s.outlineColor); if (c) marks.push(c);
        }
        for (const m of (s.boxShadow || '').matchAll(/rgba?\\([^)]+\\)/g)) {
            const c = parse(m[0]);
            if (c) marks.push(c);
        }
        const best = Math.max(0, ...marks.map(c => ratio(over(c, around), around)));
        if (best < 3 - 0.005) {
            failures.push(`focus ring of ${path(el)}: at best ${best.toFixed(2)}:1 on ${hex(around)}, ` +
                          'needs 3:1');
        }
    }
    if (before && before.focus) before.focus({preventScroll: true}); else document.activeElement.blur();
    window.scrollTo(x, y);
    return failures;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, WebSchool, dict[str, str]]]:
    require_browser()
    with serve_site(tmp_path_factory.mktemp("widths")) as served:
        yield served


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module; each person gets a context of their own."""
    with launched_chromium() as instance:
        yield instance


def _check(page: Any, where: str, problems: dict[str, list[str]]) -> None:
    width = page.evaluate(MEASURE_WIDTH)
    found: list[str] = []
    if width["scrollWidth"] > width["innerWidth"]:
        found.append(f"the page is {width['scrollWidth']}px wide on a {width['innerWidth']}px screen; "
                     "widest: " + "; ".join(width["offenders"] or ["(no single element found)"]))
    found += width["stuck"]
    found += page.evaluate(MEASURE_CONTRAST)
    if found:
        problems[where] = found


@pytest.mark.parametrize("role", ROLES)
def test_every_page_fits_a_phone_and_its_text_is_readable(site, chromium, role: str) -> None:  # type: ignore[no-untyped-def]
    base, school, refs = site
    expected = _expected(refs)
    who = {"staff": school.staff, "requester": school.requester, "cab": school.cab[0],
           "auditor": school.auditor, "admin": school.admin}[role]
    problems: dict[str, list[str]] = {}
    context = chromium.new_context(viewport={"width": WIDTHS[0], "height": 800})
    page = context.new_page()
    try:
        for n, width in enumerate(WIDTHS):
            page.set_viewport_size({"width": width, "height": 800})
            if n == 0:
                page.goto(base + "/login")
                _check(page, f"/login at {width}px", problems)
                page.get_by_label("Email").fill(school.emails[who])
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(lambda url: "/login" not in url)
            for path in _pages(role, refs):
                response = page.goto(base + path)
                status = response.status if response else 0
                if status != expected.get((role, path.split("?")[0]), 200):
                    problems[f"{path} at {width}px"] = [f"answered {status}"]
                    continue
                _check(page, f"{path} at {width}px", problems)
    finally:
        context.close()
    assert not problems, f"{role}'s pages:\n" + "\n".join(
        f"{where}:\n  " + "\n  ".join(v) for where, v in problems.items())


def test_recovery_codes_stay_on_one_line_each_on_a_phone(site, chromium) -> None:  # type: ignore[no-untyped-def]
    """The codes are shown once, after a password: they are put in a signed-in page here as
    _recovery_codes.html lays them out (a ul.codes of <li><code>), and none may break."""
    from fitsflow.domain.totp import new_recovery_codes

    base, school, _refs = site
    context = chromium.new_context(viewport={"width": WIDTHS[0], "height": 800})
    page = context.new_page()
    broken: list[str] = []
    try:
        page.goto(base + "/login")
        page.get_by_label("Email").fill(school.emails[school.staff])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(base + "/account/mfa")
        page.evaluate("""codes => {
            const list = document.createElement('ul');
            list.className = 'codes';
            list.id = 'recovery-codes';
            for (const c of codes) {
                const item = document.createElement('li'), code = document.createElement('code');
                code.textContent = c;
                item.append(code);
                list.append(item);
            }
            document.querySelector('main').append(list);
        }""", new_recovery_codes())
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 800})
            lines = page.evaluate("""() => [...document.querySelectorAll('#recovery-codes code')]
                .map(c => [c.textContent, c.getClientRects().length])""")
            broken += [f"{code} at {width}px takes {n} lines" for code, n in lines if n != 1]
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > width:
                broken.append(f"the page with the codes is {wide}px wide at {width}px")
    finally:
        context.close()
    assert not broken, "\n".join(broken)


def test_the_schedule_is_a_list_of_days_on_a_phone_and_a_grid_on_paper(site, chromium) -> None:  # type: ignore[no-untyped-def]
    """Issue 22.7: the month grid scrolled sideways on a phone, hiding Saturday's clash, and
    printed a week's row across two A4 pages with no "as at" date."""
    base, school, _refs = site
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(base + "/login")
        page.get_by_label("Email").fill(school.emails[school.cab[0]])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(base + "/schedule")
        assert page.locator(".agenda").is_visible() and not page.locator("table.schedule").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.emulate_media(media="print")
        assert page.locator("table.schedule").is_visible() and not page.locator(".agenda").is_visible()
        assert page.locator(".as-at").is_visible() and " as at " in page.locator(".as-at").inner_text()
        repeats = page.evaluate("getComputedStyle(document.querySelector('table.schedule thead')).display")
        unsplit = page.evaluate(
            "getComputedStyle(document.querySelector('table.schedule tbody tr')).breakInside")
        assert repeats == "table-header-group" and unsplit == "avoid"
    finally:
        context.close()
