"""The fitsflow web application (installed as ``fitsflow.web``)."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from fitsflow.config import WebSettings
from fitsflow.domain import limits
from fitsflow.domain.roles import ADMIN, AUDITOR
from fitsflow.services import health, storage
from fitsflow.services.runtime import Runtime

from . import errors, input_guard, login
from .access import PUBLIC, access
from .proxy import TrustedProxies

csrf = CSRFProtect()


def _secret_key(web: WebSettings) -> str:
    """The configured key, or one kept in a file created on first start (mode 0600).
    Several server processes may start at once: the file appears whole or not at all
    (written under a temporary name, then linked into place, which fails if it exists)."""
    if web.secret_key:
        return web.secret_key
    path = Path(web.secret_key_file)
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it a moment ago: use theirs
        finally:
            os.unlink(draft)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path}: the secret key file is empty; delete it to make a new one")
    return key


class _Id(IntegerConverter):
    """``<int:…>`` in every route: a database id, so nothing larger than the column holds
    reaches a query (a 30-digit id is 404, not an overflow)."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", limits.ID_MAX)
        super().__init__(url_map, *args, **kwargs)


def _remember_per_request(app: Flask, runtime: Runtime) -> None:
    """Each request reads the acting person (and the unread count) once, however many services
    its page calls: remembered from the first before_request to the request's end."""
    def begin() -> None:
        g.remembering = storage.remembering(runtime)
        g.remembering.__enter__()

    def end(_: BaseException | None) -> None:
        held = g.pop("remembering", None)
        if held is not None:
            held.__exit__(None, None, None)

    app.before_request(begin)
    app.teardown_request(end)


def create_app(runtime: Runtime, flask_config: dict[str, Any] | None = None) -> Flask:
    """Build the app on a runtime built once by the caller (``fitsflow serve``, tests);
    ``flask_config`` adds Flask's own settings (e.g. TESTING)."""
    app = Flask(__name__)
    app.url_map.converters["int"] = _Id
    app.extensions["fitsflow"] = runtime
    web = runtime.settings.web
    app.config.update(
        SECRET_KEY=_secret_key(web),
        SESSION_COOKIE_SECURE=web.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="fitsflow_session",
        MAX_CONTENT_LENGTH=web.max_request_kb * 1024,
        PAGE_SIZE=web.page_size,
        SCHOOL_NAME=runtime.settings.school.name,
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.config.update(flask_config or {})
    app.wsgi_app = TrustedProxies(app.wsgi_app, runtime.settings.server.forwarded_allow_ips)  # type: ignore[method-assign]
    _remember_per_request(app, runtime)
    csrf.init_app(app)
    login.init_app(app)
    errors.init_app(app)
    input_guard.init_app(app)

    from . import (
        admin,
        api,
        assets,
        audit,
        auth,
        changes,
        dashboard,
        feeds,
        filtering,
        links,
        proposals,
        reports,
        schedule,
        sso,
        templates_pages,
        welcome,
    )

    for blueprint in (auth.bp, welcome.bp, links.bp, dashboard.bp, changes.bp, audit.bp, admin.bp, api.bp,
                      feeds.bp, schedule.bp, templates_pages.bp, proposals.bp, reports.bp,
                      filtering.bp, assets.bp):
        app.register_blueprint(blueprint)
    sso.init_app(app)
    csrf.exempt(api.bp)
    from .filters import register

    register(app)
    app.view_functions["static"] = access(PUBLIC)(app.view_functions["static"])

    @app.get("/healthz")
    @access(PUBLIC)
    def healthz() -> Any:
        """For a load balancer or monitor: 200 only if a write commits within the deadline
        and the disk has room, else 503 with Retry-After. The public sees only the status;
        administrators and auditors signed in also see the audit head and what is wrong;
        ``?full`` (for them, or a monitor with health.monitoring_token) adds the integrity
        check, the delivery backlog and the chain's last verification."""
        rt: Runtime = app.extensions["fitsflow"]
        staff = current_user.is_authenticated and bool(current_user.roles & {AUDITOR, ADMIN})
        secret = rt.settings.health.monitoring_token
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        monitor = bool(secret) and hmac.compare_digest(given.encode(), secret.encode())
        full = "full" in request.args and (staff or monitor)
        report = health.details(rt) if full else health.check(rt)
        body: dict[str, Any] = {"status": "ok" if report.ok else "unavailable"}
        if full:
            body |= {"problems": list(report.problems), **report.facts}
        elif staff:
            body |= {k: report.facts[k] for k in ("audit_events", "audit_head") if k in report.facts}
            if report.problems:
                body["problems"] = list(report.problems)
        if report.ok:
            return jsonify(body)
        return jsonify(body), 503, {"Retry-After": str(report.retry_after or 60)}

    @app.after_request
    def security_headers(response: Any) -> Any:
        # Whether the browser claims a session, not whether it is live: that would ask the
        # database again, after a storage failure too.
        claims_session = bool(session.get("_user_id"))
        if (claims_session or request.path.startswith(("/api/", "/audit"))) \
                and not request.path.startswith("/calendar/feed/"):
            # Signed-in pages, API answers and exports stay out of shared and browser caches.
            response.headers["Cache-Control"] = "no-store"
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")
        return response

    return app
