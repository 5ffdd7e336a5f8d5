"""Results of expensive reads — the forward schedule, calendar feeds — kept until the next
audited write. Every write that can change them appends to the audit chain in its own
transaction, so the chain head's sequence number is the version of them all, and reading
it is one primary-key lookup. Only the newest version's results are kept; a restart, or
another process, simply starts cold."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import text

from .db import Database

T = TypeVar("T")
_VERSION = text("SELECT seq, hash FROM audit_head WHERE id = 1")


class ReadCache:
    """At most ``size`` results, all of the newest version seen (a large feed is megabytes)."""

    def __init__(self, size: int = 32):
        self._size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._version: tuple[int, str] = (0, "")
        self._lock = threading.Lock()

    def get(self, db: Database, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``'s result for ``key`` at the data's current version. The version is read
        before ``make`` runs, so a write landing in between can only make the entry newer
        than its version, never older."""
        with db.read() as session:
            seq, digest = session.connection().execute(_VERSION).one()
        # The hash as well as the number: after a restore the same number can come round
        # again with other data behind it.
        version = (seq, digest)
        with self._lock:
            if version != self._version:
                self._version = version
                self._entries.clear()
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        with self._lock:
            if version == self._version:
                self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
