"""The OpenAPI 3.1 document for /api/v1."""

from __future__ import annotations

from typing import Any

from fitsflow import __version__
from fitsflow.domain.vocabulary import CATEGORIES, COST_KINDS, REVIEW_OUTCOMES, RISK_LEVELS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {str(code): {"$ref": f"#/components/responses/E{code}"} for code in (400, 401, 403, 404, 409)}
REF = {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
       "example": "CHG-2026-0001"}
PAGING = [{"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}},
          {"name": "offset", "in": "query", "schema": {"type": "integer"}}]


def _op(summary: str, response: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        request: dict[str, Any] | None = None, status: str = "200") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "parameters": params or [],
                          "responses": {status: response, **ERRORS}}
    if request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    return op


def document() -> dict[str, Any]:
    """The whole document."""
    text = {"type": "string"}
    version = {"type": "integer", "description": "The version you read; a stale one gives 409."}
    cost_line = {"type": "object", "required": ["year", "kind", "amount"], "properties": {
        "year": {"type": "integer", "minimum": 1}, "kind": {"enum": list(COST_KINDS)},
        "amount": {"type": "string", "example": "1250.00"}, "funding_source": text, "description": text}}
    schemas = {
        "Error": {"type": "object", "required": ["error", "status"], "properties": {
            "error": text, "status": {"type": "integer"},
            "problems": {"type": "object", "additionalProperties": text},
            "details": {"type": "array", "items": text}}},
        "Change": {"type": "object", "properties": {
            "ref": text, "title": text, "description": text, "category": {"enum": list(CATEGORIES)},
            "workflow": text, "state": text, "state_title": text,
            "phase": {"enum": ["planning", "delivery", "review"]}, "version": {"type": "integer"},
            "requester_id": {"type": "integer"}, "requester_name": text,
            "affected_services": {"type": "array", "items": text},
            "parent_ref": {"type": ["string", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}}},
        "ChangeDetail": {"type": "object", "properties": {
            "change": _ref("Change"), "needs": {"type": ["object", "null"]}, "plan": {"type": "object"},
            "release_plan": {"type": ["object", "null"]}, "review": {"type": ["object", "null"]},
            "approvals": {"type": "array", "items": {"type": "object"}},
            "actions": {"type": "array", "items": {"type": "object", "properties": {
                "trigger": text, "title": text, "blocked_by": {"type": "array", "items": text}}}},
            "gate": {"type": ["object", "null"]},
            "editable_stages": {"type": "array", "items": text},
            "follow_ups": {"type": "array", "items": text}, "total_cost": text}},
        "Page": {"type": "object", "properties": {
            "items": {"type": "array", "items": _ref("Change")}, "total": {"type": "integer"},
            "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
        "NewChange": {"type": "object", "required": ["title", "category"], "properties": {
            "title": text, "category": {"enum": list(CATEGORIES)}, "description": text,
            "affected_services": {"type": "array", "items": text}}},
        "Stage": {"type": "object", "description": (
            "needs: need, stakeholders[], sdp_priority, options_considered. "
            "finance: lines[] (CostLine). release_plan: window_start, window_end (ISO 8601; no "
            "offset means the school's time zone), backout_plan, test_plan, risk, impact. "
            "review: outcome, notes, actual_costs[] (CostLine)."),
            "properties": {"expected_version": version, "lines": {"type": "array", "items": cost_line},
                           "risk": {"enum": list(RISK_LEVELS)}, "outcome": {"enum": list(REVIEW_OUTCOMES)}}},
        "Decision": {"type": "object", "required": ["decision"], "properties": {
            "decision": {"enum": ["approve", "reject"]}, "comment": text, "role": text,
            "expected_version": version}},
        "AuditEvent": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": text, "actor": text, "event_type": text,
            "payload": {"type": "object"}}},
    }
    responses = {f"E{code}": _json(_ref("Error"), label) for code, label in (
        (400, "Invalid input (problems per field)"), (401, "No valid token"),
        (403, "Not permitted"), (404, "Not found, or not visible to you"),
        (409, "Not allowed from this state, gate not satisfied, or stale"))}
    paths = {
        "/me": {"get": _op("The token's user", _json({"type": "object"}))},
        "/changes": {
            "get": _op("List changes", _json(_ref("Page")), params=[
                *PAGING, {"name": "state", "in": "query", "schema": text},
                {"name": "category", "in": "query", "schema": {"enum": list(CATEGORIES)}},
                {"name": "requester", "in": "query", "schema": {"type": "integer"}},
                {"name": "awaiting", "in": "query", "schema": {"enum": ["me"]}}]),
            "post": _op("Raise a change", _json(_ref("Change"), "Created"), request=_ref("NewChange"),
                        status="201")},
        "/changes/{ref}": {"get": _op("A change with its stage data", _json(_ref("ChangeDetail")),
                                      params=[REF])},
        "/changes/{ref}/stages/{stage}": {"put": _op(
            "Replace a stage's data", _json(_ref("Change")), request=_ref("Stage"),
            params=[REF, {"name": "stage", "in": "path", "required": True,
                          "schema": {"enum": ["needs", "finance", "release_plan", "review"]}}])},
        "/changes/{ref}/actions/{trigger}": {"post": _op(
            "Fire a workflow action", _json(_ref("Change")),
            params=[REF, {"name": "trigger", "in": "path", "required": True, "schema": text}])},
        "/changes/{ref}/decision": {"post": _op("Approve or reject at the gate", _json({"type": "object"}),
                                                request=_ref("Decision"), params=[REF])},
        "/changes/{ref}/audit": {"get": _op("A change's audit events", _json(
            {"type": "object", "properties": {"items": {"type": "array", "items": _ref("AuditEvent")}}}),
            params=[REF])},
        "/audit": {"get": _op("The audit trail after a sequence number (auditors, admins)",
                              _json({"type": "object"}), params=[
                                  {"name": "after", "in": "query", "schema": {"type": "integer"}},
                                  {"name": "limit", "in": "query", "schema": {"type": "integer"}}])},
        "/notices": {"get": _op("My in-app notifications, newest first, with the unread count",
                                _json({"type": "object"}),
                                params=[*PAGING, {"name": "unread", "in": "query",
                                                  "schema": {"enum": ["1"]}}])},
        "/notices/{item_id}/read": {"post": _op("Mark one notification read", _json({"type": "object"}),
                                                params=[{"name": "item_id", "in": "path", "required": True,
                                                         "schema": {"type": "integer"}}])},
        "/notices/read": {"post": _op("Mark every notification read", _json({"type": "object"}))},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "fitsflow API", "version": __version__,
                 "description": "Change and release management for school ICT. Errors are JSON "
                                "objects with a message; invalid input lists problems per field."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "responses": responses,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
