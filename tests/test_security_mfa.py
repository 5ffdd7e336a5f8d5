"""Issue: no MFA anywhere — a stolen approver password was enough to decide in their
name. Now admins and approvers enrol an authenticator app (TOTP, QR code rendered here),
sign in with a code (each works once) or a single-use recovery code, may be remembered
per browser for a while, and only an administrator's audited reset removes the factor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fitsflow.config import ConfigError, Settings, load_settings
from fitsflow.domain import totp
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import auth, mfa, users

from . import factories as f
from .web_support import PASSWORD, WebSchool, csrf_token, login, make_app, post


def _events(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.event_type for e in audit_store.iter_events(session)]


def _subjects(rt, uid: int, event: str = "account_changed") -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(OutboxMessage.subject).where(
            OutboxMessage.recipient_id == uid, OutboxMessage.event == event)).scalars())


def _enrol(rt, uid: int) -> str:  # type: ignore[no-untyped-def]
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    return secret


def _later(rt, minutes: int) -> None:  # type: ignore[no-untyped-def]
    """Move the clock on (each code works once; a new one comes every 30 s)."""
    rt.clock.advance(timedelta(minutes=minutes))


def _code(client, code: str, remember: bool = False):  # type: ignore[no-untyped-def]
    data = {"code": code, "csrf_token": csrf_token(client, "/login")}
    if remember:
        data["remember"] = "1"
    return client.post("/login/code", data=data)


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    app = make_app(sqlite_rt, tmp_path, mfa=True)
    rt = app.extensions["fitsflow"]
    return app, rt, WebSchool(rt)


def test_an_approver_without_a_second_factor_must_enrol_before_anything_else(site):
    app, rt, school = site
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    client = app.test_client()
    assert login(client, school.emails[school.finance]).status_code == 302
    for path in ("/", f"/changes/{ref}", "/approvals", "/account", "/account/mfa"):
        assert client.get(path).headers["Location"].endswith("/account/welcome"), path
    r = post(client, f"/changes/{ref}/decision", {"decision": "approve"}, page="/account/welcome")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/welcome")
    assert f.snapshot(rt, ref)[0] == "proceed_approval"

    page = client.get("/account/welcome").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code is drawn here, by no outside service
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    assert client.get("/account/welcome").get_data(as_text=True).count(secret) >= 1  # same key on reload
    r = post(client, "/account/welcome/mfa", {"code": "123"}, page="/account/welcome")
    assert r.status_code == 400 and "is not the code your app shows" in r.get_data(as_text=True)
    code = totp.code_at(secret, rt.now())
    r = post(client, "/account/welcome/mfa", {"code": code}, page="/account/welcome")
    assert r.status_code == 201
    codes = re.findall(r"<li><code>([a-z0-9-]{14})</code></li>", r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(f"/changes/{ref}").status_code == 200
    assert "mfa.enabled" in _events(rt)
    assert "Two-step sign-in is on for your account" in _subjects(rt, school.finance)


def test_roles_without_the_requirement_are_not_asked_to_enrol(site):
    app, _, school = site
    client = app.test_client()
    login(client, school.emails[school.requester])
    assert client.get("/changes").status_code == 200


def test_a_password_alone_no_longer_signs_in_someone_with_a_second_factor(site, monkeypatch):
    app, rt, school = site
    secret = _enrol(rt, school.cab[0])
    client = app.test_client()
    r = login(client, school.emails[school.cab[0]])
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    assert client.get("/approvals").headers["Location"].startswith("/login")  # not signed in yet
    assert "auth.mfa_challenged" in _events(rt)

    r = _code(client, "000000" if totp.code_at(secret, rt.now()) != "000000" else "111111")
    assert r.status_code == 401 and "not right" in r.get_data(as_text=True)
    assert "auth.mfa_failed" in _events(rt)
    _later(rt, 1)
    code = totp.code_at(secret, rt.now())
    r = _code(client, code)
    assert r.status_code == 302
    assert client.get("/approvals").status_code == 200

    # The same code a second time (an onlooker, a phishing relay) is refused.
    other = app.test_client()
    login(other, school.emails[school.cab[0]])
    assert _code(other, code).status_code == 401


def test_a_recovery_code_works_once_and_the_person_is_told(site):
    app, rt, school = site
    uid = school.head
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    codes = mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    client = app.test_client()
    login(client, school.emails[uid])
    assert _code(client, codes[3].upper().replace("-", " ")).status_code == 302  # typed loosely
    assert mfa.status(rt, user_id=uid).recovery_codes_left == 9
    assert "A recovery code was used" in _subjects(rt, uid)
    again = app.test_client()
    login(again, school.emails[uid])
    assert _code(again, codes[3]).status_code == 401


def test_new_recovery_codes_need_the_password_and_replace_the_old(site):
    app, rt, school = site
    uid = school.slt
    secret = mfa.begin_enrolment(rt, user_id=uid).secret
    old = mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, rt.now()))
    with pytest.raises(InvalidInput) as err:
        mfa.new_recovery_codes(rt, user_id=uid, password="wrong")
    assert "password" in err.value.problems
    new = mfa.new_recovery_codes(rt, user_id=uid, password=PASSWORD)
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(NotPermitted):
        auth.complete_sign_in(rt, user_id=uid, code=old[0])
    assert auth.complete_sign_in(rt, user_id=uid, code=new[0]).actor.id == uid


def test_wrong_codes_slow_down_and_alert_the_person_and_the_admins(site):
    app, rt, school = site
    secret = _enrol(rt, school.finance)
    good = totp.code_at(secret, rt.now())
    wrong = next(c for c in ("000000", "111111", "222222") if c != good)
    client = app.test_client()
    login(client, school.emails[school.finance])
    statuses = [_code(client, wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    r = _code(client, wrong)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert any("Second-factor codes failing" in s for s in _subjects(rt, school.admin, "security_alert"))
    assert "Change your fitsflow password" in _subjects(rt, school.finance)


def test_the_second_step_waits_only_a_few_minutes(site, monkeypatch):
    app, rt, school = site
    _enrol(rt, school.cab[0])
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    from fitsflow.web import auth as web_auth

    rt.clock.advance(timedelta(seconds=web_auth.PENDING_SECONDS + 1))
    r = client.get("/login/code")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


def test_a_remembered_browser_skips_the_code_until_the_factor_is_reset(site, monkeypatch):
    app, rt, school = site
    uid = school.cab[0]
    secret = _enrol(rt, uid)
    client = app.test_client()
    login(client, school.emails[uid])
    _later(rt, 1)
    assert _code(client, totp.code_at(secret, rt.now()), remember=True).status_code == 302
    post(client, "/logout", page="/account")
    r = login(client, school.emails[uid])
    assert r.status_code == 302 and not r.headers["Location"].endswith("/login/code")
    elsewhere = app.test_client()  # another browser is still asked
    assert login(elsewhere, school.emails[uid]).headers["Location"].endswith("/login/code")

    admin = app.test_client()
    mfa.set_exempt(rt, user_ids=[school.admin], exempt=True)
    login(admin, school.emails[school.admin])
    r = post(admin, f"/admin/users/{uid}/mfa/reset", page="/admin/users")
    assert r.status_code == 302
    assert client.get("/approvals").status_code == 302  # their sessions ended
    assert "mfa.reset" in _events(rt)
    assert "Your two-step sign-in was reset" in _subjects(rt, uid)
    # With no factor they set it up again at once; the old "remember" then counts for nothing.
    login(client, school.emails[uid])
    assert client.get("/approvals").headers["Location"].endswith("/account/welcome")
    _enrol(rt, uid)
    post(client, "/logout", page="/account")
    assert login(client, school.emails[uid]).headers["Location"].endswith("/login/code")


def test_nobody_resets_their_own_second_factor_and_only_admins_reset(site):
    _, rt, school = site
    _enrol(rt, school.admin)
    with pytest.raises(NotPermitted):
        mfa.reset(rt, user_id=school.admin, by=users.By(school.admin, "admin"))
    with pytest.raises(NotPermitted):
        mfa.reset(rt, user_id=school.admin, by=users.By(school.cab[0], "cab"))
    with pytest.raises(InvalidInput):
        mfa.reset(rt, user_id=school.requester, by=users.By(school.admin, "admin"))  # none to reset
    assert mfa.status(rt, user_id=school.admin).enabled_at is not None


def test_the_operator_can_reset_from_the_command_line(site, tmp_path, monkeypatch):
    from fitsflow.cli import cli

    _, rt, school = site
    _enrol(rt, school.admin)
    db = tmp_path / "cli.db"
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{db}")
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    assert runner.invoke(cli, ["user", "add", "--name", "Ada Admin", "--email", "ada@test.school",
                               "--role", "admin"]).exit_code == 0
    result = runner.invoke(cli, ["user", "mfa-reset", "ada@test.school"])
    assert result.exit_code != 0 and "has no second factor" in result.output
    result = runner.invoke(cli, ["user", "mfa-reset", "nobody@test.school"])
    assert result.exit_code != 0 and "no user with the email" in result.output
    assert "second factor required" in runner.invoke(cli, ["user", "roles"]).output


def test_demo_users_are_exempt(site):
    app, rt, school = site
    mfa.set_exempt(rt, user_ids=[school.finance], exempt=True)
    client = app.test_client()
    login(client, school.emails[school.finance])
    assert client.get("/approvals").status_code == 200


def test_which_roles_need_it_is_configurable_per_role(tmp_path):
    book = Settings().role_book()
    # The deputy DSL decides web-filtering requests (safeguarding): a second factor too.
    assert set(book.mfa_roles) == {"cab", "slt", "finance", "head", "governors", "dpo", "dsl", "deputy_dsl",
                                   "admin", "trust_cab", "trust_finance", "ceo", "it_director"}
    path = tmp_path / "fitsflow.toml"
    path.write_text('[roles.dpo]\napproves = true\n[roles.governor]\napproves = true\nmfa = false\n'
                    '[roles.cab]\nmfa = false\n')
    book = load_settings(path, {}).role_book()
    assert "dpo" in book.mfa_roles and "governor" not in book.mfa_roles and "cab" not in book.mfa_roles
    with pytest.raises(ConfigError, match="accounts.mfa_remember_days"):
        load_settings(None, {"FITSFLOW_ACCOUNTS_MFA_REMEMBER_DAYS": "400"})
