"""The rule for one-line text fields (titles, names, reasons, service names): one place,
so every form, import and API answers the same way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def one_line_problem(value: str, maximum: int, *, required: bool = True) -> str:
    """What is wrong with a (stripped) one-line value, or "" when nothing is."""
    if required and not value:
        return "is required"
    if len(value) > maximum:
        return f"is longer than {maximum} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must be one line (no line breaks or control characters)"
    return ""


def text_field(data: Mapping[str, Any], key: str, problems: dict[str, str], *, required: bool,
               maximum: int) -> str:
    """A free-text field of a form or JSON body, stripped; what is wrong goes in ``problems``
    under ``key`` (missing, not text, too long)."""
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems[key] = "must be text"
        return ""
    value = value.strip()
    if required and not value:
        problems[key] = "is required"
    elif len(value) > maximum:
        problems[key] = f"is longer than {maximum} characters"
    return value
