"""The database's schema: bring it up to date (``fitsflow init``, ``demo``), or say whether
it is (``serve`` refuses an old one)."""

from __future__ import annotations

from ..persistence.db import Database
from ..persistence.migrate import current_revision, head_revision, upgrade


def migrate(db: Database) -> tuple[str | None, str | None]:
    """Upgrade to the newest revision; (revision before, revision after)."""
    before = current_revision(db)
    upgrade(db)
    return before, current_revision(db)


def is_current(db: Database) -> bool:
    return current_revision(db) == head_revision(db)
