"""Engine and transactions. SQLite writes take the write lock at BEGIN (IMMEDIATE),
so a read-then-write transaction never fails half-way with "database is locked"."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from ..clock import Clock
from . import audit_store, models, protection, school_scope, school_store  # noqa: F401  (tables, DDL and scope events)
from .db_hooks import BEFORE_COMMIT, CLOCK

T = TypeVar("T")

_READ_ONLY = "fitsflow_read_only"


def _sqlite_engine(url: str, busy_timeout_ms: int, synchronous: str, cache_kib: int) -> Engine:
    parsed = make_url(url)
    memory = parsed.database in (None, "", ":memory:")
    if not memory and parsed.database and not parsed.database.startswith("file:") \
            and not os.path.exists(parsed.database):
        # Readable by its owner only (SQLite gives its -wal and -shm files the same mode).
        os.close(os.open(parsed.database, os.O_RDWR | os.O_CREAT, 0o600))
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:
                pass  # a read-only copy (being verified, say) keeps the journal mode it has
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # SQLite's default is 2 MB a connection, and a server worker pools one connection per
        # thread (delivery's too), each caching what the operating system's file cache already
        # holds. bench/peer's request mix at 10,000 changes: 512 KiB kept each worker 5-6 MB
        # smaller (115-117 against 122 MB); decisions and lists within the runs' spread.
        cursor.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """An engine plus the two ways in: a write transaction and a read snapshot."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000, synchronous: str = "FULL",
                 cache_kib: int = 512, echo: bool = False, clock: Clock | None = None):
        self.url = url
        # The runtime's clock: the stores stamp rows (audit events) from it.
        self.clock = clock or Clock()
        if url.startswith("sqlite"):
            if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
                raise ValueError(f"unknown SQLite synchronous level '{synchronous}'")
            self.engine = _sqlite_engine(url, busy_timeout_ms, synchronous.upper(), cache_kib)
        else:
            self.engine = create_engine(url, pool_pre_ping=True)
        self.synchronous = synchronous.upper()  # SQLite's level, restored after a light write
        self.engine.echo = echo
        self.busy_timeout_ms = busy_timeout_ms
        self._read_engine = self.engine.execution_options(**{_READ_ONLY: True})
        self._local = threading.local()  # this thread's all-or-nothing connection, if any

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, and a SQLite file as its absolute path."""
        url = make_url(self.url)
        if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
            url = url.set(database=str(Path(url.database).resolve()))
        return url.render_as_string(hide_password=True)

    def after_fork(self) -> None:
        """In a child process: forget the parent's pooled connections without closing them."""
        self.engine.dispose(close=False)

    @property
    def sqlite_file(self) -> Path | None:
        """A SQLite database's file (None for PostgreSQL or in memory)."""
        url = make_url(self.url)
        if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
            return None
        return Path(str(url.database).removeprefix("file:").split("?", 1)[0]).resolve()

    @property
    def sqlite_folder(self) -> Path | None:
        """The folder holding a SQLite database file (None for PostgreSQL or in memory)."""
        found = self.sqlite_file
        return found.parent if found else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _session(self, engine: Engine, **options: Any) -> Session:
        bound: Connection | None = getattr(self._local, "connection", None)
        if bound is not None:  # inside all_or_nothing(): a savepoint of its transaction
            return Session(bind=bound, expire_on_commit=False, join_transaction_mode="create_savepoint",
                           info={CLOCK: self.clock}, **options)
        return Session(engine, expire_on_commit=False, info={CLOCK: self.clock}, **options)

    @contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Everything this thread does through this database until the block ends, in one
        transaction: each unit of work inside is a savepoint of it, and it commits at the
        end or rolls back entirely on any error (a full disk half-way through the demo
        leaves the database as it was). Writers elsewhere wait for it: keep it for set-up."""
        if getattr(self._local, "connection", None) is not None:
            raise RuntimeError("already inside all_or_nothing()")
        with self.engine.connect() as connection:
            outer = connection.begin()
            self._local.connection = connection
            try:
                yield
                outer.commit()
            except BaseException:
                outer.rollback()
                raise
            finally:
                self._local.connection = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit at the end, roll everything back on any error.

        Autoflush is off: pending changes are written once, at commit, where the
        optimistic-lock check then fails or succeeds as a whole. A service that must
        read back what it just added flushes explicitly."""
        self.forget()
        self._put_back_reading()
        session = self._session(self.engine, autoflush=False)
        try:
            yield session
            for hook in session.info.pop(BEFORE_COMMIT, ()):
                hook(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            self.forget()

    @contextmanager
    def remembering(self) -> Iterator[None]:
        """For one request on this thread: what :meth:`remembered` reads is read once (the acting
        person, loaded by every service a page calls; the unread count). Any unit of work
        forgets it all, before and after, so a request never sees what it wrote as it was."""
        self._local.memo = {}
        try:
            yield
        finally:
            self._local.memo = None
            reading: Connection | None = getattr(self._local, "reading", None)
            self._local.reading = None
            if reading is not None:
                reading.close()

    def remembered(self, key: Any, read: Callable[[], T]) -> T:
        """``read()``, once per request while :meth:`remembering` (else every time)."""
        memo: dict[Any, Any] | None = getattr(self._local, "memo", None)
        if memo is None:
            return read()
        if key not in memo:
            memo[key] = read()
        return memo[key]

    def forget(self) -> None:
        """What this request remembered (a write may have changed it)."""
        memo: dict[Any, Any] | None = getattr(self._local, "memo", None)
        if memo:
            memo.clear()

    def _put_back_reading(self) -> None:
        """Before a write takes a connection: the request's read connection, when no read is open
        on it, goes back to the pool (the next read takes one again). A thread then holds one
        connection at a time, as before reads shared one: with as many threads as the pool has
        connections, every thread holding its read connection while it waited for another to
        write would wait for ever (until the pool's timeout)."""
        reading: Connection | None = getattr(self._local, "reading", None)
        if reading is not None and not reading.in_transaction():
            self._local.reading = None
            reading.close()

    def _reading(self) -> Connection | None:
        """While :meth:`remembering`, the connection this request's reads share, each its own
        transaction on it: a page calling six services took a connection from the pool six
        times (each checked with a round trip on PostgreSQL). None where a read takes its own:
        outside a request, inside all_or_nothing(), or when a read is already open on it."""
        if getattr(self._local, "memo", None) is None or getattr(self._local, "connection", None) is not None:
            return None
        reading: Connection | None = getattr(self._local, "reading", None)
        if reading is None or reading.invalidated or reading.closed:
            reading = self._read_engine.connect()
            self._local.reading = reading
        return None if reading.in_transaction() else reading

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (no write lock taken on SQLite)."""
        reading = self._reading()
        session = self._session(self._read_engine) if reading is None else \
            Session(bind=reading, expire_on_commit=False, info={CLOCK: self.clock})
        try:
            yield session
        finally:
            if getattr(self._local, "connection", None) is not None:
                # Release, not roll back, its savepoint: units of work run while it was
                # open are savepoints inside it and must stay.
                session.commit()
            else:
                session.rollback()
            session.close()

    def try_write(self, work: Callable[[Connection], Any], *, wait_ms: int = 0, durable: bool = True) -> Any:
        """A short write that waits at most ``wait_ms`` behind another writer (by default
        not at all): it fails (raising) if the database stays busy. For bookkeeping a
        request can do without, and for the health probe. Returns what ``work`` returns.
        ``durable=False``: its commit does not wait for the disk (SQLite's synchronous NORMAL,
        PostgreSQL's synchronous_commit off). A power cut may lose it, never corrupt anything,
        and the next commit that waits takes it to the disk too: for counts and stamps, so an
        API write pays for one wait on the disk, not two."""
        bound: Connection | None = getattr(self._local, "connection", None)
        if bound is not None:
            with bound.begin_nested():
                return work(bound)
        self._put_back_reading()
        with self.engine.connect() as connection:
            raw: Any = connection.connection.dbapi_connection
            sqlite = self.dialect == "sqlite"
            if sqlite:
                raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
                if not durable:
                    raw.execute("PRAGMA synchronous=NORMAL")
            try:
                with connection.begin():
                    if not sqlite:
                        limit = max(int(wait_ms), 100)
                        connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{limit}ms'")
                        connection.exec_driver_sql(f"SET LOCAL statement_timeout = '{limit}ms'")
                        if not durable:  # this transaction only
                            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    return work(connection)
            finally:
                if sqlite:
                    try:
                        raw.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
                        if not durable:
                            raw.execute(f"PRAGMA synchronous={self.synchronous}")
                    except BaseException:
                        connection.invalidate()  # never back in the pool with the lighter setting
                        raise

    def create_all(self) -> None:
        """Create the tables directly (tests); production uses ``migrate``."""
        SQLModel.metadata.create_all(self.engine)
        with self.engine.begin() as connection:
            school_store.ensure_first(connection, self.clock.now())  # what migration 0053 inserts

    def drop_all(self) -> None:
        SQLModel.metadata.drop_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
