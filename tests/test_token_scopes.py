"""Issue 20.7 (tokens act only as far as their owner may, now): token scope was read off the
URL's prefix, so an admin's write token recorded another approver's absence (an admin act);
a token made before an approver role was granted decided without a second factor.

Now each API operation declares the scope it needs (the table below is the rule, and the
OpenAPI document says it); a role given or taken away ends the person's tokens; a decision
by token needs a second factor where the person's roles require one."""

from __future__ import annotations

from datetime import timedelta

import pytest

import web.api  # noqa: F401 - declares the operations
from fitsflow.services import auth, users
from web.api_spec import ENDPOINTS

from . import factories as f
from .web_support import WebSchool, make_app

# What each operation needs beyond the default (read for GET, write for the rest): the
# administrators' resources.
ADMIN_OPERATIONS = {
    ("GET", "/users"), ("POST", "/users"), ("GET", "/users/<int:user_id>"), ("PUT", "/users/<int:user_id>"),
    ("POST", "/calendar"), ("PUT", "/calendar/<int:period_id>"), ("DELETE", "/calendar/<int:period_id>"),
    ("POST", "/services"),
    ("POST", "/maintenance-windows"), ("DELETE", "/maintenance-windows/<int:window_id>"),
    ("GET", "/providers"), ("POST", "/providers"), ("PUT", "/providers/people"),
}


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_each_operation_declares_its_scope_and_the_document_says_it():
    from web.api_spec import document

    assert len(ENDPOINTS) > 50
    for e in ENDPOINTS:
        if e.public:
            continue
        default = "read" if e.method == "GET" else "write"
        expected = "admin" if (e.method, e.rule) in ADMIN_OPERATIONS else default
        assert e.scope == expected, (e.method, e.rule)
    paths = document()["paths"]
    assert paths["/users"]["get"]["x-token-scope"] == "admin"
    assert paths["/changes"]["post"]["x-token-scope"] == "write"
    decisions = [e for e in ENDPOINTS if e.second_factor]
    # A gate's decision, and a filtering request's steps (the safeguarding lead's decision among them).
    assert sorted((e.method, e.rule) for e in decisions) == [("POST", "/changes/<ref>/decision"),
                                                             ("POST", "/filtering/<int:request_id>/steps")]


def test_an_admins_write_token_cannot_record_someone_elses_absence(sqlite_rt, tmp_path):
    rt = sqlite_rt
    school = WebSchool(rt)
    client = make_app(rt, tmp_path).test_client()
    body = {"user_email": school.emails[school.head], "substitute_email": school.emails[school.requester],
            "first_day": rt.today().isoformat(), "last_day": (rt.today() + timedelta(days=2)).isoformat()}
    writer = auth.create_token(rt, user_id=school.admin, name="script", scope="write")
    refused = client.post("/api/v1/absences", json=body, headers=_bearer(writer))
    assert refused.status_code == 403 and "needs 'admin'" in refused.get_json()["error"]
    own = {**body, "user_email": school.emails[school.finance]}
    finance_writer = auth.create_token(rt, user_id=school.finance, name="mine", scope="write")
    assert client.post("/api/v1/absences", json=own, headers=_bearer(finance_writer)).status_code == 201


def test_a_token_from_before_a_role_was_given_is_ended_and_a_decision_needs_a_second_factor(
        sqlite_rt, tmp_path):
    rt = sqlite_rt
    school = WebSchool(rt)
    app = make_app(rt, tmp_path, mfa=True)  # approver roles need a second factor
    client = app.test_client()
    ref = f.change_in(rt, school, "minor", "proceed_approval")  # one finance approval
    person = users.add_user(rt, name="New bursar", email="bursar@test.school", roles="requester")
    early = auth.create_token(rt, user_id=person, name="made before")
    assert client.get("/api/v1/me", headers=_bearer(early)).status_code == 200
    users.update_user(rt, actor_id=school.admin, user_id=person, name="New bursar",
                      roles=("requester", "finance"), audiences=(), active=True)
    assert client.get("/api/v1/me", headers=_bearer(early)).status_code == 401
    fresh = auth.create_token(rt, user_id=person, name="made after")
    before = f.snapshot(rt, ref)
    refused = client.post(f"/api/v1/changes/{ref}/decision", json={"decision": "approve"},
                          headers=_bearer(fresh))
    assert refused.status_code == 403 and "second factor" in refused.get_json()["error"]
    assert f.snapshot(rt, ref) == before
    # Reading is still allowed: only the decision needs the second factor.
    assert client.get(f"/api/v1/changes/{ref}", headers=_bearer(fresh)).status_code == 200


@pytest.mark.parametrize("scope", ["read", "write"])
def test_narrow_tokens_reach_no_admin_operation(sqlite_rt, tmp_path, scope):
    rt = sqlite_rt
    school = WebSchool(rt)
    client = make_app(rt, tmp_path).test_client()
    token = auth.create_token(rt, user_id=school.admin, name="narrow", scope=scope)
    for method, path in (("GET", "/api/v1/users"), ("POST", "/api/v1/services"),
                         ("POST", "/api/v1/calendar")):
        answer = client.open(path, method=method, json={}, headers=_bearer(token))
        assert answer.status_code == 403, (method, path)
