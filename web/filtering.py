"""Web-filtering decisions: ask for a site or category to be allowed or blocked, follow it; the
safeguarding lead decides, the network manager records it applied; the log and its export for
the annual filtering review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.filtering import ACTIONS
from fitsflow.services import filtering, schools

from .access import SIGNED_IN, access
from .dashboard import page_args
from .errors import render_error
from .forms import day_arg
from .login import actor, runtime

bp = Blueprint("filtering", __name__, url_prefix="/filtering")


@bp.get("")
@access(SIGNED_IN)
def index() -> Any:
    """Requests waiting for me, asked by me, or (the log's readers) every one, searchable."""
    rt = runtime()
    me = actor()
    limit, offset = page_args()
    args = request.args
    view = args.get("view", "") or filtering.default_view(rt, me)
    try:
        page = filtering.listing(rt, actor_id=me.id, view=view, state=args.get("state", ""),
                                 q=args.get("q", ""), action=args.get("action", ""), limit=limit,
                                 offset=offset)
    except InvalidInput as err:
        return render_error(400, "That list of filtering requests does not exist.",
                            list(err.problems.values()))
    life = filtering.lifecycle(rt)
    views = filtering.views_for(rt, me)
    today = rt.today()
    return render_template("filtering.html", page=page, view=view, views=views, states=life.states,
                           state=args.get("state", ""), q=args.get("q", "")[:200],
                           action=args.get("action", ""),
                           actions=ACTIONS, title=life.title, reads_log=filtering.may_read_log(rt, me),
                           year_ago=(today - timedelta(days=365)).isoformat(), today=today.isoformat())


@bp.route("/new", methods=["GET", "POST"])
@access(SIGNED_IN)
def new() -> Any:
    """Ask for a site or category to be allowed or blocked."""
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            made = filtering.ask(runtime(), actor_id=actor().id, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Thank you: your request is with the safeguarding lead. You will be told what they decide.")
            return redirect(url_for("filtering.show", request_id=made.id))
    return render_template("filtering_new.html", problems=problems, form=request.form if problems else None,
                           actions=ACTIONS, today=runtime().today().isoformat(),
                           schools=schools.mine(runtime(), actor_id=actor().id)), 400 if problems else 200


@bp.route("/<int:request_id>", methods=["GET", "POST"])
@access(SIGNED_IN)
def show(request_id: int) -> Any:
    """A request and where it has got to; whoever has the next step takes it here."""
    rt = runtime()
    me = actor()
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        version = form.get("version", "")
        try:
            filtering.act(rt, actor_id=me.id, request_id=request_id, trigger=form.get("trigger", "")[:60],
                          reason=form.get("reason", ""),
                          expected_version=int(version) if version.isdigit() and len(version) < 10 else None)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Done: the request's asker and whoever has the next step have been told.")
            return redirect(url_for("filtering.show", request_id=request_id))
    found = filtering.get(rt, actor_id=me.id, request_id=request_id)
    return render_template("filtering_request.html", r=found, problems=problems,
                           form=request.form if problems else None), 400 if problems else 200


@bp.get("/log.<fmt>")
@access(SIGNED_IN)
def log(fmt: str) -> Any:
    """The decisions made between two days, as CSV or a workbook (the annual filtering review)."""
    if fmt not in ("csv", "xlsx"):
        return render_error(404, "The log is exported as csv or xlsx.")
    rt = runtime()
    today = rt.today()
    problems: dict[str, str] = {}
    start = day_arg(request.args, "from", today - timedelta(days=365), problems)
    end = day_arg(request.args, "to", today, problems)
    try:
        if problems:
            raise InvalidInput(problems)
        rows = filtering.log(rt, actor_id=actor().id, start=start, end=end)
    except InvalidInput as err:
        return render_error(400, "That log cannot be made.", list(err.problems.values()))
    name = f"filtering-decisions-{start}-{end}"
    if fmt == "csv":
        return Response(filtering.log_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(filtering.log_xlsx(rows),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
