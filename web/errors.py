"""Errors as pages a person understands, or, under /api, Error objects with a
machine-readable code (web.api_models.Error). Mapped here, once."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, jsonify, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden, HTTPException

from fitsflow.domain.errors import (
    FitsflowError,
    GateNotSatisfied,
    InvalidInput,
    NotAllowed,
    NotFound,
    NotPermitted,
    Stale,
)
from fitsflow.services import storage as failures
from fitsflow.services.auth import TooManyAttempts
from fitsflow.services.idempotency import KeyConflict

TITLES = {400: "That was not quite right", 401: "Please sign in", 403: "Not allowed",
          404: "Not found", 405: "Not allowed here", 409: "That could not be done now",
          413: "Too large", 422: "That key was used before", 429: "Too many attempts",
          500: "Something went wrong",
          503: "Not available just now"}
HTTP_CODES = {400: "invalid", 401: "unauthenticated", 403: "not_permitted", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 429: "too_many", 500: "internal",
              503: "unavailable"}


def classify(err: FitsflowError) -> tuple[int, str]:
    """(HTTP status, machine code) of a service error."""
    if isinstance(err, InvalidInput):
        return 400, "invalid"
    if isinstance(err, TooManyAttempts):
        return 429, "too_many"
    if isinstance(err, KeyConflict):
        return (409, "in_progress") if err.in_progress else (422, "idempotency_key_reused")
    if isinstance(err, NotPermitted):
        return 403, "not_permitted"
    if isinstance(err, NotFound):
        return 404, "not_found"
    if isinstance(err, Stale):
        return 409, "stale"
    if isinstance(err, NotAllowed):
        return 409, "not_allowed"
    if isinstance(err, GateNotSatisfied):
        return 409, "gate_not_satisfied"
    return 400, "invalid"


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def api_error(status: int, code: str, message: str, **extra: Any) -> Any:
    body: dict[str, Any] = {"error": message, "status": status, "code": code}
    body.update({k: v for k, v in extra.items() if v is not None})
    return jsonify(body), status


def _way_forward(status: int) -> str | None:
    """Refused or overtaken on a change's page: the change itself, as it is now, is the
    way on (what it needs, and what can be done)."""
    ref = (request.view_args or {}).get("ref")
    if status not in (403, 409) or not isinstance(ref, str) or request.endpoint == "changes.show":
        return None
    return url_for("changes.show", ref=ref.strip().upper())


def render_error(status: int, message: str, details: list[str] | None = None,
                 problems: dict[str, str] | None = None) -> Any:
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message, details=details or [], problems=problems or {},
                           forward=_way_forward(status)), status


def _fitsflow_error(err: FitsflowError) -> Any:
    status, code = classify(err)
    message = str(err)
    details: list[str] = []
    if isinstance(err, Stale):
        message = "Someone else changed this first. Reload the page to see what they did, then try again."
    elif isinstance(err, GateNotSatisfied):
        message = f"{err.sentence} Still missing:"
        details = err.missing
    problems = err.problems if isinstance(err, InvalidInput) else None
    headers = {"Retry-After": str(err.retry_after)} if isinstance(err, TooManyAttempts) else {}
    if _wants_json():
        response, status = api_error(status, code, message, problems=problems,
                                     allowed=err.allowed if isinstance(err, NotAllowed) else None,
                                     missing=err.missing if isinstance(err, GateNotSatisfied) else None)
        return response, status, headers
    page, status = render_error(status, message, details, problems)
    return page, status, headers


def _http_error(err: HTTPException) -> Any:
    status = err.code or 500
    if isinstance(err, CSRFError):
        return render_error(400, "The form expired or did not come from this site. Go back, "
                                 "reload the page and send it again.")
    messages = {403: "You do not have permission to do that.",
                404: "There is nothing here, or you may not see it.",
                413: "The request was larger than this site accepts.",
                405: "That action is not available here."}
    message = messages.get(status, err.description or "Error")
    if status == 403 and err.description and err.description != Forbidden.description:
        message = err.description  # says whose page it is
    if _wants_json():
        response, code = api_error(status, HTTP_CODES.get(status, "invalid"), message)
    else:
        response, code = render_error(status, message)
    if status == 405:
        # The methods this address does answer to (RFC 9110).
        for name, value in err.get_headers():
            if name.lower() == "allow":
                if _wants_json():
                    response.headers["Allow"] = value
                else:
                    return response, code, {"Allow": value}
    return response, code


def _storage_error(err: Exception) -> Any:
    """The disk is full, the database read-only, unreachable, busy or damaged: 503 with a
    plain message and Retry-After (nothing was half-saved: the transaction rolled back).
    Anything else is a fault of ours and goes on as one (logged, a generic 500)."""
    problem = failures.classify(err)
    if problem is None:
        raise err
    current_app.logger.error("storage problem on %s %s: %s (%s)", request.method, request.path,
                             problem.kind, err.__class__.__name__)
    headers = {"Retry-After": str(problem.retry_after)}
    message = f"{problem.message}. Nothing you sent was saved; please try again later."
    if _wants_json():
        response, status = api_error(503, "unavailable", message)
        return response, status, headers
    # Straight from the template: render_template would run the context processors, and the
    # layout would load the signed-in person and the navigation's counts — from the database.
    page = current_app.jinja_env.get_template("unavailable.html").render(
        title=TITLES[503], message=message, retry_after=problem.retry_after,
        school=current_app.config.get("SCHOOL_NAME", ""), here=request.full_path.rstrip("?"),
        static_css=url_for("static", filename="style.css"))
    return page, 503, headers


def init_app(app: Flask) -> None:
    app.register_error_handler(FitsflowError, _fitsflow_error)
    app.register_error_handler(HTTPException, _http_error)
    for kind in failures.STORAGE_ERRORS:
        app.register_error_handler(kind, _storage_error)
