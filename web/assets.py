"""The asset register: list and search it, add an asset or import a CSV, an asset's page (its
entry, renewal dates, the changes that touched it, disposal evidence once retired)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from fitsflow.domain.assets import COLUMNS, STATUSES
from fitsflow.domain.errors import InvalidInput
from fitsflow.services import assets, schools

from .access import VIEWERS, access
from .dashboard import page_args
from .errors import render_error
from .login import actor, runtime

bp = Blueprint("assets", __name__, url_prefix="/assets")


@bp.get("")
@access(VIEWERS)
def index() -> Any:
    """The register, newest first, by status and text."""
    limit, offset = page_args()
    status, q = request.args.get("status", ""), request.args.get("q", "")
    try:
        page = assets.listing(runtime(), actor_id=actor().id, status=status, q=q, limit=limit, offset=offset)
    except InvalidInput as err:
        return render_error(400, "That list of assets does not exist.", list(err.problems.values()))
    return render_template("assets.html", page=page, status=status, q=q[:200], statuses=STATUSES,
                           editor=bool(actor().roles & assets.EDITORS))


def _refused() -> Any:
    return render_error(403, "The asset register is kept by requesters (the ICT team) and administrators.")


@bp.route("/new", methods=["GET", "POST"])
@access(VIEWERS)
def new() -> Any:
    """Add an asset to the register (requesters, administrators)."""
    if not actor().roles & assets.EDITORS:
        return _refused()
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            made = assets.add(runtime(), actor_id=actor().id, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash(f"{made.label} added to the register.")
            return redirect(url_for("assets.show", asset_id=made.id))
    return render_template("asset_form.html", problems=problems, form=request.form if problems else None,
                           asset=None, schools=schools.mine(runtime(), actor_id=actor().id)), \
        400 if problems else 200


@bp.route("/import", methods=["GET", "POST"])
@access(VIEWERS)
def import_() -> Any:
    """Import assets from a CSV file: every row or none (requesters, administrators)."""
    if not actor().roles & assets.EDITORS:
        return _refused()
    problems: dict[str, str] = {}
    if request.method == "POST":
        upload = request.files.get("file")
        text = ""
        if upload is not None and upload.filename:
            raw = upload.read(5_000_001)
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                problems = {"file": "is not UTF-8 text: save it from the spreadsheet as CSV UTF-8"}
        else:
            problems = {"file": "choose a CSV file"}
        if not problems:
            try:
                added = assets.import_csv(runtime(), actor_id=actor().id, text=text,
                                          school=request.form.get("school", "")[:40])
            except InvalidInput as err:
                problems = err.problems
            else:
                flash(f"{added} assets imported.")
                return redirect(url_for("assets.index"))
    return render_template("asset_import.html", problems=problems, columns=COLUMNS,
                           schools=schools.mine(runtime(), actor_id=actor().id)), 400 if problems else 200


@bp.route("/<int:asset_id>", methods=["GET", "POST"])
@access(VIEWERS)
def show(asset_id: int) -> Any:
    """An asset's entry, the changes that touched it and, once retired, its disposal evidence;
    requesters and administrators edit it here."""
    rt = runtime()
    problems: dict[str, str] = {}
    what = request.form.get("what", "")
    if request.method == "POST":
        try:
            if what == "disposal":
                assets.record_disposal(rt, actor_id=actor().id, asset_id=asset_id, data=request.form)
            else:
                assets.edit(rt, actor_id=actor().id, asset_id=asset_id, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Disposal evidence recorded." if what == "disposal" else "Saved.")
            return redirect(url_for("assets.show", asset_id=asset_id))
    found = assets.get(rt, actor_id=actor().id, asset_id=asset_id)
    return render_template("asset.html", d=found, a=found.asset, problems=problems, what=what,
                           form=request.form if problems else None), 400 if problems else 200
