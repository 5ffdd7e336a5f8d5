"""Issue 24, item 5: sign-in with the school's provider (OpenID Connect), against a real
provider — npm's oidc-provider under Node on 127.0.0.1 — not a mock: the authorisation
code flow with PKCE, state and nonce; ID tokens refused when expired, for another
audience, from another issuer, with another nonce or badly signed, accepted after the
provider rotates its key; people matched by verified email within the school's domains,
created just in time, their roles and audiences following the provider's groups (a group
taken away takes its role at the next sign-in); a role that needs a second factor needs
the provider's; a local password still works (break-glass); signing out offers the
provider's sign-out."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.domain import sso as sso_rules
from fitsflow.domain.errors import ConfigError, NotFound
from fitsflow.persistence import audit_store, queries
from fitsflow.persistence.models import OutboxMessage, SsoIdentity, User
from fitsflow.services import invitations, sso, users
from fitsflow.services.common import load_actor
from fitsflow.services.runtime import Runtime
from web import create_app

from .conftest import at_test_time
from .oidc_support import CLIENT_ID, CLIENT_SECRET, Provider, query_of, running_provider
from .web_support import PASSWORD, login, post

DOMAIN = "school.example.org"


def _account(email: str, groups: list[str], amr: list[str] | None = None, verified: bool = True,
             name: str = "") -> dict[str, Any]:
    name = name or email.split("@")[0].title()
    return {"claims": {"email": email, "email_verified": verified, "name": name, "groups": groups},
            "amr": amr or ["pwd"]}


ACCOUNTS = {
    "alice": _account(f"alice@{DOMAIN}", ["all-staff", "ict-team"], ["pwd", "mfa"], name="Alice Archer"),
    "bob": _account(f"bob@{DOMAIN}", ["all-staff"], name="Bob Baker"),
    "carol": _account(f"carol@{DOMAIN}", ["all-staff"], verified=False),
    "dave": _account("dave@elsewhere.example.com", ["all-staff"]),
    "erin": _account(f"erin@{DOMAIN}", ["ict-team"]),  # CAB by group, but no second factor
    "frank": _account(f"frank@{DOMAIN}", ["leaders"], ["pwd", "otp"]),
    "alice-again": _account(f"alice@{DOMAIN}", ["all-staff"]),  # another account, alice's address
    "gina": _account(f"gina@{DOMAIN}", ["readers"]),
    "bob-again": _account(f"bob@{DOMAIN}", ["all-staff"]),
    "hank": _account(f"hank@{DOMAIN}", ["all-staff"], ["pwd", "mfa"]),
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), ACCOUNTS) as running:
        yield running


def _runtime(tmp_path: Path, issuer: str, extra: str = "", url: str = "sqlite://") -> Runtime:
    """A runtime with the provider configured (``url``: a file for a server with threads)."""
    path = tmp_path / "fitsflow.toml"
    path.write_text(f"""
[web]
secret_key = "test-secret"
secure_cookies = false

