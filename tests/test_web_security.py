"""Security checks, one test each, and a role × route matrix built from app.url_map."""

from __future__ import annotations

import pytest
from fitsflow.web.access import rule_of

from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import PASSWORD, WebSchool, csrf_token, login, make_app, post


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    return make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)


def test_every_route_declares_who_may_open_it(site):
    app, _ = site
    missing = [rule.endpoint for rule in app.url_map.iter_rules()
               if rule_of(app.view_functions[rule.endpoint]) is None]
    assert missing == []


def test_passwords_are_scrypt_and_login_is_throttled(site):
    app, school = site
    client = app.test_client()
    email = school.emails[school.requester]
    for _ in range(5):
        assert login(client, email, "wrong password").status_code == 401
    r = login(client, email, PASSWORD)
    assert r.status_code == 429 and "too many failed sign-ins" in r.get_data(as_text=True)
    other = school.emails[school.finance]
    assert login(app.test_client(), other, PASSWORD).status_code == 302  # others unaffected


def test_unknown_email_and_wrong_password_look_the_same(site):
    app, school = site
    a = login(app.test_client(), "nobody@test.school", "x").get_data(as_text=True)
    b = login(app.test_client(), school.emails[school.finance], "x").get_data(as_text=True)
    assert "email or password not recognised" in a and "email or password not recognised" in b


def test_fresh_session_on_login(site):
    app, school = site
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, school.emails[school.requester])
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_and_password_change_end_sessions(site):
    app, school = site
    email = school.emails[school.requester]
    first, second = app.test_client(), app.test_client()
    login(first, email)
    login(second, email)
    assert second.get("/account").status_code == 200
    r = post(first, "/account/password", {"current_password": PASSWORD, "new_password": "a much longer one"})
    assert r.status_code == 302
    assert first.get("/account").status_code == 200          # this browser stays signed in
    assert second.get("/account").status_code == 302         # the other one is signed out
    post(first, "/logout")
    assert first.get("/account").status_code == 302
    third = app.test_client()
    login(third, email, "a much longer one")
    post(third, "/account/sessions/end")
    assert third.get("/account").status_code == 302


def test_cookies_are_secure_httponly_samesite(sqlite_rt, tmp_path):
    app = make_app(sqlite_rt, tmp_path, web={"secure_cookies": True})
    school = WebSchool(sqlite_rt)
    client = app.test_client()
    r = login(client, school.emails[school.requester])
    cookie = [h for h in r.headers.getlist("Set-Cookie") if h.startswith("fitsflow_session=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_csrf_is_required_on_every_form(site):
    app, school = site
    client = app.test_client()
    assert client.post("/login", data={"email": "a@b.c", "password": "x"}).status_code == 400
    login(client, school.emails[school.requester])
    r = client.post("/changes/new", data={"title": "x", "category": "minor"})
    assert r.status_code == 400 and "form expired" in r.get_data(as_text=True)


def test_changes_one_may_not_see_answer_404(site):
    app, school = site
    ref = f.change_in(app.extensions["fitsflow"], school, "minor", "needs_analysis")
    staff = app.test_client()
    login(staff, school.emails[school.staff])
    assert staff.get(f"/changes/{ref}").status_code == 404
    assert staff.get("/changes/CHG-1999-0001").status_code == 404
    requester = app.test_client()
    login(requester, school.emails[school.requester])
    assert requester.get("/changes/CHG-1999-0001").status_code == 404


def test_user_text_is_escaped_and_markdown_sanitised(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="<script>alert(1)</script>",
                                category="minor",
                                description="Hi <img src=x onerror=alert(1)> "
                                            "[x](javascript:alert(1)) *ok*").ref
    client = app.test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "onerror" not in page and "javascript:alert" not in page and "<em>ok</em>" in page


def test_request_size_is_limited(sqlite_rt, tmp_path):
    app = make_app(sqlite_rt, tmp_path, web={"max_request_kb": 16})
    school = WebSchool(sqlite_rt)
    client = app.test_client()
    login(client, school.emails[school.requester])
    token = csrf_token(client, "/account")
    r = client.post("/changes/new", data={"csrf_token": token, "title": "x", "category": "minor",
                                          "description": "x" * 40_000})
    assert r.status_code == 413


def test_no_open_redirect_after_login(site):
    app, school = site
    client = app.test_client()
    token = csrf_token(client)
    r = client.post("/login?next=//evil.example/", data={"email": school.emails[school.requester],
                                                           "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"] == "/"


def test_security_headers(site):
    app, _ = site
    r = app.test_client().get("/login")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_a_copied_session_cookie_stops_working_after_sign_out(site):
    app, school = site
    client = app.test_client()
    login(client, school.emails[school.requester])
    stolen = client.get_cookie("fitsflow_session").value  # type: ignore[union-attr]
    assert post(client, "/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("fitsflow_session", stolen)
    assert thief.get("/account").status_code == 302  # sent to sign in: the session was revoked


def test_deactivating_a_user_ends_their_sessions(site):
    app, school = site
    victim = app.test_client()
    login(victim, school.emails[school.requester])
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    # The first step only asks to confirm: nothing changes yet.
    asked = post(admin, f"/admin/users/{school.requester}/active", {"active": "0"})
    assert asked.status_code == 200 and "signed out everywhere" in asked.get_data(as_text=True)
    assert victim.get("/account").status_code == 200
    confirmed = post(admin, f"/admin/users/{school.requester}/active", {"active": "0", "confirm": "1"})
    assert confirmed.status_code == 302
    assert victim.get("/account").status_code == 302
