"""The database as the command line and the web meet it: opened from the settings, and a
failure of its storage worded for whoever must act (``persistence/failures.py``)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from ..config import Settings
from ..persistence.db import Database
from ..persistence.failures import STORAGE_ERRORS, StorageProblem, classify

if TYPE_CHECKING:  # the command line opens storage without the runtime's templates and workflows
    from .runtime import Runtime

__all__ = ["STORAGE_ERRORS", "Database", "StorageProblem", "classify", "open_database", "remembering"]


def open_database(settings: Settings, url: str | None = None) -> Database:
    """The database the settings name (or ``url``), not yet connected."""
    d = settings.database
    return Database(url or d.url, busy_timeout_ms=d.busy_timeout_ms, synchronous=d.sqlite_synchronous,
                    cache_kib=d.sqlite_cache_kib, echo=d.echo)


def remembering(rt: Runtime) -> AbstractContextManager[None]:
    """One request's reads kept for the rest of it (the acting person, the unread count),
    forgotten at any unit of work (Database.remembering)."""
    return rt.db.remembering()
