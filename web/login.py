"""Sessions with Flask-Login, and the access check every request passes through."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from werkzeug.exceptions import Forbidden

from fitsflow.domain.actor import Actor
from fitsflow.services import auth as auth_service
from fitsflow.services.runtime import Runtime

from .access import API, WHOSE, allows, rule_of
from .forms import whole

manager = LoginManager()


class WebUser(UserMixin):
    """A signed-in person, tied to a server-side session row: signing out, a password
    change or deactivation revoke rows, and a revoked session is refused."""

    def __init__(self, actor: Actor, session_id: str):
        self.actor = actor
        self.session_id = session_id

    def get_id(self) -> str:
        return f"{self.actor.id}:{self.session_id}"

    @property
    def roles(self) -> frozenset[str]:
        return self.actor.roles


def runtime() -> Runtime:
    rt: Runtime = current_app.extensions["fitsflow"]
    return rt


@manager.user_loader
def load_user(session_id: str) -> WebUser | None:
    user_id, _, token = session_id.partition(":")
    uid = whole(user_id)
    if uid is None or not token:
        return None
    actor = auth_service.session_user(runtime(), user_id=uid, session_id=token)
    return WebUser(actor, token) if actor else None


def actor() -> Actor:
    """The person making this request (web session or API token)."""
    found: Actor | None = g.get("api_actor")
    if found is not None:
        return found
    if not current_user.is_authenticated:
        abort(401)
    return current_user.actor


# Open while a first sign-in's steps are due (the sequence itself, and the way out).
_DURING_WELCOME = {"welcome.show", "welcome.password", "welcome.mfa", "auth.logout", "static", "auth.login",
                   "healthz"}


def steps_due(person: Actor) -> tuple[str, ...]:
    """What a person must do before any other page opens, in order: a password of their own
    (an administrator set theirs), then a second factor (their role needs one)."""
    return tuple(step for step, due in (("password", person.must_change_password),
                                        ("mfa", person.mfa_enrolment_due)) if due)


def _check_access() -> Any:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None  # 404 / 405 follow
    rule = rule_of(view)
    if rule is None:
        abort(403)
    if rule == API:
        return None  # the API blueprint authenticates by token
    signed_in = bool(current_user.is_authenticated)
    if signed_in and request.endpoint not in _DURING_WELCOME and steps_due(current_user.actor):
        # One sequence, one place: every other page leads to the step due now, and that page
        # never sends anyone on while a step is left (no loop between two pages' demands).
        return redirect(url_for("welcome.show"))
    roles = current_user.roles if signed_in else frozenset()
    if allows(rule, signed_in, roles, runtime().roles):
        return None
    if not signed_in:
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    # A change one may not see is answered as if it did not exist.
    if "ref" in (request.view_args or {}):
        abort(404)
    held = ", ".join(runtime().roles.label(r) for r in sorted(roles)) or "no role"
    raise Forbidden(description=f"This page is for {WHOSE.get(rule, 'other roles')}; you are signed in as "
                                f"{current_user.actor.name} ({held}). If your work needs it, ask an "
                                "administrator for the role.")


def init_app(app: Flask) -> None:
    manager.init_app(app)
    manager.session_protection = "strong"
    manager.login_view = "auth.login"
    app.before_request(_check_access)
