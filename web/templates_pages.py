"""Standard-change templates: the catalogue, proposing one, and its page (decide, revise,
retire, the changes raised from it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from fitsflow.domain import templates as template_rules
from fitsflow.domain.errors import InvalidInput
from fitsflow.services import catalogue, schools, templates

from .access import REQUESTERS, VIEWERS, access
from .dashboard import page_args
from .forms import expected_version
from .login import actor, runtime

bp = Blueprint("templates", __name__, url_prefix="/templates")

DONE = {"approve": "approved: it can be used now", "reject": "returned to its proposer",
        "revise": "revised and proposed again", "retire": "retired: it can no longer be used"}


def screening_of(form: Any) -> dict[str, str]:
    """The screening answers on the form (``screening.<question>`` fields)."""
    return {key.removeprefix("screening."): value for key, value in (form or {}).items()
            if key.startswith("screening.") and value}


def _content(form: Any) -> dict[str, Any]:
    return {"title": form.get("title", ""), "description": form.get("description", ""),
            "services": form.getlist("services"), "max_cost": form.get("max_cost", ""),
            "steps": form.get("steps", ""), "backout_plan": form.get("backout_plan", ""),
            "used_by": form.getlist("used_by") or ["requester"], "screening": screening_of(form),
            "school": form.get("school", "")}


def _page_context() -> dict[str, Any]:
    rt = runtime()
    return {"services": catalogue.active_names(rt, actor().id), "roles": rt.roles.names,
            "screening_of": screening_of,
            "screening_questions": rt.settings.policy.screening_questions}


@bp.get("")
@access(VIEWERS)
def index() -> Any:
    """The template catalogue, by title: filter by state, search titles and descriptions."""
    limit, offset = page_args()
    state = request.args.get("state", "")
    q = request.args.get("q", "")[:200]
    try:
        page = templates.browse(runtime(), actor_id=actor().id, state=state, q=q, limit=limit, offset=offset)
        problems: dict[str, str] = {}
    except InvalidInput as err:
        page = templates.browse(runtime(), actor_id=actor().id, limit=limit, offset=offset)
        problems, state = err.problems, ""
    return render_template("templates.html", page=page, q=q, state=state, problems=problems,
                           states=template_rules.STATE_TITLES), 400 if problems else 200


def _form_page(form: Any, problems: dict[str, str], status: int = 200) -> Any:
    rt = runtime()
    mine = schools.mine(rt, actor_id=actor().id)
    every = schools.every_school(rt)
    return render_template("template_new.html", form=form, problems=problems,
                           chosen=set(form.getlist("services")) if form else set(), schools=mine,
                           every_school=every, trust_wide=len(mine) == len(every),
                           **_page_context()), status


@bp.route("/new", methods=["GET", "POST"])
@access(REQUESTERS)
def new() -> Any:
    """Propose a template: the template approvers are asked to decide."""
    if request.method == "GET":
        return _form_page(request.form, {})
    try:
        view = templates.propose(runtime(), actor_id=actor().id, data=_content(request.form))
    except InvalidInput as err:
        return _form_page(request.form, err.problems, 400)
    flash(f"{view.ref} proposed: it can be used once it is approved.")
    return redirect(url_for("templates.show", template_id=view.id))


@bp.get("/<int:template_id>")
@access(VIEWERS)
def show(template_id: int) -> Any:
    """A template: what it allows, its state and history, the changes raised from it."""
    rt = runtime()
    detail = templates.get(rt, actor_id=actor().id, template_id=template_id)
    return render_template("template.html", d=detail, t=detail.template, problems={}, form=None,
                           **_page_context())


@bp.post("/<int:template_id>/actions/<action>")
@access(VIEWERS)
def act(template_id: int, action: str) -> Any:
    """Approve, reject, retire (with a reason) or revise a template (the service decides who may)."""
    form = request.form
    rt = runtime()
    try:
        view = templates.act(rt, actor_id=actor().id, template_id=template_id, action=action,
                             reason=form.get("reason", ""),
                             data=_content(form) if action == "revise" else None,
                             expected_version=expected_version(form))
    except InvalidInput as err:
        detail = templates.get(rt, actor_id=actor().id, template_id=template_id)
        return render_template("template.html", d=detail, t=detail.template, problems=err.problems,
                               form=form, **_page_context()), 400
    flash(f"{view.ref} {DONE.get(action, action)}.")
    return redirect(url_for("templates.show", template_id=view.id))
