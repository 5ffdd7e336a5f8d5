"""Issue 20, item 8: there was no way back in for someone who forgot their password but to
ask an administrator to set one. Now "Forgot your password?" emails a one-time link that
expires. The page answers the same for an address with an account and one without (ASVS
V2.5), requests are limited per typed address and per client address alike for both, and
using the link ends every other session, API token and remembered browser and tells the
person."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fitsflow.domain import totp
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import auth, devices, mfa, throttle, users

from .mail_support import deliver, link_in, mail_runtime, message_to
from .web_support import PASSWORD, csrf_token, login, make_app, post

NEW = "otter harbour twilight"
KNOWN = "ben.marsh@school.example"
UNKNOWN = "nobody.here@school.example"


def ask(client, email: str, addr: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf_token(client, "/login")},
                       environ_base={"REMOTE_ADDR": addr})


def choose(client, path: str, password: str = NEW):  # type: ignore[no-untyped-def]
    return client.post(path, data={"new_password": password, "new_password_again": password,
                                   "csrf_token": csrf_token(client, "/login")})


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mail(request):  # type: ignore[no-untyped-def]
    with mail_runtime(request.param) as found:
        yield found


@pytest.fixture
def site(mail, tmp_path):  # type: ignore[no-untyped-def]
    rt, recorder = mail
    app = make_app(rt, tmp_path)
    users.add_user(rt, name="Ben Marsh", email=KNOWN, roles="requester", password=PASSWORD)
    return app, rt, recorder


def test_an_address_with_an_account_and_one_without_get_the_same_answer(site):
    app, rt, recorder = site
    client = app.test_client()
    page = client.get("/password/forgot")
    assert page.status_code == 200 and "Send me a link" in page.get_data(as_text=True)
    known, unknown = ask(client, KNOWN), ask(client, UNKNOWN)
    assert known.status_code == unknown.status_code == 200
    assert known.get_data(as_text=True).replace(KNOWN, "X") == \
        unknown.get_data(as_text=True).replace(UNKNOWN, "X")
    assert sorted(known.headers.keys()) == sorted(unknown.headers.keys())
    assert "If an account uses" in known.get_data(as_text=True)
    deliver(rt)
    assert [str(m["To"]) for m in recorder.messages] == [f"Ben Marsh <{KNOWN}>"]
    assert message_to(recorder, KNOWN)["Subject"] == "Reset your fitsflow password"
    # Bad input: the same refusal for both, nothing sent.
    for email in ("not an address", "nobody@", "x" * 400 + "@school.example"):
        refused = ask(client, email)
        assert refused.status_code == 400 and "is not an email address" in refused.get_data(as_text=True)
    with rt.db.read() as session:
        asked = [e for e in audit_store.iter_events(session) if e.event_type == "auth.reset_requested"]
    assert len(asked) == 2  # both are on the record, for the administrators


def test_requests_are_limited_alike_for_known_and_unknown_addresses(site):
    app, rt, recorder = site
    rt.clock.set(rt.now(), running=False)  # the waits are a second or two: nothing may pass meanwhile
    client = app.test_client()
    for email in (KNOWN, UNKNOWN):
        statuses = [ask(client, email).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429], email
    slowed = ask(client, UNKNOWN)
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert "too many requests" in slowed.get_data(as_text=True)
    deliver(rt)
    assert len(recorder.messages) == 3  # no more than three to anyone's inbox
    # Per client address too, whatever the emails typed.
    other = app.test_client()
    most = throttle.MAX_FAILURES["reset-addr"]
    statuses = [ask(other, f"person{i}@school.example", addr="198.51.100.7").status_code
                for i in range(most + 1)]
    assert statuses == [200] * most + [429]
    assert ask(other, "someone.else@school.example", addr="198.51.100.8").status_code == 200


def test_the_link_sets_a_new_password_once_and_ends_everything_else(site):
    app, rt, recorder = site
    uid = users.id_by_email(rt, KNOWN)
    assert uid is not None
    elsewhere = app.test_client()
    login(elsewhere, KNOWN)
    token = auth.create_token(rt, user_id=uid, name="script")
    ask(app.test_client(), KNOWN)
    deliver(rt)
    path = link_in(message_to(recorder, KNOWN))
    assert path.startswith("/password/reset/")

    person = app.test_client()
    page = person.get(path)
    assert page.status_code == 200 and "Choose a new password" in page.get_data(as_text=True)
    weak = choose(person, path, "ben marsh 2026")
    assert weak.status_code == 400 and login(app.test_client(), KNOWN).status_code == 302  # nothing changed
    done = choose(person, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/welcome")
    assert person.get("/account").status_code == 200  # signed in, with a fresh session
    assert elsewhere.get("/account").status_code == 302  # every other session ended
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    assert login(app.test_client(), KNOWN).status_code == 401  # the old password is gone
    assert login(app.test_client(), KNOWN, NEW).status_code == 302
    with rt.db.read() as session:
        told = list(session.execute(select(OutboxMessage.subject).where(OutboxMessage.recipient_id == uid))
                    .scalars())
    assert "Your fitsflow password was reset" in told
    assert person.get(path).status_code == 410 and choose(app.test_client(), path).status_code == 410


def test_the_link_expires(site):
    app, rt, recorder = site
    ask(app.test_client(), KNOWN)
    deliver(rt)
    path = link_in(message_to(recorder, KNOWN))
    rt.clock.advance(timedelta(minutes=rt.settings.accounts.password_reset_minutes, seconds=1))
    person = app.test_client()
    assert person.get(path).status_code == 410
    assert choose(person, path).status_code == 410
    assert login(app.test_client(), KNOWN).status_code == 302  # the password is as it was


def test_with_a_second_factor_the_reset_leads_to_signing_in_with_it_and_forgets_remembered_browsers(
        mail, tmp_path):
    rt, recorder = mail
    app = make_app(rt, tmp_path, mfa=True)
    uid = users.add_user(rt, name="Tom Price", email="tom.price@school.example", roles="cab",
                         password=PASSWORD)
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    laptop = app.test_client()
    login(laptop, "tom.price@school.example")
    rt.clock.advance(timedelta(seconds=30))
    laptop.post("/login/code", data={"code": totp.code_at(secret, rt.now()), "remember": "1",
                                     "csrf_token": csrf_token(laptop, "/login")})
    assert [d.revoked_at for d in devices.list_devices(rt, user_id=uid)] == [None]

    ask(app.test_client(), "tom.price@school.example")
    deliver(rt)
    path = link_in(message_to(recorder, "tom.price@school.example"))
    person = app.test_client()
    done = choose(person, path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")  # not by the link alone
    assert person.get("/approvals").status_code == 302
    assert all(d.revoked_at is not None for d in devices.list_devices(rt, user_id=uid))
    post(laptop, "/logout", page="/login")
    r = login(laptop, "tom.price@school.example", NEW)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")  # asked for the code again


@pytest.mark.parametrize("token", ["x", "a" * 19, "a" * 101, "%00", "..%2F..%2Fetc",
                                   "ünïcode-ünïcode-ünïcode", "A" * 43])
def test_a_dead_or_made_up_link_is_a_clear_page_never_an_error(site, token):
    app, _, _ = site
    client = app.test_client()
    for path in (f"/password/reset/{token}", f"/invitation/{token}"):
        answer = client.get(path)
        assert answer.status_code in (400, 404, 410), (path, answer.status_code)
        if answer.status_code == 410:
            assert "This link no longer works" in answer.get_data(as_text=True)
        assert choose(client, path).status_code in (400, 404, 410)


def test_opening_dead_links_is_limited_per_address(site):
    app, rt, _ = site
    rt.clock.set(rt.now(), running=False)
    client = app.test_client()
    most = throttle.MAX_FAILURES["link"]
    statuses = [client.get(f"/password/reset/{'b' * 30}{i:03d}").status_code for i in range(most + 1)]
    assert statuses == [410] * most + [429]
    slowed = client.get(f"/invitation/{'c' * 30}")
    assert slowed.status_code == 429 and re.search(r"try again in \d+ seconds", slowed.get_data(as_text=True))


def test_a_link_not_yet_used_dies_with_a_password_change_a_password_set_by_an_admin_and_deactivation(site):
    app, rt, recorder = site
    uid = users.id_by_email(rt, KNOWN)
    assert uid is not None
    admin = users.By(users.add_user(rt, name="Admin", email="admin@school.example", roles="admin",
                                    password=PASSWORD), "admin@school.example")

    def fresh_link() -> str:
        ask(app.test_client(), KNOWN)
        deliver(rt)
        return link_in(message_to(recorder, KNOWN))

    rt.clock.set(rt.now(), running=False)
    path = fresh_link()
    auth.change_password(rt, user_id=uid, current=PASSWORD, new=NEW, session_id="x")
    assert app.test_client().get(path).status_code == 410

    path = fresh_link()
    users.add_user(rt, name="Ben Marsh", email=KNOWN, roles="requester", password="admin chosen heron",
                   actor_label=admin.label, by=admin)
    assert app.test_client().get(path).status_code == 410

    rt.clock.advance(timedelta(minutes=20))  # the per-address limit forgets
    path = fresh_link()
    users.set_active(rt, user_id=uid, active=False, actor_label=admin.label)
    users.set_active(rt, user_id=uid, active=True, actor_label=admin.label)
    assert app.test_client().get(path).status_code == 410  # reactivation revives no link
