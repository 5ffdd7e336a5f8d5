"""The auditor's view: every change read-only, filters, the chain's status, exports."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from fitsflow import services
from fitsflow.domain.roles import REQUESTER
from fitsflow.domain.vocabulary import CATEGORIES
from fitsflow.services import audit as audit_service
from fitsflow.services import queues, users

from .access import AUDITORS, access
from .dashboard import page_args
from .forms import whole
from .login import actor, runtime

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _date(name: str, problems: dict[str, str]) -> datetime | None:
    value = request.args.get(name, "")
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=runtime().timezone)
    except ValueError:
        problems[name] = "must be a date such as 2026-09-01"
        return None


@bp.get("")
@access(AUDITORS)
def index() -> Any:
    """Changes filtered by date, state, category and person, and the chain's status."""
    rt = runtime()
    limit, offset = page_args()
    problems: dict[str, str] = {}
    start, end = _date("from", problems), _date("to", problems)
    person = request.args.get("person", "")
    page = queues.browse(rt, actor_id=actor().id, state=request.args.get("state") or None,
                         category=request.args.get("category") or None,
                         requester_id=whole(person),
                         created_from=start, created_to=end + timedelta(days=1) if end else None,
                         limit=limit, offset=offset)
    states = rt.workflows.state_names()
    people = users.holders(rt, REQUESTER)
    return render_template("audit.html", page=page, chain=audit_service.verify_recent(rt), states=states,
                           categories=CATEGORIES, people=people, problems=problems)


@bp.get("/export.<fmt>")
@access(AUDITORS)
def export(fmt: str) -> Any:
    """The trail (or one change's) with its hashes, as CSV or JSON."""
    if fmt not in ("csv", "json"):
        return Response("format must be csv or json", status=404)
    ref = request.args.get("change") or None
    chunks = services.export_audit(runtime(), fmt=fmt, change_ref=ref)
    # Only letters, digits and hyphens reach the header, whatever ?change= held.
    safe = re.sub(r"[^A-Z0-9-]", "", ref.upper())[:40] if ref else ""
    name = f"fitsflow-audit{'-' + safe if safe else ''}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(stream_with_context(chunks), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
