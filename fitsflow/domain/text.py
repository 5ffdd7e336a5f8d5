"""The rule for one-line text fields (titles, names, reasons, service names): one place,
so every form, import and API answers the same way."""

from __future__ import annotations


def one_line_problem(value: str, maximum: int, *, required: bool = True) -> str:
    """What is wrong with a (stripped) one-line value, or "" when nothing is."""
    if required and not value:
        return "is required"
    if len(value) > maximum:
        return f"is longer than {maximum} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must be one line (no line breaks or control characters)"
    return ""
