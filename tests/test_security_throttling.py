"""Issue: anyone could lock every user out (50 spoofed X-Forwarded-For values made the
right password answer 429; five failures locked an approver for 15 minutes). Now the
client address is trusted only from configured proxies, failures slow further attempts
progressively instead of locking, a known browser is never slowed by a stranger, and the
admins hear of it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from fitsflow.web import create_app
from sqlalchemy import select, update

from fitsflow.persistence.models import LoginFailure, OutboxMessage
from fitsflow.services import throttle

from .web_support import PASSWORD, WebSchool, csrf_token, login, make_app


def attempt(client, email: str, password: str, xff: str | None = None, peer: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    headers = {"X-Forwarded-For": xff} if xff else {}
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token},
                       headers=headers, environ_base={"REMOTE_ADDR": peer})


def test_a_stranger_cannot_stop_a_known_browser_signing_in(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    email = school.emails[school.finance]
    mine = app.test_client()
    assert login(mine, email).status_code == 302  # this browser now carries a device cookie
    assert mine.get_cookie("fitsflow_device") is not None
    login(mine, email)  # and may sign in again later
    stranger = app.test_client()
    for i in range(50):
        attempt(stranger, email, f"guess {i}", xff=f"203.0.113.{i}")
    assert attempt(stranger, email, PASSWORD).status_code == 429  # the account is slowed for strangers
    r = attempt(mine, email, PASSWORD)
    assert r.status_code == 302, r.get_data(as_text=True)  # …but not for the person's own browser


def test_failures_slow_down_progressively_and_say_for_how_long(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    email = school.emails[school.requester]
    client = app.test_client()
    statuses = [attempt(client, email, "wrong").status_code for _ in range(5)]
    assert statuses == [401] * 5
    slowed = attempt(client, email, PASSWORD)
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    assert [throttle.wait_seconds(n, "email") for n in range(4, 10)] == [0, 1, 2, 4, 8, 16]
    assert throttle.wait_seconds(40, "email") == throttle.MAX_DELAY
    with sqlite_rt.db.transaction() as session:  # a second later
        session.execute(update(LoginFailure).values(last_at=sqlite_rt.now() - timedelta(seconds=2)))
    assert attempt(client, email, PASSWORD).status_code == 302


def test_the_admins_are_told_when_an_account_is_slowed(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    email = school.emails[school.head]
    client = app.test_client()
    for _ in range(5):
        attempt(client, email, "wrong")
    with sqlite_rt.db.read() as session:
        alerts = session.execute(select(OutboxMessage.recipient_id, OutboxMessage.subject)
                                 .where(OutboxMessage.event == "security_alert")).all()
    assert [a[0] for a in alerts] == [school.admin] and email in alerts[0][1]


def _failure_keys(rt) -> set[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return set(session.execute(select(LoginFailure.key)).scalars())


def test_forwarded_for_is_ignored_from_an_untrusted_peer(sqlite_rt, tmp_path):
    settings = sqlite_rt.settings.replace(web={"secret_key": "t", "secure_cookies": False},
                                          server={"forwarded_allow_ips": "10.0.0.1"})
    app = create_app(dataclasses.replace(sqlite_rt, settings=settings), {"TESTING": True})
    WebSchool(sqlite_rt)
    attempt(app.test_client(), "nobody@test.school", "x", xff="198.51.100.7", peer="192.0.2.50")
    assert "addr:192.0.2.50" in _failure_keys(sqlite_rt)
    assert "addr:198.51.100.7" not in _failure_keys(sqlite_rt)


def test_the_trusted_proxys_forwarded_address_is_used(sqlite_rt, tmp_path):
    settings = sqlite_rt.settings.replace(web={"secret_key": "t", "secure_cookies": False},
                                          server={"forwarded_allow_ips": "10.0.0.0/8"})
    app = create_app(dataclasses.replace(sqlite_rt, settings=settings), {"TESTING": True})
    WebSchool(sqlite_rt)
    # A client may prepend anything; the address the proxy itself saw is the last one.
    attempt(app.test_client(), "nobody@test.school", "x", xff="1.1.1.1, 198.51.100.7", peer="10.0.0.1")
    keys = _failure_keys(sqlite_rt)
    assert "addr:198.51.100.7" in keys and "addr:1.1.1.1" not in keys and "addr:10.0.0.1" not in keys
    secure = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"},
                                   environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert "Strict-Transport-Security" in secure.headers  # the proxy's https is believed
