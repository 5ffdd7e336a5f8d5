"""Signing in and out, the account page: password, sessions, API tokens."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer

from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.domain.roles import is_approver
from fitsflow.domain.text import refused_in_line
from fitsflow.services import absences, devices, feeds, sso
from fitsflow.services import auth as service
from fitsflow.services import mfa as mfa_service

from .access import PUBLIC, SIGNED_IN, access
from .forms import whole
from .login import WebUser, actor, runtime
from .sso_session import offer_end_session

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site, else the dashboard: never an open redirect. Browsers read
    a backslash as a slash and drop tabs and line breaks from an address (so "/\\evil", or a
    line break between two slashes, is "//evil", another host): neither, nor any character
    the one-line rule refuses, is let through."""
    home = url_for("dashboard.home")
    if not target or len(target) > 2000 or not target.startswith("/") or "\\" in target \
            or target.startswith("//") or any(refused_in_line(c) for c in target):
        return home
    parts = urlsplit(target)
    return home if parts.scheme or parts.netloc else target


DEVICE_COOKIE = "fitsflow_device"
DEVICE_DAYS = 365


def _device_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt="fitsflow-device")


def _device() -> tuple[int, str] | None:
    """(user id, nonce) from this browser's signed device cookie, if it is genuine."""
    raw = request.cookies.get(DEVICE_COOKIE, "")
    if not raw or len(raw) > 500:
        return None
    try:
        data = _device_signer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadData:
        return None
    if not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], int) \
            or not isinstance(data[1], str):
        return None
    return data[0], data[1]


REMEMBER_COOKIE = "fitsflow_mfa"
PENDING_SECONDS = 300  # between the password and the code


def _remembered() -> str | None:
    """This browser's "don't ask again" cookie: a random id the server looks up (with this
    browser's device id) in its remembered browsers."""
    raw = request.cookies.get(REMEMBER_COOKIE, "")
    return raw if raw and len(raw) <= 100 else None


