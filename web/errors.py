"""Errors as pages a person understands (or JSON under /api)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from fitsflow.domain.errors import (
    FitsflowError,
    GateNotSatisfied,
    InvalidInput,
    NotAllowed,
    NotFound,
    NotPermitted,
    Stale,
)
from fitsflow.services.auth import TooManyAttempts

TITLES = {400: "That was not quite right", 401: "Please sign in", 403: "Not allowed",
          404: "Not found", 405: "Not allowed here", 409: "That could not be done now",
          413: "Too large", 429: "Too many attempts", 500: "Something went wrong"}


def status_of(err: FitsflowError) -> int:
    if isinstance(err, InvalidInput):
        return 400
    if isinstance(err, TooManyAttempts):
        return 429
    if isinstance(err, NotPermitted):
        return 403
    if isinstance(err, NotFound):
        return 404
    if isinstance(err, NotAllowed | Stale | GateNotSatisfied):
        return 409
    return 400


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, message: str, details: list[str] | None = None,
                 problems: dict[str, str] | None = None) -> Any:
    if _wants_json():
        body: dict[str, Any] = {"error": message, "status": status}
        if problems:
            body["problems"] = problems
        if details:
            body["details"] = details
        return jsonify(body), status
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"),
                           message=message, details=details or [], problems=problems or {}), status


def _fitsflow_error(err: FitsflowError) -> Any:
    status = status_of(err)
    details: list[str] = []
    message = str(err)
    if isinstance(err, Stale):
        message = "Someone else changed this first. Reload the page to see what they did, then try again."
    elif isinstance(err, GateNotSatisfied):
        message = f"Cannot {err.action} yet. Still missing:"
        details = err.missing
    elif isinstance(err, NotAllowed):
        message = f"“{err.action}” is not possible while the change is {err.state.replace('_', ' ')}."
        details = [f"Possible now: {', '.join(err.allowed) or 'nothing'}"]
    problems = err.problems if isinstance(err, InvalidInput) else None
    return render_error(status, message, details, problems)


def _http_error(err: HTTPException) -> Any:
    status = err.code or 500
    if isinstance(err, CSRFError):
        return render_error(400, "The form expired or did not come from this site. Go back, "
                                 "reload the page and send it again.")
    messages = {403: "You do not have permission to do that.",
                404: "There is nothing here, or you may not see it.",
                413: "The request was larger than this site accepts.",
                405: "That action is not available here."}
    return render_error(status, messages.get(status, err.description or "Error"))


def init_app(app: Flask) -> None:
    app.register_error_handler(FitsflowError, _fitsflow_error)
    app.register_error_handler(HTTPException, _http_error)
