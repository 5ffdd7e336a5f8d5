"""How many rows a list has, counted no further than its page needs: a list's cost follows
the page, not the history (a total is exact up to limits.COUNT_CAP, or past the page being
read, and beyond that "at least")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, select

from ..domain import limits


class Count(int):
    """A list's total: exact, or, when ``more``, a lower bound (there are more than this)."""

    more: bool

    def __new__(cls, value: int, more: bool = False) -> Count:
        count = super().__new__(cls, value)
        count.more = more
        return count


def bounded(connection: Connection, rows: Select[Any], *, offset: int = 0, limit: int = 0,
            params: dict[str, Any] | None = None) -> Count:
    """How many ``rows`` (a SELECT of one narrow column with its filters) there are: exact up
    to the cap, or to the end of the page asked for when it lies further; past that a lower
    bound (``more``)."""
    cap = max(limits.COUNT_CAP, offset + limit)
    found = int(connection.execute(select(func.count()).select_from(rows.limit(cap + 1).subquery()),
                                   params or {}).scalar_one())
    return Count(min(found, cap), found > cap)
