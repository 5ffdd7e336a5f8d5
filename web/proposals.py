"""Needs proposed by staff: propose one, follow mine, and (requesters) triage them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.roles import REQUESTER
from fitsflow.services import proposals, schools

from .access import SIGNED_IN, access
from .dashboard import page_args
from .errors import render_error
from .login import actor, runtime

bp = Blueprint("proposals", __name__, url_prefix="/proposals")


@bp.get("")
@access(SIGNED_IN)
def index() -> Any:
    """My proposals; for requesters, everyone's (those waiting first by default)."""
    limit, offset = page_args()
    me = actor()
    triager = REQUESTER in me.roles
    mine = request.args.get("mine", "0" if triager else "1") == "1" or not triager
    status = request.args.get("status", "" if mine else "open")
    try:
        page = proposals.listing(runtime(), actor_id=me.id, mine=mine, status=status, limit=limit,
                                 offset=offset)
    except InvalidInput as err:
        return render_error(400, "That list of proposals does not exist.", list(err.problems.values()))
    return render_template("proposals.html", page=page, mine=mine, status=status, triager=triager,
                           statuses=proposals.STATUSES)


@bp.route("/new", methods=["GET", "POST"])
@access(SIGNED_IN)
def new() -> Any:
    """Propose a need: what, why, who it affects."""
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            made = proposals.propose(runtime(), actor_id=actor().id, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Thank you: your proposal is with the ICT team. You will be told what becomes of it.")
            return redirect(url_for("proposals.show", proposal_id=made.id))
    return render_template("proposal_new.html", problems=problems, form=request.form if problems else None,
                           schools=schools.mine(runtime(), actor_id=actor().id)), 400 if problems else 200


@bp.route("/<int:proposal_id>", methods=["GET", "POST"])
@access(SIGNED_IN)
def show(proposal_id: int) -> Any:
    """A proposal and where it has got to; requesters triage it here."""
    rt = runtime()
    me = actor()
    problems: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            proposals.triage(rt, actor_id=me.id, proposal_id=proposal_id, action=form.get("action", ""),
                             category=form.get("category", ""), ref=form.get("ref", ""),
                             reason=form.get("reason", ""))
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Proposal triaged; its proposer has been told.")
            return redirect(url_for("proposals.show", proposal_id=proposal_id))
    found = proposals.get(rt, actor_id=me.id, proposal_id=proposal_id)
    return render_template("proposal.html", p=found, problems=problems,
                           form=request.form if problems else None, triager=REQUESTER in me.roles,
                           actions=proposals.ACTIONS,
                           categories=proposals.RAISABLE), 400 if problems else 200
