"""Getting in by email: the invitation and password-reset links' pages, and "Forgot your
password?". Opening a link spends nothing (mail scanners open links too); choosing the
password does. The pages carry no referrer and are never cached."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from fitsflow.domain import links
from fitsflow.domain.errors import InvalidInput
from fitsflow.services import auth as auth_service
from fitsflow.services import invitations

from .access import PUBLIC, access
from .auth import signed_in
from .login import runtime

bp = Blueprint("links", __name__)

_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _answer(page: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Any:
    return render_template(page, **context), status, {**_PRIVATE, **(headers or {})}


def _slowed(page: str, err: auth_service.TooManyAttempts, **context: Any) -> Any:
    return _answer(page, 429, {"Retry-After": str(err.retry_after)}, refusal=str(err), **context)


def _choose(token: str, purpose: str) -> Any:
    """A link's page: choose the password (GET shows it, POST spends the link)."""
    address = request.remote_addr or ""
    try:
        found = invitations.look(runtime(), token=token, purpose=purpose, address=address)
    except invitations.LinkGone:
        return _answer("link_gone.html", 410, purpose=purpose)
    except auth_service.TooManyAttempts as err:
        return _slowed("link_gone.html", err, purpose=purpose)
    if request.method == "GET":
        return _answer("link_password.html", link=found, problems={})
    try:
        done = invitations.redeem(runtime(), token=token, purpose=purpose, address=address,
                                  password=request.form.get("new_password", ""),
                                  again=request.form.get("new_password_again", ""))
    except invitations.LinkGone:
        return _answer("link_gone.html", 410, purpose=purpose)
    except InvalidInput as err:
        return _answer("link_password.html", 400, link=found, problems=err.problems)
    if done.has_second_factor:
        flash("Your new password is saved. Sign in with it and a code from your authenticator app.")
        return redirect(url_for("auth.login"))
    person = auth_service.sign_in_by_link(runtime(), user_id=done.user_id, address=address)
    response = signed_in(person, url_for("welcome.show"))  # a fresh session: say so after it
    flash("Your password is saved: you are signed in.")
    return response


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def invitation(token: str) -> Any:
    """An emailed invitation: choose a first password, then on in."""
    return _choose(token, links.INVITE)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@access(PUBLIC)
def reset(token: str) -> Any:
    """An emailed reset link: choose a new password; every other session ends."""
    return _choose(token, links.RESET)


@bp.route("/password/forgot", methods=["GET", "POST"])
@access(PUBLIC)
def forgot() -> Any:
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    if request.method == "GET":
        return _answer("password_forgot.html", email="", problems={}, sent=False)
    email = request.form.get("email", "")
    try:
        invitations.request_reset(runtime(), email=email, address=request.remote_addr or "")
    except InvalidInput as err:
        return _answer("password_forgot.html", 400, email=email, problems=err.problems, sent=False)
    except auth_service.TooManyAttempts as err:
        return _slowed("password_forgot.html", err, email=email, problems={}, sent=False)
    return _answer("password_forgot.html", email=email.strip().lower(), problems={}, sent=True,
                   minutes=runtime().settings.accounts.password_reset_minutes)
