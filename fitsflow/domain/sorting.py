"""How a list is sorted: a key of the list's own, "-" first for descending. One rule and
one message for every sortable list (changes, approvals, users, the register)."""

from __future__ import annotations

from collections.abc import Iterable


def sort_problem(sort: str, keys: Iterable[str]) -> str | None:
    """What is wrong with ``sort`` for a list sortable by ``keys``; None when it is right."""
    keys = tuple(keys)
    if sort.lstrip("-") in keys:
        return None
    return f"must be one of: {', '.join(keys)} (with - first for descending)"