def _cookie(response: Any, name: str, value: str, days: int) -> None:
    response.set_cookie(name, value, max_age=days * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")


def _device_id_for(user_id: int) -> tuple[str, bool]:
    """This browser's device id for this person: (id, whether the browser has it already)."""
    device = _device()
    if device is not None and device[0] == user_id:
        return device[1], True
    return secrets.token_urlsafe(16), False


def signed_in(found: service.SessionUser, target: str | None,
               device_id: tuple[str, bool] | None = None) -> Any:
    session.clear()  # a fresh session on every sign-in
    login_user(WebUser(found.actor, found.session_id))
    response = redirect(_safe_next(target))
    nonce, known = device_id or _device_id_for(found.actor.id)
    if not known:
        _cookie(response, DEVICE_COOKIE, _device_signer().dumps([found.actor.id, nonce]), DEVICE_DAYS)
    return response


def _refused(template: str, err: NotPermitted, **context: Any) -> Any:
    if isinstance(err, service.TooManyAttempts):
        return render_template(template, error=str(err), **context), 429, \
            {"Retry-After": str(err.retry_after)}
    return render_template(template, error=str(err), **context), 401


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login() -> Any:
    """Sign in with email and password. A browser that has signed in before carries a
    signed device cookie, so others' failed attempts on the account never slow it down.
    Someone with a second factor goes on to the code."""
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")
        try:
            found = service.authenticate(runtime(), email=email, password=request.form.get("password", ""),
                                         address=request.remote_addr or "", device=_device(),
                                         remembered=_remembered())
        except NotPermitted as err:
            return _refused("login.html", err, email=email)
        if isinstance(found, service.MfaChallenge):
            session.clear()
            started = int(runtime().now().timestamp())
            session["mfa_pending"] = [found.user_id, started, request.args.get("next") or ""]
            return redirect(url_for("auth.login_mfa"))
        return signed_in(found, request.args.get("next"))
    return render_template("login.html", error="", email=email)


@bp.route("/login/code", methods=["GET", "POST"])
@access(PUBLIC)
def login_mfa() -> Any:
    """The second step of signing in: a code from the authenticator app or a recovery code,
    within a few minutes of the password."""
    pending = session.get("mfa_pending")
    if not isinstance(pending, list) or len(pending) != 3 \
            or runtime().now().timestamp() - pending[1] > PENDING_SECONDS:
        session.pop("mfa_pending", None)
        flash("Sign in with your email and password first (the second step waits five minutes).")
        return redirect(url_for("auth.login"))
    days = runtime().settings.accounts.mfa_remember_days
    if request.method == "GET":
        return render_template("login_mfa.html", error="", remember_days=days)
    user_id, _, target = pending
    try:
        found = service.complete_sign_in(runtime(), user_id=user_id, code=request.form.get("code", ""),
                                         address=request.remote_addr or "")
    except NotPermitted as err:
        return _refused("login_mfa.html", err, remember_days=days)
    device_id = _device_id_for(user_id)
    response = signed_in(found, target, device_id)
    if days and request.form.get("remember"):
        token = devices.remember(runtime(), user_id=user_id, device_id=device_id[0],
                                 agent=request.headers.get("User-Agent", "")[:1000])
        _cookie(response, REMEMBER_COOKIE, token, days)
    return response


@bp.post("/logout")
@access(SIGNED_IN)
def logout() -> Any:
    """Sign out of this browser (its session is revoked on the server too). Someone who came
    through a provider that has a sign-out of its own is offered it too (a shared computer
    stays signed in there otherwise)."""
    offer = offer_end_session()
    service.end_session(runtime(), user_id=actor().id, session_id=current_user.session_id)
    logout_user()
    session.clear()
    if offer is not None:
        return render_template("signed_out.html", provider=offer)
    flash("You are signed out.")
    return redirect(url_for("auth.login"))


def account_page(status: int = 200, *, new_token: str | None = None,
                  password_problems: dict[str, str] | None = None,
                  token_problems: dict[str, str] | None = None, token_form: Any = None,
                  new_feed: str | None = None, feed_problems: dict[str, str] | None = None,
                  absence_problems: dict[str, str] | None = None, absence_form: Any = None) -> Any:
    me = actor()
    return render_template("account.html", tokens=service.list_tokens(runtime(), user_id=me.id),
                           absences=absences.list_for(runtime(), actor_id=me.id),
                           approver=is_approver(me.roles, runtime().roles),
                           absence_problems=absence_problems or {}, absence_form=absence_form or {},
                           feeds=feeds.list_feeds(runtime(), user_id=me.id),
                           feed_kinds=feeds.kinds_for(runtime(), user_id=me.id),
                           feed_titles=feeds.FEED_TITLES, feed_about=feeds.FEED_ABOUT,
                           new_feed=new_feed, feed_problems=feed_problems or {},
                           mfa=mfa_service.status(runtime(), user_id=me.id),
                           providers=sso.linked_providers(runtime(), user_id=me.id),
                           devices=devices.list_devices(runtime(), user_id=me.id),
                           new_token=new_token, password_problems=password_problems or {},
                           token_problems=token_problems or {}, token_form=token_form or {},
                           token_days=runtime().settings.web.token_days), status


@bp.get("/account")
@access(SIGNED_IN)
def account() -> Any:
    """Password, sessions and API tokens."""
    return account_page()


@bp.post("/account/password")
@access(SIGNED_IN)
def change_password() -> Any:
    """Change the password; every other session ends."""
    me = actor()
    try:
        service.change_password(runtime(), user_id=me.id, session_id=current_user.session_id,
                                current=request.form.get("current_password", ""),
                                new=request.form.get("new_password", ""))
    except InvalidInput as err:
        return account_page(400, password_problems=err.problems)
    flash("Password changed. Every other session has been signed out.")
    return redirect(url_for("auth.account"))


@bp.post("/account/sessions/end")
@access(SIGNED_IN)
def end_sessions() -> Any:
    """Sign out everywhere, this browser included."""
    service.end_sessions(runtime(), user_id=actor().id)
    logout_user()
    session.clear()
    flash("Signed out everywhere.")
    return redirect(url_for("auth.login"))


@bp.post("/account/devices/<int:device_id>/revoke")
@access(SIGNED_IN)
def forget_device(device_id: int) -> Any:
    """Revoke a remembered browser: it is asked for the second factor again."""
    devices.forget(runtime(), user_id=actor().id, device_id=device_id)
    flash("That browser will be asked for a code at its next sign-in.")
    return redirect(url_for("auth.account"))


@bp.post("/account/tokens")
@access(SIGNED_IN)
def create_token() -> Any:
    """Create an API token (after the password again); it is shown once, in this answer,
    and kept nowhere but as a hash."""
    form = request.form
    days = whole(form.get("days", ""), maximum=10_000)
    try:
        secret = service.create_token(runtime(), user_id=actor().id, name=form.get("name", ""),
                                      scope=form.get("scope", ""), days=days if days is not None else 0,
                                      password=form.get("password", ""), address=request.remote_addr or "")
    except InvalidInput as err:
        return account_page(400, token_problems=err.problems, token_form=form)
    except service.TooManyAttempts as err:
        return _slowed(account_page(429, token_problems={"password": str(err)}, token_form=form), err)
    return account_page(201, new_token=secret)


def _slowed(page: tuple[Any, int], err: service.TooManyAttempts) -> Any:
    """A page refused while password checks are slowed, saying for how long."""
    return page[0], page[1], {"Retry-After": str(err.retry_after)}


@bp.post("/account/tokens/<int:token_id>/revoke")
@access(SIGNED_IN)
def revoke_token(token_id: int) -> Any:
    """Revoke an API token."""
    service.revoke_token(runtime(), user_id=actor().id, token_id=token_id)
    flash("Token revoked.")
    return redirect(url_for("auth.account"))


def _mfa_page(status: int = 200, *, codes: list[str] | None = None,
              problems: dict[str, str] | None = None) -> Any:
    me = actor()
    state = mfa_service.status(runtime(), user_id=me.id)
    enrolment = None if state.enabled_at else mfa_service.begin_enrolment(runtime(), user_id=me.id)
    return render_template("account_mfa.html", status=state, enrolment=enrolment, codes=codes,
                           problems=problems or {}), status


@bp.get("/account/mfa")
@access(SIGNED_IN)
def mfa() -> Any:
    """Set up the authenticator app (QR code and key), or see the second factor's state."""
    return _mfa_page()


@bp.post("/account/mfa")
@access(SIGNED_IN)
def mfa_confirm() -> Any:
    """Turn the second factor on with a first code; the recovery codes are shown once."""
    try:
        codes = mfa_service.confirm_enrolment(runtime(), user_id=actor().id,
                                              code=request.form.get("code", ""))
    except InvalidInput as err:
        return _mfa_page(400, problems=err.problems)
    return _mfa_page(201, codes=codes)


@bp.post("/account/mfa/recovery-codes")
@access(SIGNED_IN)
def mfa_recovery_codes() -> Any:
    """Replace the recovery codes (after the password again); shown once."""
    try:
        codes = mfa_service.new_recovery_codes(runtime(), user_id=actor().id,
                                               password=request.form.get("password", ""),
                                               address=request.remote_addr or "")
    except InvalidInput as err:
        return _mfa_page(400, problems=err.problems)
    except service.TooManyAttempts as err:
        return _slowed(_mfa_page(429, problems={"password": str(err)}), err)
    return _mfa_page(201, codes=codes)


@bp.post("/account/absences")
@access(SIGNED_IN)
def absence_add() -> Any:
    """Record an absence: the substitute receives and may make my decisions meanwhile."""
    form = request.form
    try:
        away = absences.record(runtime(), actor_id=actor().id,
                               substitute_email=form.get("substitute_email", ""),
                               first_day=form.get("first_day", ""), last_day=form.get("last_day", ""),
                               reason=form.get("reason", ""))
    except InvalidInput as err:
        return account_page(400, absence_problems=err.problems, absence_form=form)
    flash(f"Away {away.first_day:%d %b} – {away.last_day:%d %b %Y}: {away.substitute} stands in.")
    return redirect(url_for("auth.account"))


@bp.post("/account/absences/<int:absence_id>/cancel")
@access(SIGNED_IN)
def absence_cancel(absence_id: int) -> Any:
    absences.cancel(runtime(), actor_id=actor().id, absence_id=absence_id)
    flash("Absence cancelled.")
    return redirect(url_for("auth.account"))
