"""Servers and workers hold the database while they run, so a restore never replaces it
under them (``fitsflow.persistence.usage``); here for the command line."""

from __future__ import annotations

from ..domain.errors import FitsflowError
from ..persistence.db import Database
from ..persistence.usage import InUse, UsageLock


class Restoring(FitsflowError):
    """The database is being restored: nothing may start on it until that is done."""


def hold(db: Database) -> UsageLock:
    """Hold the database for as long as this process runs (a server worker, a worker)."""
    try:
        return UsageLock(db).shared()
    except InUse as err:
        raise Restoring(str(err)) from None


def refuse_while_restoring(db: Database) -> None:
    """Restoring when asked: say so now, once, rather than from each server worker."""
    hold(db).release()
