"""No request brings a control character in: before any view runs, the address, every
query parameter, form field and JSON string (names too) is held to the long-text rule
(fitsflow/domain/text.py; CR is let through, the rule makes CR LF one LF). NUL, which
PostgreSQL refuses in text, so never reaches a query, a sign-in or a search; the answer
is a 400 naming the field instead of a 500. Which fields are one line is the services'
rule, checked where each field is read. Uploaded files are read by their importers, which
apply the same rule to every cell."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, request

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.text import describe, refused_in_text, visible

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refused(value: str) -> str | None:
    return next((c for c in value if c != "\r" and refused_in_text(c)), None)


def _json_strings(document: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every key and string in a JSON document, without recursion (a
    deeply nested body must not exhaust the stack)."""
    stack: list[tuple[str, Any]] = [("body", document)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, str):
            yield where, node
        elif isinstance(node, dict):
            for key, value in node.items():
                place = key if where == "body" else f"{where}.{key}"
                yield place, key
                stack.append((place, value))
        elif isinstance(node, list):
            stack.extend((f"{where}.{i}" if where != "body" else str(i), v) for i, v in enumerate(node))


def _json_body() -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None  # not JSON: the operation refuses it in its own words


def _inputs() -> Iterator[tuple[str, str]]:
    yield "address", request.path
    for name, value in request.args.items(multi=True):
        yield name, name
        yield name, value
    if request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            yield name, name
            yield name, value
    elif request.content_length or request.headers.get("Transfer-Encoding"):
        yield from _json_strings(_json_body())


def refuse_control_characters() -> None:
    """Raise InvalidInput for the first input holding a character the long-text rule refuses."""
    for field, value in _inputs():
        bad = _refused(value)
        if bad is not None:
            raise InvalidInput({visible(field)[:80]: f"must not contain control characters: "
                                                     f"{describe(bad)} is not allowed"})


def init_app(app: Flask) -> None:
    app.before_request(refuse_control_characters)
