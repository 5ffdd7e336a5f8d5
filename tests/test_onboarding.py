"""Issue 20, item 8: a new approver whose first password an administrator set looped for
ever between /account and /account/mfa ("too many redirects") — the normal onboarding in a
school with one administrator. Now a first sign-in that needs both a password of one's own
and a second factor is one sequence, /account/welcome: choose a password → set up the
authenticator app → done. Every other page leads to the current step; the step page never
sends anyone elsewhere while a step is due."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fitsflow.domain import totp
from fitsflow.services import mfa

from . import factories as f
from .web_support import PASSWORD, WebSchool, login, make_app, post

NEW = "new.approver@test.school"
ADMIN_CHOSEN = "admin chosen heron"
OWN = "lantern orchard seventeen"
HOPS = 10  # a browser gives up after ~20; a sequence needs two at most


def follow(client: Any, path: str) -> tuple[Any, list[str]]:
    """GET ``path`` and follow redirects, at most HOPS of them: (last answer, where it went)."""
    seen: list[str] = []
    answer = client.get(path)
    while answer.status_code in (301, 302, 303) and len(seen) < HOPS:
        seen.append(answer.headers["Location"])
        answer = client.get(answer.headers["Location"])
    return answer, seen


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    app = make_app(sqlite_rt, tmp_path, mfa=True)  # approver roles need a second factor
    rt = app.extensions["fitsflow"]
    school = WebSchool(rt)
    mfa.set_exempt(rt, user_ids=[school.admin], exempt=True)  # the one administrator, signed in
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    return app, rt, school, admin


def _admin_adds_an_approver_with_a_first_password(admin: Any) -> None:
    r = post(admin, "/admin/users", {"name": "New Approver", "email": NEW, "roles": "cab",
                                     "audiences": "support", "password": ADMIN_CHOSEN}, page="/admin/users")
    assert r.status_code == 302


def test_a_new_approver_with_a_password_set_by_the_admin_is_led_through_one_sequence(site):
    app, rt, school, admin = site
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    _admin_adds_an_approver_with_a_first_password(admin)
    person = app.test_client()
    assert login(person, NEW, ADMIN_CHOSEN).status_code == 302

    answer, hops = follow(person, "/")
    assert answer.status_code == 200, f"still redirecting after {hops}"
    assert hops[-1].endswith("/account/welcome")
    page = answer.get_data(as_text=True)
    assert "Step 1 of 2" in page and "Choose your password" in page
    for path in ("/", f"/changes/{ref}", "/approvals", "/account", "/account/mfa", "/notices"):
        assert person.get(path).headers["Location"].endswith("/account/welcome"), path
    r = post(person, f"/changes/{ref}/decision", {"decision": "approve"}, page="/account/welcome")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/welcome")
    assert f.snapshot(rt, ref)[0] == "proceed_approval"

    # Step 1: a password of one's own (the one the administrator gave, then the new one).
    r = post(person, "/account/welcome/password", {"current_password": "wrong", "new_password": OWN,
                                                   "new_password_again": OWN}, page="/account/welcome")
    assert r.status_code == 400 and "is not your current password" in r.get_data(as_text=True)
    r = post(person, "/account/welcome/password", {"current_password": ADMIN_CHOSEN, "new_password": "short",
                                                   "new_password_again": "short"}, page="/account/welcome")
    assert r.status_code == 400 and "12 characters" in r.get_data(as_text=True)
    r = post(person, "/account/welcome/password", {"current_password": ADMIN_CHOSEN, "new_password": OWN,
                                                   "new_password_again": OWN + "x"}, page="/account/welcome")
    assert r.status_code == 400 and "does not match" in r.get_data(as_text=True)
    r = post(person, "/account/welcome/password", {"current_password": ADMIN_CHOSEN, "new_password": OWN,
                                                   "new_password_again": OWN}, page="/account/welcome")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/welcome")

    # Step 2: the authenticator app, on the same page; still nothing else opens.
    answer, hops = follow(person, "/approvals")
    assert answer.status_code == 200 and hops[-1].endswith("/account/welcome")
    page = answer.get_data(as_text=True)
    assert "Step 2 of 2" in page and "Set up your authenticator app" in page
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    r = post(person, "/account/welcome/mfa", {"code": "12"}, page="/account/welcome")
    assert r.status_code == 400 and "is not the code your app shows" in r.get_data(as_text=True)
    code = totp.code_at(secret, rt.now())
    r = post(person, "/account/welcome/mfa", {"code": code}, page="/account/welcome")
    assert r.status_code == 201
    done = r.get_data(as_text=True)
    assert len(re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", done)) == 10
    assert "Go on to fitsflow" in done

    answer, hops = follow(person, "/approvals")
    assert (answer.status_code, hops) == (200, [])
    assert person.get("/account/welcome").headers["Location"].endswith("/")  # nothing left to do


def test_the_old_password_signs_in_no_more_and_the_new_one_does(site):
    app, rt, school, admin = site
    _admin_adds_an_approver_with_a_first_password(admin)
    person = app.test_client()
    login(person, NEW, ADMIN_CHOSEN)
    post(person, "/account/welcome/password", {"current_password": ADMIN_CHOSEN, "new_password": OWN,
                                               "new_password_again": OWN}, page="/account/welcome")
    other = app.test_client()
    assert login(other, NEW, ADMIN_CHOSEN).status_code == 401
    assert login(other, NEW, OWN).status_code == 302
    answer, hops = follow(other, "/")
    assert answer.status_code == 200 and hops == ["/account/welcome"]
    assert "Step 1 of 1" in answer.get_data(as_text=True)


@pytest.mark.parametrize("due", ["password", "mfa", "both", "none"])
def test_no_page_loops_whatever_is_due(site, due):
    """Every GET page a signed-in person can be sent to ends in a page within two hops."""
    app, rt, school, admin = site
    uid = school.cab[0] if due in ("mfa", "both") else school.requester
    if due in ("password", "both"):
        post(admin, f"/admin/users/{uid}", {"name": "Someone", "password": ADMIN_CHOSEN, "active": "1",
                                            "roles": "cab" if due == "both" else "requester",
                                            "audiences": "support"}, page=f"/admin/users/{uid}")
    client = app.test_client()
    login(client, school.emails[uid], ADMIN_CHOSEN if due in ("password", "both") else PASSWORD)
    paths = [str(rule.rule) for rule in app.url_map.iter_rules()
             if "GET" in (rule.methods or ()) and not rule.arguments and not rule.rule.startswith("/api/")]
    for path in paths:
        answer, hops = follow(client, path)
        assert len(hops) <= 2 and answer.status_code < 500, (path, hops)
