"""The JSON API: tokens, the same services and checks as the pages, JSON errors, OpenAPI."""

from __future__ import annotations

import re

import pytest

from fitsflow.services import auth

from . import factories as f
from .web_support import WebSchool, make_app


@pytest.fixture
def api(rt, tmp_path):  # type: ignore[no-untyped-def]
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    client = app.test_client()

    def call(uid: int):  # type: ignore[no-untyped-def]
        token = auth.create_token(rt, user_id=uid, name="test")
        headers = {"Authorization": f"Bearer {token}"}

        def go(method: str, path: str, json=None, status: int = 200):  # type: ignore[no-untyped-def]
            r = client.open(f"/api/v1{path}", method=method, json=json, headers=headers)
            assert r.status_code == status, r.get_json()
            return r.get_json()

        return go

    return app, school, call


def test_a_change_through_the_api(api):
    app, school, call = api
    me = call(school.requester)
    created = me("POST", "/changes", {"title": "Laptops", "category": "minor"}, status=201)
    ref = created["ref"]
    assert created["state"] == "needs_analysis"
    problem = me("POST", f"/changes/{ref}/actions/complete_needs", status=409)
    assert problem["code"] == "gate_not_satisfied" and problem["missing"] == ["no needs analysis"]
    me("PUT", f"/changes/{ref}/stages/needs", f.NEEDS)
    me("POST", f"/changes/{ref}/actions/complete_needs")
    bad = me("PUT", f"/changes/{ref}/stages/finance", {"lines": [{"year": 11, "kind": "x", "amount": "1"}]},
             status=400)
    assert set(bad["problems"]) == {"lines.0.year", "lines.0.kind"} and bad["code"] == "invalid"
    me("PUT", f"/changes/{ref}/stages/finance", {"lines": f.five_year_lines()})
    detail = me("GET", f"/changes/{ref}")
    assert detail["total_cost"] == "1700.00"
    assert detail["stages"]["finance"]["lines"][0]["amount"] == "1200.00"
    submitted = me("POST", f"/changes/{ref}/actions/submit_proceed",
                   {"expected_version": detail["change"]["version"]})
    assert submitted["state"] == "proceed_approval"
    finance = call(school.finance)
    assert [c["ref"] for c in finance("GET", "/changes?awaiting=me")["items"]] == [ref]
    own = me("POST", f"/changes/{ref}/decision", {"decision": "approve"}, status=403)
    assert "own change" in own["error"]
    stale = finance("POST", f"/changes/{ref}/decision", {"decision": "approve", "expected_version": 1},
                    status=409)
    assert "changed this first" in stale["error"] and stale["code"] == "stale"
    result = finance("POST", f"/changes/{ref}/decision", {"decision": "approve"})
    assert result["outcome"] == "passed" and result["change"]["state"] == "release_planning"
    events = me("GET", f"/changes/{ref}/audit")["items"]
    assert [e["event_type"] for e in events][:2] == ["change.raised", "stage.needs"]
    from fitsflow.delivery.worker import Worker

    Worker(app.extensions["fitsflow"], email=None, webhook=None).run_once()
    inbox = me("GET", "/notices")
    assert any(n["change_ref"] == ref for n in inbox["items"]) and inbox["unread"] == inbox["total"] > 0


def test_errors_are_json_with_clear_messages(api):
    app, school, call = api
    me = call(school.requester)
    assert "no change" in me("GET", "/changes/CHG-1999-0001", status=404)["error"]
    assert me("POST", "/changes", {"title": "", "category": "huge"}, status=400)["problems"].keys() == {
        "title", "category"}
    r = app.test_client().post("/api/v1/changes", data="not json",
                               headers={"Authorization": "Bearer " + auth.create_token(
                                   app.extensions["fitsflow"], user_id=school.requester, name="x")})
    assert r.status_code == 400 and "Invalid JSON" in r.get_json()["problems"]["body"]


def test_audit_trail_from_seq_is_for_auditors(api):
    app, school, call = api
    f.change_in(app.extensions["fitsflow"], school, "minor", "approved")
    call(school.requester)("GET", "/audit", status=403)
    auditor = call(school.auditor)
    first = auditor("GET", "/audit?after=0&limit=5")
    assert [e["seq"] for e in first["items"]] == [1, 2, 3, 4, 5] and first["next_after"] == 5
    assert auditor("GET", "/audit?after=5&limit=2")["items"][0]["seq"] == 6


def test_tokens_are_hashed_and_revocable(api):
    app, school, call = api
    rt = app.extensions["fitsflow"]
    token = auth.create_token(rt, user_id=school.requester, name="helpdesk")
    from sqlmodel import select

    from fitsflow.persistence.models import ApiToken

    with rt.db.read() as session:
        stored = [t.token_hash for t in session.exec(select(ApiToken)).all()]
    assert token not in stored and all(len(h) == 64 for h in stored)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).get_json()["id"] == school.requester
    token_id = [t for t in auth.list_tokens(rt, user_id=school.requester) if t.name == "helpdesk"][0].id
    auth.revoke_token(rt, user_id=school.requester, token_id=token_id)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_openapi_describes_every_api_route(api):
    app, _, _ = api
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented
