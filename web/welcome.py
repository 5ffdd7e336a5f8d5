"""A first sign-in's steps, in one sequence on one page: a password of one's own (when an
administrator set it), then the second factor (when the role needs one), then on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user

from fitsflow.domain.errors import InvalidInput
from fitsflow.services import auth as service
from fitsflow.services import mfa as mfa_service

from .access import SIGNED_IN, access
from .login import actor, runtime, steps_due

bp = Blueprint("welcome", __name__, url_prefix="/account/welcome")

TITLES = {"password": "Choose your password", "mfa": "Set up your authenticator app"}


def _page(status: int = 200, *, problems: dict[str, str] | None = None,
          codes: list[str] | None = None) -> Any:
    """The step due now, numbered within the sequence this person started with (or, with the
    recovery codes just made, the end of it)."""
    due = () if codes else steps_due(actor())
    planned = session.get("welcome_steps")
    if not isinstance(planned, list) or not set(due) <= set(planned):
        planned = list(due)
        session["welcome_steps"] = planned
    step = due[0] if due else ""
    number = planned.index(step) + 1 if step else len(planned)
    enrolment = mfa_service.begin_enrolment(runtime(), user_id=actor().id) if step == "mfa" else None
    return render_template("account_welcome.html", step=step, title=TITLES.get(step, "All set"),
                           number=number, total=len(planned), enrolment=enrolment,
                           required=step == "mfa", problems=problems or {}, codes=codes), status


@bp.get("")
@access(SIGNED_IN)
def show() -> Any:
    """The step due now; with none left, on to fitsflow."""
    if not steps_due(actor()):
        session.pop("welcome_steps", None)
        return redirect(url_for("dashboard.home"))
    return _page()


@bp.post("/password")
@access(SIGNED_IN)
def password() -> Any:
    """Step: replace the password an administrator set (every other session ends)."""
    if "password" not in steps_due(actor()):
        return redirect(url_for("welcome.show"))
    form = request.form
    new = form.get("new_password", "")
    if new != form.get("new_password_again", ""):
        return _page(400, problems={"new_password_again": "does not match the new password: type it again"})
    try:
        service.change_password(runtime(), user_id=actor().id, session_id=current_user.session_id,
                                current=form.get("current_password", ""), new=new)
    except InvalidInput as err:
        return _page(400, problems=err.problems)
    return redirect(url_for("welcome.show"))


@bp.post("/mfa")
@access(SIGNED_IN)
def mfa() -> Any:
    """Step: turn the second factor on with a first code; the recovery codes, shown once."""
    if steps_due(actor())[:1] != ("mfa",):  # in order: a password of one's own comes first
        return redirect(url_for("welcome.show"))
    try:
        codes = mfa_service.confirm_enrolment(runtime(), user_id=actor().id,
                                              code=request.form.get("code", ""))
    except InvalidInput as err:
        return _page(400, problems=err.problems)
    response = _page(201, codes=codes)
    session.pop("welcome_steps", None)
    return response