[sso.school]
label = "School Microsoft"
issuer = "{issuer}"
client_id = "{CLIENT_ID}"
client_secret = "{CLIENT_SECRET}"
domains = ["{DOMAIN}"]
roles = ["groups:ict-team=cab", "groups:leaders=slt", "groups:readers=auditor"]
audiences = ["groups:all-staff=staff"]
scopes = ["openid", "email", "profile", "groups"]
{extra}
""")
    rt = build_runtime(load_settings(path, environ={}), database_url=url)
    rt.db.create_all()
    return at_test_time(rt)


@pytest.fixture
def site(provider: Provider, tmp_path: Path) -> Iterator[tuple[Any, Runtime, Provider]]:
    rt = _runtime(tmp_path, provider.issuer)
    provider.control(login=None, spoil=None)
    yield create_app(rt, {"TESTING": True}), rt, provider
    rt.db.dispose()


def _sign_in(client: Any, provider: Provider, who: str, spoil: str | None = None) -> Any:
    provider.control(login=who, spoil=spoil)
    started = client.get("/login/sso/school?next=/inbox")
    assert started.status_code == 302, started.get_data(as_text=True)
    return client.get(provider.through(started.headers["Location"]))


def _user(rt: Runtime, email: str) -> tuple[User | None, set[str], set[str]]:
    with rt.db.read() as session:
        user = queries.user_by_email(session, email)
        if user is None or user.id is None:
            return None, set(), set()
        session.expunge(user)
        return user, queries.roles_of(session, user.id), queries.audiences_of(session, user.id)


def _events(rt: Runtime) -> list[tuple[str, dict[str, Any]]]:
    with rt.db.read() as session:
        return [(e.event_type, json.loads(e.payload) if isinstance(e.payload, str) else e.payload)
                for e in audit_store.iter_events(session)]


def test_the_authorisation_request_carries_pkce_state_and_nonce(site):
    app, _, provider = site
    answer = app.test_client().get("/login/sso/school")
    asked = query_of(answer.headers["Location"])
    assert answer.headers["Location"].startswith(provider.issuer + "/auth?")
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) >= 43
    assert len(asked["state"]) >= 20 and len(asked["nonce"]) >= 20
    assert asked["response_type"] == "code" and set(asked["scope"].split()) >= {"openid", "email"}
    assert asked["redirect_uri"] == "http://localhost/login/sso/school/callback"


def test_a_member_of_staff_signs_in_and_is_created_with_the_roles_their_groups_give(site):
    app, rt, provider = site
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert "Sign in with School Microsoft" in login_page and 'href="/login/sso/school' in login_page
    answer = _sign_in(client, provider, "alice")
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox"
    assert client.get("/").status_code == 200  # signed in, and not sent to set up a local second factor
    account = client.get("/account").get_data(as_text=True)
    assert "You sign in with School Microsoft" in account and "Change password" not in account
    user, roles, audiences = _user(rt, f"alice@{DOMAIN}")
    assert user is not None and user.name == "Alice Archer" and user.password_hash is None
    assert roles == {"cab"} and audiences == {"staff"}
    kinds = [kind for kind, _ in _events(rt)]
    assert {"user.created", "sso.bound", "sso.roles_mapped", "auth.signed_in"} <= set(kinds)
    signed = [p for kind, p in _events(rt) if kind == "auth.signed_in"]
    assert signed[-1]["by"] == "sso:school" and signed[-1]["second_factor"] is True


def test_a_group_taken_away_takes_its_role_at_the_next_sign_in_and_an_administrators_grant_stays(site):
    app, rt, provider = site
    client = app.test_client()
    assert _sign_in(client, provider, "alice").status_code == 302
    user, roles, _ = _user(rt, f"alice@{DOMAIN}")
    assert user is not None and user.id is not None and roles == {"cab"}
    with rt.db.transaction() as session:  # an administrator gave her the auditor's role meanwhile
        from fitsflow.persistence import user_store
        user_store.replace_roles(session, user.id, ["cab", "auditor"], ["staff"])
    provider.control(accounts={"alice": _account(f"alice@{DOMAIN}", ["all-staff"], ["pwd", "mfa"],
                                                 name="Alice Archer")})
    try:
        assert _sign_in(app.test_client(), provider, "alice").status_code == 302
    finally:
        provider.control(accounts={"alice": ACCOUNTS["alice"]})
    _, roles, audiences = _user(rt, f"alice@{DOMAIN}")
    assert roles == {"auditor"} and audiences == {"staff"}


def test_an_existing_person_is_matched_by_email_and_keeps_their_password_for_break_glass(site):
    app, rt, provider = site
    users.add_user(rt, name="Frank Fisher", email=f"frank@{DOMAIN}", password=PASSWORD, roles=["requester"])
    assert _sign_in(app.test_client(), provider, "frank").status_code == 302
    user, roles, _ = _user(rt, f"frank@{DOMAIN}")
    assert user is not None and user.name == "Frank Fisher" and roles == {"requester", "slt"}
    with rt.db.read() as session:
        bound = [(b.provider, b.subject, b.user_id) for b in session.exec(select(SsoIdentity)).all()]
    assert bound == [("school", "frank", user.id)]
    password_client = app.test_client()
    assert login(password_client, f"frank@{DOMAIN}").status_code == 302  # the local password still works


def test_a_role_that_needs_a_second_factor_needs_the_providers(site):
    app, rt, provider = site
    answer = _sign_in(app.test_client(), provider, "erin")
    assert answer.status_code == 403
    assert "your account needs a second factor" in answer.get_data(as_text=True)
    assert _user(rt, f"erin@{DOMAIN}")[0] is None  # nobody created, no role given
    assert [p["reason"] for k, p in _events(rt) if k == "auth.sign_in_failed"]


def test_always_requiring_the_providers_second_factor_refuses_a_password_only_teacher(provider, tmp_path):
    rt = _runtime(tmp_path, provider.issuer, 'require_mfa = "always"')
    app = create_app(rt, {"TESTING": True})
    assert _sign_in(app.test_client(), provider, "bob").status_code == 403
    assert _sign_in(app.test_client(), provider, "frank").status_code == 302  # amr otp


@pytest.mark.parametrize(("who", "says"), [
    ("carol", "has not verified carol@school.example.org"),
    ("dave", "dave@elsewhere.example.com is not an account of this school"),
])
def test_an_unverified_email_or_one_outside_the_schools_domains_is_refused(site, who, says):
    app, rt, provider = site
    client = app.test_client()
    answer = _sign_in(client, provider, who)
    assert answer.status_code == 403 and says in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in
    with rt.db.read() as session:
        assert session.exec(select(User)).all() == []


def test_no_one_is_created_when_the_provider_may_only_sign_in_known_people(provider, tmp_path):
    rt = _runtime(tmp_path, provider.issuer, "create_users = false")
    app = create_app(rt, {"TESTING": True})
    answer = _sign_in(app.test_client(), provider, "bob")
    assert answer.status_code == 403 and "no fitsflow account for bob@" in answer.get_data(as_text=True)


def test_a_switched_off_account_is_refused(site):
    app, rt, provider = site
    uid = users.add_user(rt, name="Bob", email=f"bob@{DOMAIN}", password=PASSWORD)
    users.set_active(rt, user_id=uid, active=False, actor_label="cli")
    answer = _sign_in(app.test_client(), provider, "bob")
    assert answer.status_code == 403 and "switched off" in answer.get_data(as_text=True)


def test_once_bound_another_provider_account_with_the_same_address_is_refused(site):
    app, rt, provider = site
    assert _sign_in(app.test_client(), provider, "alice").status_code == 302
    answer = _sign_in(app.test_client(), provider, "alice-again")
    assert answer.status_code == 403 and "already linked" in answer.get_data(as_text=True)


def test_a_forged_state_is_refused(site):
    app, _, provider = site
    client = app.test_client()
    provider.control(login="bob")
    back = provider.through(client.get("/login/sso/school").headers["Location"])
    forged = back.replace(f"state={query_of(back)['state']}", "state=forged-state-value")
    answer = client.get(forged)
    assert answer.status_code == 400 and "expired or was already used" in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_replayed_code_is_refused(site):
    app, _, provider = site
    client = app.test_client()
    provider.control(login="bob")
    back = provider.through(client.get("/login/sso/school").headers["Location"])
    assert client.get(back).status_code == 302  # signed in once
    assert client.get(back).status_code == 400  # the same answer again: its state is spent
    fresh = app.test_client()  # a new sign-in's state, with the spent code
    state = query_of(fresh.get("/login/sso/school").headers["Location"])["state"]
    replay = back.replace(f"state={query_of(back)['state']}", f"state={state}")
    answer = fresh.get(replay)
    assert answer.status_code == 400 and "expired or was already used" in answer.get_data(as_text=True)
    assert fresh.get("/").status_code == 302


@pytest.mark.parametrize("spoil", ["expired", "audience", "azp", "issuer", "nonce", "signature"])
def test_an_id_token_that_does_not_check_out_is_refused(site, spoil, caplog):
    app, rt, provider = site
    client = app.test_client()
    caplog.set_level("INFO", logger="fitsflow.security")
    answer = _sign_in(client, provider, "bob", spoil=spoil)
    assert answer.status_code == 400, spoil
    assert "could not be trusted" in answer.get_data(as_text=True)
    assert any("sso.stopped" in r.getMessage() for r in caplog.records if r.name == "fitsflow.security")
    assert client.get("/").status_code == 302
    assert _user(rt, f"bob@{DOMAIN}")[0] is None


def test_a_rotated_signing_key_is_fetched_and_accepted(site):
    app, rt, provider = site
    assert _sign_in(app.test_client(), provider, "bob").status_code == 302  # the old key set, cached
    assert _sign_in(app.test_client(), provider, "bob", spoil="rotated").status_code == 302
    assert _user(rt, f"bob@{DOMAIN}")[0] is not None


def test_signing_out_offers_the_providers_sign_out(site):
    app, _, provider = site
    client = app.test_client()
    assert _sign_in(client, provider, "bob").status_code == 302
    page = post(client, "/logout", page="/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "You are signed out of fitsflow" in html
    assert f'href="{provider.issuer}/session/end?' in html and f"client_id={CLIENT_ID}" in html
    assert client.get("/").status_code == 302


def test_an_unknown_provider_is_not_found(site):
    app, _, _ = site
    assert app.test_client().get("/login/sso/nope").status_code == 404
    assert app.test_client().get("/login/sso/nope/callback?code=x&state=y").status_code == 404


def test_a_provider_that_cannot_be_reached_is_said_so(tmp_path):
    rt = _runtime(tmp_path, "http://127.0.0.1:9")
    answer = create_app(rt, {"TESTING": True}).test_client().get("/login/sso/school")
    assert answer.status_code == 503 and "cannot be reached" in answer.get_data(as_text=True)


@pytest.mark.parametrize(("line", "says"), [
    ('issuer = "http://login.example.org"', "sso.school.issuer: must be the provider's https:// issuer URL"),
    ('roles = ["groups:it=admin"]', "admin is never given by a provider's group"),
    ('roles = ["groups:it=wizard"]', "'wizard' is not a role"),
    ('roles = ["ict-team cab"]', "is not a rule: write CLAIM:VALUE=NAME"),
    ('domains = ["not a domain"]', "is not an email domain"),
    ('require_mfa = "sometimes"', "require_mfa: must be one of mfa_roles, always"),
    ('require_mfa = "never"', "require_mfa: must be one of mfa_roles, always"),
    ('client_secret = ""', "FITSFLOW_SSO_SCHOOL_CLIENT_SECRET"),
])
def test_a_provider_written_wrongly_names_the_key(tmp_path, line, says):
    key = line.split(" = ")[0]
    body = {"issuer": '"https://login.example.org"', "client_id": '"x"', "client_secret": '"y"',
            "domains": f'["{DOMAIN}"]'}
    body[key] = line.split(" = ", 1)[1]
    path = tmp_path / "c.toml"
    path.write_text("[sso.school]\n" + "\n".join(f"{k} = {v}" for k, v in body.items()) + "\n")
    with pytest.raises(ConfigError, match=None) as raised:
        load_settings(path, environ={})
    assert says in str(raised.value) and str(path.resolve()) in str(raised.value)


def test_the_client_secret_comes_from_the_environment(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[sso.school]\nissuer = "https://login.example.org"\nclient_id = "x"\n'
                    f'domains = "{DOMAIN}"\n')
    settings = load_settings(path, environ={"FITSFLOW_SSO_SCHOOL_CLIENT_SECRET": "from-env"})
    assert settings.sso["school"].client_secret == "from-env"
    assert settings.sso["school"].domains == (DOMAIN,)
    assert dataclasses.asdict(settings.sso["school"])["label"] == "School"


def test_a_role_an_administrator_gave_is_never_the_groups_to_take(site):
    app, rt, provider = site
    users.add_user(rt, name="Gina", email=f"gina@{DOMAIN}", roles=["auditor"])  # no password yet
    assert _sign_in(app.test_client(), provider, "gina").status_code == 302  # her group gives auditor too
    provider.control(accounts={"gina": _account(f"gina@{DOMAIN}", [])})
    try:
        assert _sign_in(app.test_client(), provider, "gina").status_code == 302
    finally:
        provider.control(accounts={"gina": ACCOUNTS["gina"]})
    assert _user(rt, f"gina@{DOMAIN}")[1] == {"auditor"}


def _no_mfa_roles(rt: Runtime) -> Runtime:
    return dataclasses.replace(rt, roles=dataclasses.replace(rt.roles, mfa_roles=()))


def test_an_administrators_account_is_linked_only_by_its_owner_signed_in(provider, tmp_path):
    rt = _no_mfa_roles(_runtime(tmp_path, provider.issuer))
    app = create_app(rt, {"TESTING": True})
    users.add_user(rt, name="Hank", email=f"hank@{DOMAIN}", password=PASSWORD, roles=["admin"])
    refused = _sign_in(app.test_client(), provider, "hank")
    assert refused.status_code == 403
    assert "sign in with your password first, then link School Microsoft" in refused.get_data(as_text=True)
    client = app.test_client()
    assert login(client, f"hank@{DOMAIN}").status_code == 302
    assert "Link your School Microsoft account" in client.get("/account").get_data(as_text=True)
    provider.control(login="bob")  # someone else's account at the provider is not linked to his
    started = post(client, "/account/sso/school/link", page="/account")
    answer = client.get(provider.through(started.headers["Location"]))
    assert answer.status_code == 403 and "not of hank@school.example.org" in answer.get_data(as_text=True)
    assert login(client, f"hank@{DOMAIN}").status_code == 302
    provider.control(login="hank")
    started = post(client, "/account/sso/school/link", page="/account")
    assert started.status_code == 302
    linked = client.get(provider.through(started.headers["Location"]))
    assert linked.status_code == 302 and linked.headers["Location"] == "/account"
    assert "linked — you can sign in with it" in client.get("/account").get_data(as_text=True)
    assert _sign_in(app.test_client(), provider, "hank").status_code == 302  # from now on, by the provider
    with rt.db.read() as session:
        told = session.exec(select(OutboxMessage.subject)
                            .where(OutboxMessage.event == "account_changed")).all()
    assert "School Microsoft linked to your fitsflow account" in told


def test_an_approvers_role_from_a_group_waits_for_an_administrator(site):
    app, rt, provider = site
    first = users.add_user(rt, name="Ann Admin", email="ann@school.example.org", password=PASSWORD,
                           roles=["admin"])
    users.add_user(rt, name="Ben Admin", email="ben@school.example.org", password=PASSWORD, roles=["admin"])
    assert _sign_in(app.test_client(), provider, "alice").status_code == 302
    user, roles, _ = _user(rt, f"alice@{DOMAIN}")
    assert user is not None and roles == set()  # CAB waits
    waiting = users.pending_grants(rt)
    assert [(g.email, g.role) for g in waiting] == [(f"alice@{DOMAIN}", "cab")]
    assert _sign_in(app.test_client(), provider, "alice").status_code == 302  # asked once, not twice
    assert len(users.pending_grants(rt)) == 1
    users.decide_grant(rt, actor_id=first, grant_id=waiting[0].id, confirm=True)
    assert _user(rt, f"alice@{DOMAIN}")[1] == {"cab"}
    provider.control(accounts={"alice": _account(f"alice@{DOMAIN}", ["all-staff"], ["pwd", "mfa"])})
    try:  # confirmed, it is still the group's: it goes with the group
        assert _sign_in(app.test_client(), provider, "alice").status_code == 302
    finally:
        provider.control(accounts={"alice": ACCOUNTS["alice"]})
    assert _user(rt, f"alice@{DOMAIN}")[1] == set()


def test_an_approvers_role_given_to_someone_without_a_password_ends_their_sessions(site):
    app, rt, provider = site
    admin = users.add_user(rt, name="Ann Admin", email="ann@school.example.org", password=PASSWORD,
                           roles=["admin"])
    client = app.test_client()
    assert _sign_in(client, provider, "bob").status_code == 302
    assert client.get("/").status_code == 200
    bob = users.id_by_email(rt, f"bob@{DOMAIN}")
    assert bob is not None
    users.update_user(rt, actor_id=admin, user_id=bob, name="Bob Baker", roles=["cab"], audiences=["staff"],
                      active=True)
    assert client.get("/").status_code == 302  # signed out: his next sign-in must show a second factor
    again = _sign_in(app.test_client(), provider, "bob")
    assert again.status_code == 403 and "needs a second factor" in again.get_data(as_text=True)
    with rt.db.read() as session:
        actor = load_actor(rt, session, bob)
    assert not actor.mfa_enrolment_due and actor.second_factor_missing  # tokens decide nothing


def test_forgot_password_tells_a_provider_user_to_use_the_provider(site):
    app, rt, provider = site
    assert _sign_in(app.test_client(), provider, "bob").status_code == 302
    invitations.request_reset(rt, email=f"bob@{DOMAIN}")
    with rt.db.read() as session:
        sent = session.exec(select(OutboxMessage.subject, OutboxMessage.body)).all()
    assert ("Signing in to fitsflow" in [s for s, _ in sent])
    assert not any("/password/reset/" in body for _, body in sent)


def test_the_providers_error_text_is_not_shown(site):
    app, _, _ = site
    client = app.test_client()
    state = query_of(client.get("/login/sso/school").headers["Location"])["state"]
    answer = client.get(f"/login/sso/school/callback?error=access_denied&state={state}"
                        "&error_description=Call+0800+to+unlock+your+account")
    assert answer.status_code == 400 and "0800" not in answer.get_data(as_text=True)
    assert "the provider refused it" in answer.get_data(as_text=True)


def test_unlinking_lets_the_next_sign_in_link_again(site):
    app, rt, provider = site
    assert _sign_in(app.test_client(), provider, "bob").status_code == 302
    assert _sign_in(app.test_client(), provider, "bob-again").status_code == 403
    sso.unlink(rt, email=f"bob@{DOMAIN}", name="school")
    assert _sign_in(app.test_client(), provider, "bob-again").status_code == 302
    bound = _user(rt, f"bob@{DOMAIN}")[0]
    with rt.db.read() as session:
        subjects = [i.subject for i in session.exec(select(SsoIdentity)).all()]
    assert bound is not None and subjects == ["bob-again"]
    with pytest.raises(NotFound):
        sso.unlink(rt, email=f"gina@{DOMAIN}", name="school")


@pytest.mark.parametrize(("amr", "acr", "shown"), [
    (["mfa"], None, True), (["pwd", "otp"], None, True), (["pwd", "hwk"], None, True),
    (["otp"], None, False), (["pwd"], None, False), (["pwd", "kba"], None, False), ("mfa", None, False),
    (None, "urn:example:mfa", True), (None, "urn:example:password", False),
])
def test_what_counts_as_the_providers_second_factor(amr, acr, shown):
    claims = {k: v for k, v in (("amr", amr), ("acr", acr)) if v is not None}
    assert sso_rules.showed_second_factor(claims, ["urn:example:mfa"]) is shown


def test_a_schools_provider_makes_its_people_that_schools_and_signs_in_no_one_elses(tmp_path):
    """Issue 24.5: providers per school. A school's provider (``schools``) places the people
    it creates in that school, and refuses someone of another school alone; a trust role,
    who acts in every school, passes. Claims as a validated ID token gives them."""
    from fitsflow.services import schools

    rt = _runtime(tmp_path, "https://login.example.org", extra='schools = ["brook"]')
    try:
        schools.add_school(rt, slug="brook", name="Brook Primary")
        oak_only = users.add_user(rt, name="Oak teacher", email=f"oakie@{DOMAIN}", audiences="staff")
        schools.set_user_schools(rt, email=f"oakie@{DOMAIN}", slugs=["school"])
        director = users.add_user(rt, name="IT director", email=f"director@{DOMAIN}", roles="it_director")

        def claims(local: str, **more: Any) -> dict[str, Any]:
            return {"sub": f"sub-{local}", "email": f"{local}@{DOMAIN}", "email_verified": True,
                    "name": local.title(), **more}

        made = sso.sign_in(rt, name="school", claims=claims("newbie"))
        assert schools.of_person(rt, made.actor.id) == ["brook"]
        with pytest.raises(sso.SignInRefused, match="signs in the people of another school"):
            sso.sign_in(rt, name="school", claims=claims("oakie"))
        assert schools.of_person(rt, oak_only) == ["school"]
        passed = sso.sign_in(rt, name="school", claims=claims("director", amr=["mfa"]))
        assert passed.actor.id == director
    finally:
        rt.db.dispose()


def test_a_schools_provider_names_schools_by_their_short_names(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[sso.brook]\nissuer = "https://login.example.org"\nclient_id = "x"\n'
                    f'client_secret = "y"\ndomains = ["{DOMAIN}"]\nschools = ["Brook Primary"]\n')
    with pytest.raises(ConfigError, match=r"sso\.brook\.schools: 'Brook Primary': use lower-case letters"):
        load_settings(path, environ={})
