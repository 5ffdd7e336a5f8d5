"""Issue 20, item 8: typing one's password again (to make an API token, to renew the
recovery codes) was an unthrottled, unlogged password oracle — someone at an unlocked
screen could guess at it without limit. Now it is counted, slowed and logged exactly as
signing in is (the same counters: guesses here slow sign-ins from strangers too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from fitsflow.domain import totp
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import auth, mfa

from .web_support import PASSWORD, WebSchool, login, make_app, post


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    app = make_app(sqlite_rt, tmp_path)
    return app, app.extensions["fitsflow"], WebSchool(sqlite_rt)


def _events(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.event_type for e in audit_store.iter_events(session)]


def _alerts(rt, uid: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(OutboxMessage.subject).where(
            OutboxMessage.recipient_id == uid, OutboxMessage.event == "security_alert")).scalars())


def _token(client, password: str):  # type: ignore[no-untyped-def]
    return post(client, "/account/tokens", {"name": "helpdesk", "scope": "read", "days": "30",
                                            "password": password})


def test_guessing_the_password_to_make_a_token_is_slowed_logged_and_told(site, caplog):
    app, rt, school = site
    uid = school.requester
    client = app.test_client()
    login(client, school.emails[uid])
    caplog.set_level("INFO", logger="fitsflow.security")
    answers = [_token(client, f"guess {i}") for i in range(5)]
    assert [a.status_code for a in answers] == [400] * 5
    assert all("not your current password" in a.get_data(as_text=True) for a in answers)
    slowed = _token(client, PASSWORD)  # even the right one waits now
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"
    assert "try again in 1 second" in slowed.get_data(as_text=True)
    assert auth.list_tokens(rt, user_id=uid) == []
    assert _events(rt).count("auth.reauth_failed") == 5 and "auth.reauth_throttled" in _events(rt)
    logged = [r.getMessage() for r in caplog.records if r.name == "fitsflow.security"]
    assert sum("reauth.failed" in m for m in logged) == 5 and any("reauth.throttled" in m for m in logged)
    assert any(school.emails[uid] in s for s in _alerts(rt, school.admin))

    # The same counters as signing in: a stranger's browser is slowed for this account too.
    stranger = app.test_client()
    assert login(stranger, school.emails[uid]).status_code == 429
    rt.clock.advance(timedelta(seconds=2))
    assert _token(client, PASSWORD).status_code == 201
    assert len(auth.list_tokens(rt, user_id=uid)) == 1


def test_guessing_the_password_to_renew_recovery_codes_is_slowed_too(sqlite_rt, tmp_path):
    app = make_app(sqlite_rt, tmp_path, mfa=True)
    rt = app.extensions["fitsflow"]
    school = WebSchool(rt)
    uid = school.cab[0]
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    client = app.test_client()
    login(client, school.emails[uid])
    rt.clock.advance(timedelta(minutes=1))
    client.post("/login/code", data={"code": totp.code_at(secret, rt.now()),
                                     "csrf_token": _csrf(client)})
    statuses = [post(client, "/account/mfa/recovery-codes", {"password": f"guess {i}"},
                     page="/account/mfa").status_code for i in range(6)]
    assert statuses == [400] * 5 + [429]
    assert mfa.status(rt, user_id=uid).recovery_codes_left == 10  # nothing renewed
    assert _events(rt).count("auth.reauth_failed") == 5


def _csrf(client) -> str:  # type: ignore[no-untyped-def]
    from .web_support import csrf_token

    return csrf_token(client, "/login")
