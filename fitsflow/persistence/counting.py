"""How many rows a list has, counted no further than its page needs: a list's cost follows
the page, not the history (a total is exact up to limits.COUNT_CAP, or past the page being
read, and beyond that "at least")."""

from __future__ import annotations

from typing import Any, NamedTuple

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


class Stretch(NamedTuple):
    """A page of a list newest first: its rows, the list's total, where the page is (0: back at
    the first page) and, for a page reached from a position, whether rows come before it."""

    rows: list[Any]
    total: Count
    offset: int
    earlier: bool


def newest_first(connection: Connection, rows: Select[Any], id_column: Any, *, limit: int, offset: int,
                 after: int | None = None, before: int | None = None,
                 key: str = "id") -> Stretch:
    """A page of ``rows`` (a SELECT with its filters) newest first by ``id_column``, with the
    list's total counted no further than the page needs. From a position — the id the page
    starts after, or ends before — the page is one stretch of the index however deep it is
    (an offset walks every row before it), and the total is counted from the page's first row
    on, ``offset`` (where the page is) added. Going back past the first row gives the first page.
    ``key``: the name the rows carry ``id_column``'s value under."""
    ids = rows.with_only_columns(id_column)
    if after is None and before is None:
        found = list(connection.execute(rows.order_by(id_column.desc()).limit(limit).offset(offset)))
        return Stretch(found, bounded(connection, ids, offset=offset, limit=limit), offset, False)
    if after is not None:
        found = list(connection.execute(rows.where(id_column < after).order_by(id_column.desc())
                                        .limit(limit)))
    else:
        found = list(reversed(list(connection.execute(
            rows.where(id_column > before).order_by(id_column.asc()).limit(limit)))))
        if len(found) < limit:  # back at the start (some came or went meanwhile): the first page
            return newest_first(connection, rows, id_column, limit=limit, offset=0, key=key)
    if not found:
        return Stretch(found, Count(offset), offset, True)
    first = getattr(found[0], key)
    # After a position there are rows before the page (that one, at least); before one, only if
    # some are newer than its first row (one step of the index).
    earlier = after is not None or connection.execute(
        ids.where(id_column > first).limit(1)).first() is not None
    from_here = bounded(connection, ids.where(id_column <= first), limit=limit)
    return Stretch(found, Count(offset + from_here, from_here.more), offset, earlier)
