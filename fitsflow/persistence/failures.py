"""Storage failures a person can act on: the disk is full, the database is read-only,
unreachable, busy or damaged. Each becomes a plain message with what to do — a 503 with
Retry-After on the web, one line and exit status 3 on the command line — rather than a
traceback or a generic 500."""

from __future__ import annotations

import errno
import sqlite3
import sys
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

FULL, READ_ONLY, UNREACHABLE, BUSY, DAMAGED = "full", "read_only", "unreachable", "busy", "damaged"
# What a database failure arrives as: the driver's error, wrapped by SQLAlchemy or not.
# (A pool with no free connection, or one found dead, raises SQLAlchemy's own.)
DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, sqlite3.Error, PoolTimeout, DisconnectionError)
# … and with the operating system's (a full or read-only disk met outside the driver).
STORAGE_ERRORS: tuple[type[Exception], ...] = (*DATABASE_ERRORS, OSError)


def _psycopg_lost() -> tuple[type[Exception], ...]:
    """psycopg's errors for a connection that failed, once psycopg is loaded: an error from it
    means it is. (Not imported here: a worker on SQLite would carry its 9 MB for nothing.)"""
    psycopg = sys.modules.get("psycopg")
    return (psycopg.OperationalError, psycopg.InterfaceError) if psycopg is not None else ()


@dataclass(frozen=True)
class StorageProblem:
    kind: str
    message: str  # for anyone: what is wrong
    action: str  # for whoever runs the server: what to do
    retry_after: int  # seconds a client should wait before trying again

    def line(self) -> str:
        return f"{self.message}: {self.action}"


_PROBLEMS = {
    FULL: StorageProblem(
        FULL,
        "The database's disk is full, so nothing can be saved",
        "free space on the disk that holds the database (nothing was half-saved)",
        120,
    ),
    READ_ONLY: StorageProblem(
        READ_ONLY,
        "The database is read-only, so nothing can be saved",
        "make the database file and its folder writable by the server's user (or the file system writable)",
        120,
    ),
    UNREACHABLE: StorageProblem(
        UNREACHABLE,
        "The database cannot be reached",
        "check that the database server is running and database.url is right",
        30,
    ),
    BUSY: StorageProblem(BUSY, "The database is busy", "try again in a moment", 5),
    DAMAGED: StorageProblem(
        DAMAGED,
        "The database file is damaged",
        "stop the server and restore the latest backup (fitsflow restore FILE)",
        300,
    ),
}

# (kind, fragments of the driver's message, SQLSTATE classes or codes) — SQLite reports in
# words, PostgreSQL by SQLSTATE.
_SIGNS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        FULL,
        (
            "database or disk is full",
            "no space left on device",
            "disk full",
            "could not extend file",
            "could not write",
        ),
        ("53100", "53"),
    ),
    (READ_ONLY, ("readonly database", "read-only", "read only"), ("25006",)),
    (DAMAGED, ("malformed", "file is not a database", "disk i/o error", "corrupt"), ("XX001", "XX002")),
    (
        BUSY,
        (
            "database is locked",
            "database table is locked",
            "lock timeout",
            "canceling statement due to lock timeout",
        ),
        ("55P03",),
    ),
    (
        UNREACHABLE,
        (
            "unable to open database file",
            "connection refused",
            "could not connect",
            "server closed the connection",
            "connection is closed",
            "terminating connection",
            "the database system is starting up",
            "the database system is shutting down",
            "no such host",
            "timeout expired",
        ),
        ("08", "57P01", "57P02", "57P03"),
    ),
)


def _sqlstate(err: BaseException) -> str:
    orig = getattr(err, "orig", None)
    return str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")


def classify(err: BaseException) -> StorageProblem | None:
    """The storage problem behind ``err`` (a driver or OS error), or None if it is not one."""
    if isinstance(err, OSError) and not isinstance(err, sqlite3.Error):
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return _PROBLEMS[FULL]
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return _PROBLEMS[READ_ONLY]
        if err.errno == errno.EIO:
            return _PROBLEMS[DAMAGED]
        return None
    if isinstance(err, PoolTimeout):
        return _PROBLEMS[BUSY]
    if isinstance(err, DisconnectionError):
        return _PROBLEMS[UNREACHABLE]
    if not isinstance(err, (DBAPIError, sqlite3.Error)):
        return None
    text = str(getattr(err, "orig", None) or err).lower()
    state = _sqlstate(err)
    for kind, fragments, states in _SIGNS:
        if any(f in text for f in fragments) or (state and any(state.startswith(s) for s in states)):
            return _PROBLEMS[kind]
    if isinstance(err, DBAPIError) and getattr(err, "connection_invalidated", False):
        return _PROBLEMS[UNREACHABLE]
    if _lost_connection(err):
        return _PROBLEMS[UNREACHABLE]
    return None


def _lost_connection(err: BaseException) -> bool:
    """A PostgreSQL driver error with no SQLSTATE from an operational or interface fault:
    the server never answered (psycopg words these many ways: "connection failed",
    "consuming input failed", "the connection is lost", an SSL error …)."""
    orig = getattr(err, "orig", None)
    return isinstance(orig, _psycopg_lost()) and not _sqlstate(err)
