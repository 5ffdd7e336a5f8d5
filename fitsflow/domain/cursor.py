"""Where a page of a sorted list starts: the sort key of the row next to it (keyset
pagination), so that going on costs the same on the thousandth page as on the second — an
offset makes the database walk every row before the page.

A position is opaque to its reader (``after=…`` in a URL, ``next_after`` in the API) but
names the order it was taken in, so a position from another order is refused, not misread."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from . import limits
from .errors import InvalidInput

MAX_TEXT = 1200  # a title of 200 characters, encoded, with room to spare


@dataclass(frozen=True)
class Position:
    """The row a page starts after (or ends before): its list's sort, that sort's key as text
    ("" when the sort is by id alone) and its id (which breaks ties)."""

    sort: str
    value: str
    id: int

    def text(self) -> str:
        raw = f"{self.sort}\n{self.id}\n{self.value}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def problem(field: str) -> InvalidInput:
    return InvalidInput({field: "is not a position in this list (it was taken in another order, or "
                                "changed): start again from the first page"})


def read(text: str, *, sort: str, field: str) -> Position | None:
    """The position ``text`` names in a list sorted by ``sort``; None for no text; InvalidInput
    naming ``field`` for anything else."""
    if not text:
        return None
    if len(text) > MAX_TEXT:
        raise problem(field)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        taken_in, ident, value = raw.split("\n", 2)
        number = int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise problem(field) from None
    if taken_in != sort or not 0 <= number <= limits.ID_MAX or not ident.isascii() or not ident.isdigit():
        raise problem(field)
    return Position(sort, value, number)


def ids(after: str, before: str, *, sort: str) -> tuple[int | None, int | None]:
    """The ids a page of a list kept by id (``sort`` names the list) starts after or ends
    before, from the positions given (``after`` first); InvalidInput naming the field."""
    start = read(after, sort=sort, field="after")
    if start is not None:
        return start.id, None
    end = read(before, sort=sort, field="before")
    return None, end.id if end is not None else None


def either_side(sort: str, ids_shown: list[int], *, earlier: bool) -> tuple[str, str]:
    """(next_after, prev_before) of a page of a list kept by id showing ``ids_shown`` (none:
    neither); ``earlier``: rows come before the page."""
    if not ids_shown:
        return "", ""
    before = Position(sort, "", ids_shown[0]).text() if earlier else ""
    return Position(sort, "", ids_shown[-1]).text(), before
