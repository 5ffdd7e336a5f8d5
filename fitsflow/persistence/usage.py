"""Who is using the database: every server and worker holds a shared lock on it for as long
as it runs, and ``restore`` takes it exclusively — so a restore never replaces a database
that a server is writing to (a reference it issued in between would be issued again), and
nothing starts serving half-way through a restore.

SQLite: ``flock`` on a file beside the database (``school.db.in-use``), released by the
kernel when the process ends however it ends. PostgreSQL: a session-level advisory lock
on a connection of its own, released when that connection closes (or the process dies).
Each server worker process takes its own after the fork (a connection inherited from the
master would be closed by whichever process ended first)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .db import Database

# pg_advisory_lock's two keys: "fitf" in ASCII, and the schema the installation lives in
# (two installations in one database, each in its own schema, never hold each other up).
_PG_KEY = int.from_bytes(b"fitf", "big") & 0x7FFF_FFFF


class InUse(Exception):
    """The database is held by another process (a server, a worker, or a restore)."""


def lock_file(db: Database) -> Path | None:
    found = db.sqlite_file
    return found.with_name(found.name + ".in-use") if found else None


class UsageLock:
    """Held for a process's life (``shared``) or a restore's (``exclusive``)."""

    def __init__(self, db: Database):
        self.db = db
        self._fd: int | None = None
        self._connection: Any = None

    def _take(self, exclusive: bool) -> bool:
        path = lock_file(self.db)
        if path is not None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        if self.db.dialect != "postgresql":
            return True  # in memory: nobody else can see it
        # A connection of its own, outside the pool: closing it ends the lock, and disposing
        # of the pool (a restore does) does not.
        engine = create_engine(self.db.url, poolclass=NullPool)
        connection = engine.connect()
        function = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
        taken = connection.execute(text(f"SELECT {function}(:key, hashtext(coalesce(current_schema(), '')))"),
                                   {"key": _PG_KEY}).scalar()
        connection.commit()  # the lock is the session's, not the transaction's
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def shared(self) -> UsageLock:
        """For a server or worker: InUse while a restore runs."""
        if not self._take(exclusive=False):
            raise InUse(f"{self.db.display_url} is being restored: start again once the restore is done")
        return self

    def exclusive(self) -> UsageLock:
        """For a restore: InUse while any server or worker runs on the database."""
        if not self._take(exclusive=True):
            raise InUse(f"a fitsflow server or worker is using {self.db.display_url}: stop it "
                        "(and any 'fitsflow worker'), then restore")
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def __enter__(self) -> UsageLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
