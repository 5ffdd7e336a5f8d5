"""The API's contract: typed models validate every request (nothing coerced, never a
500), errors carry a code and lists, what you GET you can PUT back, and the missing
endpoints exist."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fitsflow.services import auth, notices

from . import factories as f
from .web_support import WebSchool, make_app


@pytest.fixture
def api(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    school = WebSchool(sqlite_rt)
    app = make_app(sqlite_rt, tmp_path)
    client = app.test_client()

    def call(uid: int):  # type: ignore[no-untyped-def]
        scope = "admin" if uid == school.admin else "write"
        secret = auth.create_token(sqlite_rt, user_id=uid, name="t", scope=scope)
        headers = {"Authorization": f"Bearer {secret}"}

        def go(method: str, path: str, json=None, status: int = 200, data=None):  # type: ignore[no-untyped-def]
            r = client.open(f"/api/v1{path}", method=method, json=json, data=data, headers=headers,
                            content_type="application/json" if data is not None else None)
            assert r.status_code == status, (r.status_code, r.get_data(as_text=True))
            return r

        return go

    return sqlite_rt, school, call


def test_bad_input_is_400_with_a_problem_per_field_and_changes_nothing(api):
    rt, school, call = api
    me = call(school.requester)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = f.counts(rt)
    cases = [
        ("POST", "/changes", {"title": None, "category": "minor"}, "title"),
        ("POST", "/changes", {"title": "Line\nbreak", "category": "minor"}, "title"),
        ("POST", "/changes", {"title": "x", "category": "minor", "affected_services": True},
         "affected_services"),
        ("POST", "/changes", {"title": "x", "category": "minor", "affected_services": [1, 2]},
         "affected_services.0"),
        ("POST", "/changes", {"title": "x", "category": "minor", "colour": "red"}, "colour"),
        ("PUT", f"/changes/{ref}/stages/needs", {"need": "x", "stakeholders": ["a"] * 51}, "stakeholders"),
        ("PUT", f"/changes/{ref}/stages/needs", {"need": "x", "expected_version": "3"}, "expected_version"),
        ("PUT", f"/changes/{ref}/stages/needs", {"need": "x", "expected_version": True}, "expected_version"),
        ("PUT", f"/changes/{ref}/stages/finance", {"lines": [{"year": 1, "kind": "capital", "amount": 5}]},
         "lines.0.amount"),
        ("PUT", f"/changes/{ref}/stages/finance", {"lines": [f.five_year_lines()[0]] * 201}, "lines"),
    ]
    for method, path, body, field in cases:
        problem = me(method, path, body, status=400).get_json()
        assert problem["code"] == "invalid" and field in problem["problems"], (body, problem)
    assert f.counts(rt) == before
    deep = "[" * 5000 + "]" * 5000
    assert "body" in me("POST", "/changes", data=deep, status=400).get_json()["problems"]


def test_a_rejection_needs_a_reason_and_null_is_not_a_reason(api):
    rt, school, call = api
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    finance = call(school.finance)
    for body in ({"decision": "reject", "comment": None}, {"decision": "reject"},
                 {"decision": "reject", "comment": "   "}):
        problem = finance("POST", f"/changes/{ref}/decision", body, status=400).get_json()
        assert "comment" in problem["problems"], problem
    assert f.snapshot(rt, ref)[0] == "proceed_approval"
    result = finance("POST", f"/changes/{ref}/decision",
                     {"decision": "reject", "comment": "No budget"}).get_json()
    assert result["outcome"] == "rejected"


@pytest.mark.parametrize("query,field", [
    ("requester=" + "9" * 30, "requester"),
    ("limit=²", "limit"),
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("offset=-1", "offset"),
    ("state=no_such_state", "state"),
    ("category=huge", "category"),
    ("awaiting=you", "awaiting"),
    ("stat=approved", "stat"),
])
def test_query_parameters_are_validated(api, query, field):
    _, school, call = api
    problem = call(school.requester)("GET", f"/changes?{query}", status=400).get_json()
    assert field in problem["problems"] and problem["code"] == "invalid"


def test_far_dates_are_refused_not_500(api):
    rt, school, call = api
    ref = f.change_in(rt, school, "minor", "release_planning")
    me = call(school.requester)
    for start in ("0001-01-01T00:00:00", "9999-12-31T23:59:59", "2026-13-01T00:00:00"):
        plan = {**f.release_plan(rt), "window_start": start}
        problem = me("PUT", f"/changes/{ref}/stages/release_plan", plan, status=400).get_json()
        assert "window_start" in problem["problems"], problem


def test_what_you_get_you_can_put_back_and_writes_return_the_committed_version(api):
    rt, school, call = api
    ref = f.change_in(rt, school, "minor", "approved")
    me = call(school.requester)
    detail = me("GET", f"/changes/{ref}").get_json()
    plan = detail["stages"]["release_plan"]
    written = me("PUT", f"/changes/{ref}/stages/release_plan",
                 {**plan, "expected_version": detail["change"]["version"]}).get_json()
    assert written["version"] == f.snapshot(rt, ref)[1] == detail["change"]["version"] + 1
    again = me("GET", f"/changes/{ref}").get_json()
    assert again["stages"]["release_plan"] == plan
    # The version a write returns is the one to send next.
    fired = me("POST", f"/changes/{ref}/actions/schedule",
               {"expected_version": written["version"]}).get_json()
    assert fired["state"] == "scheduled"


def test_errors_carry_a_code_and_lists(api):
    rt, school, call = api
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    me = call(school.requester)
    not_allowed = me("POST", f"/changes/{ref}/actions/release", status=409).get_json()
    assert not_allowed["code"] == "not_allowed"
    assert not_allowed["allowed"] == ["approve", "reject", "withdraw"]
    assert me("GET", "/changes/CHG-1999-0001", status=404).get_json()["code"] == "not_found"
    assert me("GET", "/users", status=403).get_json()["code"] == "not_permitted"
    wrong = me("DELETE", f"/changes/{ref}", status=405)
    assert wrong.get_json()["code"] == "method_not_allowed" and "GET" in wrong.headers["Allow"]
    stale = call(school.finance)("POST", f"/changes/{ref}/decision",
                                 {"decision": "approve", "expected_version": 1}, status=409).get_json()
    assert stale["code"] == "stale"


def test_follow_ups_notice_drafts_and_acknowledgements(api):
    rt, school, call = api
    me = call(school.requester)
    reviewed = f.change_in(rt, school, "minor", "in_review")
    child = me("POST", f"/changes/{reviewed}/follow-ups", {"title": "Spares on site"}, status=201).get_json()
    assert child["parent_ref"] == reviewed and child["state"] == "needs_analysis"
    ref = f.change_in(rt, school, "minor", "scheduled")
    drafts = me("GET", f"/changes/{ref}/notices").get_json()["items"]
    staff = [n for n in drafts if n["audience"] == "staff"][0]
    edited = me("PUT", f"/changes/{ref}/notices/{staff['id']}",
                {"subject": "New PCs in IT1", "body": "Log in as usual."}).get_json()
    assert edited["subject"] == "New PCs in IT1" and edited["status"] == "draft"
    notices.publish_due(rt, now=datetime(2100, 1, 1, tzinfo=UTC))
    teacher = call(school.staff)
    mine = teacher("GET", "/release-notices").get_json()["items"]
    assert [n["subject"] for n in mine if n["change_ref"] == ref] == ["New PCs in IT1"]
    acked = teacher("POST", f"/release-notices/{staff['id']}/acknowledge").get_json()
    assert acked["acknowledged_at"] is not None
    acks = me("GET", f"/changes/{ref}/notices/{staff['id']}/acknowledgements").get_json()
    assert acks["acknowledged"] == ["Teacher"] and acks["not_acknowledged"] == []
    call(school.finance)("POST", f"/release-notices/{staff['id']}/acknowledge", status=404)


def test_users_and_workflows(api):
    rt, school, call = api
    admin = call(school.admin)
    created = admin("POST", "/users", {"name": "Dana Price", "email": "dana@school.example",
                                       "roles": ["cab"], "audiences": ["staff"]}, status=201).get_json()
    assert created["roles"] == ["cab"]
    admin("POST", "/users", {"name": "Dana", "email": "dana@school.example"}, status=400)
    found = admin("GET", "/users?q=dana").get_json()
    assert found["total"] == 1 and found["items"][0]["email"] == "dana@school.example"
    changed = admin("PUT", f"/users/{created['id']}", {"name": "Dana Price", "roles": ["cab", "slt"],
                                                      "audiences": [], "active": False}).get_json()
    assert changed["roles"] == ["cab", "slt"] and changed["active"] is False
    problem = admin("PUT", f"/users/{created['id']}", {"name": "Dana", "roles": ["pope"], "audiences": [],
                                                       "active": True}, status=400).get_json()
    assert "roles" in problem["problems"]
    call(school.requester)("POST", "/users", {"name": "X", "email": "x@school.example"}, status=403)
    admin("GET", f"/users/{2**31 - 1}", status=404)
    admin("GET", f"/users/{2**40}", status=404)
    flows = admin("GET", "/workflows").get_json()["items"]
    assert {w["name"] for w in flows} == {"fits-change", "standard-change", "emergency-change", "pilot"}
    one = admin("GET", "/workflows/fits-change").get_json()
    assert one["diagram"].startswith("stateDiagram-v2")
    assert {s["kind"] for s in one["states"]} >= {"scheduled", "closed"}


def test_the_openapi_document_is_generated_from_the_models(api):
    rt, _, _ = api
    app = make_app(rt, None)
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = doc["paths"]
    stages = {p for p in paths if "/stages/" in p}
    assert stages == {f"/changes/{{ref}}/stages/{s}" for s in ("needs", "finance", "release_plan", "review",
                                                                "pilot", "pilot_outcome")}
    schemas = {paths[p]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
               for p in stages}
    assert len(schemas) == 6  # every stage has its own schema
    reject = doc["components"]["schemas"]["Reject"]
    assert "comment" in reject["required"]
    limit = [p for p in paths["/changes"]["get"]["parameters"] if p["name"] == "limit"][0]["schema"]
    assert limit["minimum"] == 1 and limit["maximum"] == 500
    for path, ops in paths.items():
        for method, op in ops.items():
            ok = op["responses"][next(iter(op["responses"]))]
            assert "$ref" in ok["content"]["application/json"]["schema"], (method, path)
