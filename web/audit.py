"""The auditor's view: every change read-only, filters, the chain's status, exports."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.roles import REQUESTER
from fitsflow.domain.vocabulary import CATEGORIES, PHASES
from fitsflow.services import audit as audit_service
from fitsflow.services import catalogue, change_search, register, users

from .access import AUDITORS, access
from .dashboard import page_args, page_positions
from .login import actor, runtime

bp = Blueprint("audit", __name__, url_prefix="/audit")


# Names the audit page used before the register shared the changes list's filters.
_OLD_NAMES = {"from": "created_from", "to": "created_to", "person": "requester"}


def _filters() -> tuple[change_search.ChangeFilter, dict[str, str]]:
    args = {_OLD_NAMES.get(k, k): v for k, v in request.args.items() if k not in ("page", "size", "head")}
    try:
        return change_search.parse(runtime(), args), {}
    except InvalidInput as err:
        return change_search.ChangeFilter(), err.problems


@bp.get("")
@access(AUDITORS)
def index() -> Any:
    """The change register (filters as on the changes list), the chain's status, a check
    against a head published earlier, and the exports."""
    rt = runtime()
    limit, offset = page_args()
    filters, problems = _filters()
    after, before = page_positions()
    try:
        page = register.page(rt, actor_id=actor().id, filters=filters, limit=limit, offset=offset,
                             after=after, before=before)
    except InvalidInput as err:
        problems = {**problems, **err.problems}
        page = register.page(rt, actor_id=actor().id, filters=filters, limit=limit)
    head = request.args.get("head", "").strip()[:128]
    checked = audit_service.verify(rt, expected_head=head) if head else None
    html = render_template("audit.html", page=page, chain=audit_service.verify_recent(rt), checked=checked,
                           head=head, filters=filters, problems=problems,
                           gate_titles=register.gate_titles(rt), states=rt.workflows.state_names(),
                           categories=CATEGORIES, phases=PHASES,
                           people=users.holders(rt, REQUESTER, actor_id=actor().id),
                           services=catalogue.active_names(rt, actor().id))
    return html, 400 if problems else 200


@bp.get("/register.<fmt>")
@access(AUDITORS)
def register_export(fmt: str) -> Any:
    """The register, as filtered on the page, as CSV or an Excel workbook."""
    filters, problems = _filters()
    if problems:
        raise InvalidInput(problems)
    stamp = runtime().now().astimezone(runtime().timezone).strftime("%Y-%m-%d")
    name = f"fitsflow-register-{stamp}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        chunks = register.csv_chunks(runtime(), actor_id=actor().id, filters=filters)
        return Response(stream_with_context(chunks), mimetype="text/csv", headers=disposition)
    if fmt == "xlsx":
        body = register.xlsx_bytes(runtime(), actor_id=actor().id, filters=filters)
        return Response(body, headers=disposition,
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return Response("format must be csv or xlsx", status=404)


@bp.get("/export.<fmt>")
@access(AUDITORS)
def export(fmt: str) -> Any:
    """The trail (or one change's) with its hashes, as CSV or JSON."""
    if fmt not in ("csv", "json"):
        return Response("format must be csv or json", status=404)
    ref = request.args.get("change") or None
    chunks = audit_service.export(runtime(), fmt=fmt, change_ref=ref, actor_id=actor().id)
    # Only letters, digits and hyphens reach the header, whatever ?change= held.
    safe = re.sub(r"[^A-Z0-9-]", "", ref.upper())[:40] if ref else ""
    name = f"fitsflow-audit{'-' + safe if safe else ''}.{fmt}"
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    return Response(stream_with_context(chunks), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
