"""The JSON API under /api/v1: the same services and permission checks as the pages,
authenticated by bearer tokens (created on the account page or with the CLI)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, g, jsonify, request

from fitsflow import services
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.services import auth, inbox, queues
from fitsflow.services.audit import events_after, timeline

from .access import API, PUBLIC, access
from .errors import render_error
from .login import actor, runtime
from .openapi import document

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def plain(value: Any) -> Any:
    """Dataclasses, decimals and times as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "total_cost"):
            out["total_cost"] = plain(value.total_cost)
        return out
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


@bp.before_request
def authenticate() -> Any:
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = auth.token_user(runtime(), token=token.strip()) if scheme.lower() == "bearer" else None
    if found is None:
        response, status = render_error(401, "a valid API token is required: Authorization: Bearer <token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="fitsflow"'
        return response, status
    g.api_actor = found
    return None


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput({"body": "must be a JSON object"})
    return data


def _int(name: str, default: int, high: int) -> int:
    value = request.args.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise InvalidInput({name: "must be a whole number"})
    return min(int(value), high)


def _version(data: dict[str, Any]) -> int | None:
    value = data.get("expected_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise InvalidInput({"expected_version": "must be an integer"})
    return value


@bp.get("/openapi.json")
@access(PUBLIC)
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


@bp.get("/me")
@access(API)
def me() -> Any:
    """Who the token belongs to."""
    who = actor()
    return jsonify(id=who.id, name=who.name, email=who.email, roles=sorted(who.roles))


@bp.get("/changes")
@access(API)
def list_changes() -> Any:
    """Changes the caller may see; filters: state, category, requester, awaiting=me."""
    limit, offset = _int("limit", 50, 500), _int("offset", 0, 10**9)
    if request.args.get("awaiting") == "me":
        page = queues.awaiting_decision(runtime(), actor_id=actor().id, limit=limit, offset=offset)
    else:
        requester = request.args.get("requester", "")
        page = queues.browse(runtime(), actor_id=actor().id, state=request.args.get("state") or None,
                             category=request.args.get("category") or None,
                             requester_id=int(requester) if requester.isdigit() else None,
                             limit=limit, offset=offset)
    return jsonify(items=plain(page.items), total=page.total, limit=limit, offset=offset)


@bp.post("/changes")
@access(API)
def create_change() -> Any:
    """Raise a change."""
    data = body()
    view = services.raise_change(runtime(), actor_id=actor().id, title=str(data.get("title", "")),
                                 category=str(data.get("category", "")),
                                 description=str(data.get("description", "")),
                                 affected_services=data.get("affected_services", []))
    return jsonify(plain(view)), 201, {"Location": f"/api/v1/changes/{view.ref}"}


@bp.get("/changes/<ref>")
@access(API)
def get_change(ref: str) -> Any:
    """A change with its stage data, decisions, gate status and the caller's actions."""
    return jsonify(plain(services.get_change(runtime(), actor_id=actor().id, ref=ref)))


@bp.put("/changes/<ref>/stages/<stage>")
@access(API)
def put_stage(ref: str, stage: str) -> Any:
    """Replace one stage's data: needs, finance ({"lines": [...]}), release_plan, review."""
    data = body()
    args: dict[str, Any] = {"actor_id": actor().id, "ref": ref, "expected_version": _version(data)}
    rt = runtime()
    if stage == "needs":
        view = services.record_needs(rt, data=data, **args)
    elif stage == "finance":
        lines = data.get("lines")
        if not isinstance(lines, list) or not all(isinstance(x, dict) for x in lines):
            raise InvalidInput({"lines": "must be a list of cost lines"})
        view = services.record_financial_plan(rt, lines=lines, **args)
    elif stage == "release_plan":
        view = services.record_release_plan(rt, data=data, **args)
    elif stage == "review":
        view = services.record_review(rt, data=data, **args)
    else:
        abort(404)
    return jsonify(plain(view))


@bp.post("/changes/<ref>/actions/<trigger>")
@access(API)
def fire(ref: str, trigger: str) -> Any:
    """Fire a workflow action."""
    data = request.get_json(silent=True) or {}
    view = services.fire(runtime(), actor_id=actor().id, ref=ref, trigger=trigger,
                         expected_version=_version(data), reason=str(data.get("reason", "")))
    return jsonify(plain(view))


@bp.post("/changes/<ref>/decision")
@access(API)
def decide(ref: str) -> Any:
    """Approve or reject at the gate the change waits at."""
    data = body()
    result = services.decide(runtime(), actor_id=actor().id, ref=ref, decision=str(data.get("decision", "")),
                             comment=str(data.get("comment", "")), role=data.get("role"),
                             expected_version=_version(data))
    return jsonify(plain(result))


@bp.get("/changes/<ref>/audit")
@access(API)
def change_audit(ref: str) -> Any:
    """One change's audit events."""
    return jsonify(items=plain(timeline(runtime(), actor_id=actor().id, ref=ref)))


@bp.get("/audit")
@access(API)
def audit_trail() -> Any:
    """The whole trail after a sequence number (auditors and admins)."""
    if not actor().roles & {"auditor", "admin"}:
        raise NotPermitted("the audit trail is for auditors and admins")
    after, limit = _int("after", 0, 10**12), _int("limit", 500, 2000)
    items = events_after(runtime(), after_seq=after, limit=limit)
    return jsonify(items=items, next_after=items[-1]["seq"] if items else after)


@bp.get("/notices")
@access(API)
def notices() -> Any:
    """The caller's in-app notifications, newest first, with the unread count."""
    limit, offset = _int("limit", 50, 500), _int("offset", 0, 10**9)
    page = inbox.my_notices(runtime(), actor_id=actor().id, limit=limit, offset=offset,
                            unread_only=request.args.get("unread") == "1")
    return jsonify(items=plain(page.items), total=page.total, unread=page.unread, limit=limit, offset=offset)


@bp.post("/notices/<int:item_id>/read")
@access(API)
def notice_read(item_id: int) -> Any:
    """Mark one notification read."""
    inbox.mark_read(runtime(), actor_id=actor().id, item_id=item_id)
    return jsonify(unread=inbox.unread_count(runtime(), actor_id=actor().id))


@bp.post("/notices/read")
@access(API)
def notices_read() -> Any:
    """Mark every notification read."""
    inbox.mark_read(runtime(), actor_id=actor().id)
    return jsonify(unread=0)
