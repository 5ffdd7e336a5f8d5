"""Helpers for the web tests: an app on a fresh database with a school in it."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import threading
from collections.abc import Iterator
from typing import Any

from fitsflow.web import create_app
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from fitsflow.services import users
from fitsflow.services.runtime import Runtime

from . import factories as f

PASSWORD = "correct horse battery"


class WebSchool(f.School):
    """A School whose people have passwords and known emails."""

    def __init__(self, rt: Runtime):
        super().__init__(rt)
        self.emails: dict[int, str] = {}
        for uid in [self.requester, self.other_requester, *self.cab, self.slt, self.finance, self.head,
                    self.auditor, self.admin, self.staff]:
            with rt.db.read() as session:
                from fitsflow.persistence.models import User

                user = session.get(User, uid)
                assert user is not None
                email, name = user.email, user.name
            users.add_user(rt, name=name, email=email, password=PASSWORD,
                              roles=_roles(rt, uid), audiences=_audiences(rt, uid))
            self.emails[uid] = email


def _roles(rt: Runtime, uid: int) -> list[str]:
    from fitsflow.persistence import queries

    with rt.db.read() as session:
        return sorted(queries.roles_of(session, uid))


def _audiences(rt: Runtime, uid: int) -> list[str]:
    from fitsflow.persistence import queries

    with rt.db.read() as session:
        return sorted(queries.audiences_of(session, uid))


def make_app(rt: Runtime, tmp_path: Any, web: dict[str, Any] | None = None, mfa: bool = False,
             health_token: str = "", **config: Any) -> Flask:
    """The app on this runtime's database, with test web settings (and any given). Unless
    ``mfa``, no role needs a second factor (the tests of it turn it on)."""
    settings = rt.settings.replace(web={"secret_key": "test-secret", "secure_cookies": False, **(web or {})})
    if health_token:
        settings = settings.replace(health={"monitoring_token": health_token})
    roles = rt.roles if mfa else dataclasses.replace(rt.roles, mfa_roles=())
    return create_app(dataclasses.replace(rt, settings=settings, roles=roles), {"TESTING": True, **config})


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, page: str = "/account") -> Any:
    """A form POST carrying the CSRF token from a page the client can open."""
    data = dict(data or {})
    data["csrf_token"] = csrf_token(client, page)
    return client.post(path, data=data)


def bearer(rt: Runtime, user_id: int) -> dict[str, str]:
    """API headers with a fresh token of this user's."""
    from fitsflow.services import auth

    return {"Authorization": f"Bearer {auth.create_token(rt, user_id=user_id, name='test')}"}


def _whole_bodies(app: Any) -> Any:
    """Each response read whole (and its file closed) before werkzeug's test server writes it:
    when a browser drops a connection, that server can skip closing the response, and a static
    file left open is reported in whichever test runs next."""
    def wrapped(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    return wrapped


@contextlib.contextmanager
def serving(app: Any, port: int = 0) -> Iterator[str]:
    """The app on a local port (by default a free one) in a thread, for a real browser;
    yields its base URL."""
    httpd = make_server("127.0.0.1", port, _whole_bodies(app), threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
