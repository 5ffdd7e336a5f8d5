"""Sessions and tokens do not live for ever: idle and absolute session expiry; tokens
with an expiry and a scope, revoked by a password change or a deactivation (and not
revived), shown once in the answer that made them, rate-limited when wrong."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence.models import ApiToken, WebSession
from fitsflow.services import auth, users

from .web_support import PASSWORD, WebSchool, login, make_app, post


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    return make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)


def _age_sessions(rt, **values) -> None:  # type: ignore[no-untyped-def]
    with rt.db.transaction() as session:
        session.execute(update(WebSession).values(**values))


def test_a_session_ends_when_idle_and_after_its_maximum_age(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    client = app.test_client()
    login(client, school.emails[school.requester])
    assert client.get("/account").status_code == 200
    _age_sessions(rt, last_seen_at=rt.now() - timedelta(minutes=rt.settings.web.session_idle_minutes + 1))
    assert client.get("/account").status_code == 302  # idle too long: sign in again
    login(client, school.emails[school.requester])
    too_old = rt.now() - timedelta(hours=rt.settings.web.session_max_hours, minutes=1)
    _age_sessions(rt, last_seen_at=rt.now(), created_at=too_old)
    assert client.get("/account").status_code == 302  # busy, but signed in too long ago


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tokens_expire_and_have_a_scope(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    client = app.test_client()
    reader = auth.create_token(rt, user_id=school.requester, name="dashboard", scope="read")
    assert client.get("/api/v1/changes", headers=_bearer(reader)).status_code == 200
    denied = client.post("/api/v1/changes", json={"title": "X", "category": "minor"}, headers=_bearer(reader))
    assert denied.status_code == 403 and "scope is 'read'" in denied.get_json()["error"]
    writer = auth.create_token(rt, user_id=school.admin, name="script", scope="write")
    assert client.get("/api/v1/users", headers=_bearer(writer)).status_code == 403
    with pytest.raises(InvalidInput, match="administrators"):
        auth.create_token(rt, user_id=school.requester, name="x", scope="admin")
    short = auth.create_token(rt, user_id=school.requester, name="short", days=1)
    assert auth.list_tokens(rt, user_id=school.requester)[-1].expires_at is not None
    with rt.db.transaction() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "short")  # type: ignore[arg-type]
                        .values(expires_at=rt.now() - timedelta(seconds=1)))
    assert client.get("/api/v1/me", headers=_bearer(short)).status_code == 401


def test_password_change_and_deactivation_revoke_tokens_for_good(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    client = app.test_client()
    mine = auth.create_token(rt, user_id=school.requester, name="mine")
    auth.change_password(rt, user_id=school.requester, current=PASSWORD, new="heron lantern quietly",
                         session_id="x")
    assert client.get("/api/v1/me", headers=_bearer(mine)).status_code == 401
    theirs = auth.create_token(rt, user_id=school.finance, name="theirs")
    users.set_active(rt, user_id=school.finance, active=False, actor_label="admin@test")
    users.set_active(rt, user_id=school.finance, active=True, actor_label="admin@test")
    assert client.get("/api/v1/me", headers=_bearer(theirs)).status_code == 401  # not revived


def test_a_new_token_is_shown_once_in_the_answer_and_never_kept_in_the_cookie(site):
    app, school = site
    client = app.test_client()
    login(client, school.emails[school.requester])
    wrong = post(client, "/account/tokens", {"name": "helpdesk", "scope": "read", "days": "30",
                                              "password": "not my password"})
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    made = post(client, "/account/tokens", {"name": "helpdesk", "scope": "read", "days": "30",
                                             "password": PASSWORD})
    assert made.status_code == 201
    secret = re.search(r"(ff_[A-Za-z0-9_-]+)", made.get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    cookie = client.get_cookie("fitsflow_session").value  # type: ignore[union-attr]
    stored = app.session_interface.get_signing_serializer(app).loads(cookie)  # type: ignore[attr-defined]
    assert secret not in repr(stored)
    assert secret not in client.get("/account").get_data(as_text=True)  # shown once
    assert app.test_client().get("/api/v1/me", headers=_bearer(secret)).status_code == 200


def test_bad_tokens_are_rate_limited_per_address(site):
    app, school = site
    client = app.test_client()
    for i in range(auth.MAX_TOKEN_FAILURES):
        assert client.get("/api/v1/me", headers=_bearer(f"ff_guess{i}")).status_code == 401
    limited = client.get("/api/v1/me", headers=_bearer("ff_one-more-guess"))
    assert limited.status_code == 429 and limited.get_json()["code"] == "too_many"
    other = app.test_client().get("/api/v1/me", environ_base={"REMOTE_ADDR": "10.9.8.7"},
                                  headers=_bearer(auth.create_token(app.extensions["fitsflow"],
                                                                    user_id=school.requester, name="t")))
    assert other.status_code == 200  # another address is not affected
