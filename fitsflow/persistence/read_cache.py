"""Results of expensive reads — the forward schedule, calendar feeds — kept until the next
audited write that can change them. Every such write appends to the audit chain in its own
transaction, and its kind (``domain.events``) names the cached reads it makes stale: their
version (in the audit head's row) moves with it at commit, and reading a version is one
primary-key lookup. Only each read's newest version's results are kept; a restart, or
another process, simply starts cold."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import text

from ..domain.events import READS
from .db import Database

T = TypeVar("T")
_VERSIONS: dict[tuple[str, ...], Any] = {}


def _versions(reads: tuple[str, ...]) -> Any:
    """The statement reading these reads' versions, in one primary-key lookup."""
    if reads not in _VERSIONS:
        columns = ", ".join(f"{name}_seq, {name}_hash" for name in reads)
        _VERSIONS[reads] = text(f"SELECT {columns} FROM audit_head WHERE id = 1")
    return _VERSIONS[reads]


class _Entries:
    __slots__ = ("version", "results")

    def __init__(self) -> None:
        self.version: tuple[Any, ...] = ()
        self.results: OrderedDict[Hashable, Any] = OrderedDict()


class ReadCache:
    """At most ``size`` results per read, all of its newest version seen (a large feed is
    megabytes)."""

    def __init__(self, size: int = 32):
        self._size = size
        self._reads: dict[tuple[tuple[str, ...], str], _Entries] = {}
        self._lock = threading.Lock()

    def get(self, db: Database, read: str | tuple[str, ...], key: Hashable, make: Callable[[], T], *,
            shelf: str = "") -> T:
        """``make()``'s result for ``key`` of the cached read ``read`` (or of several, for a
        result built from what each shows) at its current version. The version is read
        before ``make`` runs, so a write landing in between can only make the entry newer
        than its version, never older. ``shelf``: results kept apart under the same version
        (a person's calendar feed does not push a month of the schedule out)."""
        reads = (read,) if isinstance(read, str) else tuple(read)
        if not reads or set(reads) - set(READS):
            raise KeyError(read)
        with self._lock:
            entries = self._reads.setdefault((reads, shelf), _Entries())
        with db.read() as session:
            version = tuple(session.connection().execute(_versions(reads)).one())
        with self._lock:
            if version != entries.version:
                entries.version = version
                entries.results.clear()
            if key in entries.results:
                entries.results.move_to_end(key)
                return entries.results[key]
        value = make()
        with self._lock:
            if version == entries.version:
                entries.results[key] = value
            while len(entries.results) > self._size:
                entries.results.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            for entries in self._reads.values():
                entries.results.clear()
