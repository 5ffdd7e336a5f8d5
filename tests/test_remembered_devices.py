"""Issue 20, item 7: "don't ask again" for the second factor was one value per person, good
in any browser, and it outlived "sign out everywhere", a password change and 30 days of
nothing anyone could revoke. Now each browser that is remembered has a row of its own (a
random id, kept as a hash, bound to that browser's device id; who, when made, when last
used, which browser), listed on My account and revocable there, and ended by signing out
everywhere, a password change or reset, and the factor's reset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitsflow.domain import totp
from fitsflow.services import auth, devices, mfa

from .web_support import PASSWORD, WebSchool, csrf_token, login, make_app, post

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


@pytest.fixture
def site(rt, tmp_path):  # type: ignore[no-untyped-def]
    app = make_app(rt, tmp_path, mfa=True)
    rt = app.extensions["fitsflow"]
    school = WebSchool(rt)
    uid = school.cab[0]
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    return app, rt, school, uid, secret


def browser(app, agent: str = FIREFOX):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def sign_in(client, rt, email: str, secret: str, remember: bool = False) -> str:  # type: ignore[no-untyped-def]
    """Sign in; with the code when asked. Where the sign-in led: "code" when a code was asked."""
    r = login(client, email)
    assert r.status_code == 302, r.get_data(as_text=True)
    if not r.headers["Location"].endswith("/login/code"):
        return "skipped"
    rt.clock.advance(timedelta(seconds=30))  # each code works once
    data = {"code": totp.code_at(secret, rt.now()), "csrf_token": csrf_token(client, "/login")}
    if remember:
        data["remember"] = "1"
    assert client.post("/login/code", data=data).status_code == 302
    return "code"


def test_a_remember_cookie_copied_into_another_browser_does_not_skip_the_code(site):
    app, rt, school, uid, secret = site
    email = school.emails[uid]
    mine = browser(app)
    assert sign_in(mine, rt, email, secret, remember=True) == "code"
    remembered = mine.get_cookie("fitsflow_mfa")
    assert remembered is not None
    post(mine, "/logout")
    assert sign_in(mine, rt, email, secret) == "skipped"  # this browser is remembered

    other = browser(app, PHONE)  # has signed in before: a device id of its own
    assert sign_in(other, rt, email, secret) == "code"
    post(other, "/logout")
    other.set_cookie("fitsflow_mfa", remembered.value)
    assert sign_in(other, rt, email, secret) == "code"  # another browser's cookie is worth nothing here
    stranger = browser(app, PHONE)  # never signed in: no device id at all
    stranger.set_cookie("fitsflow_mfa", remembered.value)
    assert sign_in(stranger, rt, email, secret) == "code"


def test_signing_out_everywhere_ends_every_remembered_browser(site):
    app, rt, school, uid, secret = site
    email = school.emails[uid]
    mine = browser(app)
    sign_in(mine, rt, email, secret, remember=True)
    post(mine, "/account/sessions/end")
    assert sign_in(mine, rt, email, secret) == "code"


def test_a_password_change_ends_every_remembered_browser(site):
    app, rt, school, uid, secret = site
    email = school.emails[uid]
    mine = browser(app)
    sign_in(mine, rt, email, secret, remember=True)
    auth.change_password(rt, user_id=uid, current=PASSWORD, new="heron lantern quietly", session_id="x")
    auth.change_password(rt, user_id=uid, current="heron lantern quietly", new=PASSWORD, session_id="x")
    post(mine, "/logout", page="/login")
    assert sign_in(mine, rt, email, secret) == "code"


def test_remembered_browsers_are_listed_on_my_account_and_revocable_there(site):
    app, rt, school, uid, secret = site
    email = school.emails[uid]
    laptop, phone = browser(app), browser(app, PHONE)
    sign_in(laptop, rt, email, secret, remember=True)
    sign_in(phone, rt, email, secret, remember=True)
    page = phone.get("/account").get_data(as_text=True)
    assert "Remembered browsers" in page and "Firefox on Linux" in page and "Safari on iPhone" in page
    listed = devices.list_devices(rt, user_id=uid)
    assert len(listed) == 2 and all(d.revoked_at is None for d in listed)
    firefox = next(d for d in listed if "Firefox" in d.label)

    # Someone else's device id is not there for them to revoke.
    intruder = browser(app)
    login(intruder, school.emails[school.requester])
    assert post(intruder, f"/account/devices/{firefox.id}/revoke").status_code == 404
    assert post(phone, "/account/devices/999999/revoke").status_code == 404

    r = post(phone, f"/account/devices/{firefox.id}/revoke")
    assert r.status_code == 302
    post(laptop, "/logout")
    assert sign_in(laptop, rt, email, secret) == "code"  # the laptop is asked again
    post(phone, "/logout")
    assert sign_in(phone, rt, email, secret) == "skipped"  # the phone is still remembered
    used = next(d for d in devices.list_devices(rt, user_id=uid) if "iPhone" in d.label)
    assert used.last_used_at is not None and used.last_used_at > used.created_at


def test_a_remembered_browser_is_asked_again_after_the_days_set(site):
    app, rt, school, uid, secret = site
    email = school.emails[uid]
    mine = browser(app)
    sign_in(mine, rt, email, secret, remember=True)
    post(mine, "/logout")
    rt.clock.advance(timedelta(days=rt.settings.accounts.mfa_remember_days, minutes=1))
    assert sign_in(mine, rt, email, secret) == "code"


def test_one_persons_remembered_browser_does_nothing_for_another_account(site):
    app, rt, school, uid, secret = site
    other_uid = school.cab[1]
    other_secret = mfa.begin_enrolment(rt, user_id=other_uid).secret
    mfa.confirm_enrolment(rt, user_id=other_uid, code=totp.code_at(other_secret, rt.now()))
    shared = browser(app)  # a shared staff-room computer
    sign_in(shared, rt, school.emails[uid], secret, remember=True)
    post(shared, "/logout")
    assert sign_in(shared, rt, school.emails[other_uid], other_secret) == "code"


@pytest.mark.parametrize(("agent", "label"), [
    (FIREFOX, "Firefox on Linux"), (PHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile "
     "Safari/537.36", "Chrome on Android"),
    ("curl/8.5.0", "A browser"), ("", "A browser")])
def test_a_remembered_browser_is_named_as_a_person_would(agent, label):
    from fitsflow.domain import agents

    assert agents.describe(agent) == label
