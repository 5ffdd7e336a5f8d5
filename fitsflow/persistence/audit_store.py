"""Append to and read the hash-chained audit trail."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import DDL, bindparam, event
from sqlalchemy import select as core_select
from sqlmodel import Session, col, func, select

from ..domain import events
from ..domain.chain import GENESIS, canonical, link_hash
from . import school_scope, search_store
from .db_hooks import BEFORE_COMMIT, clock_now
from .models import AuditCheckpoint, AuditEvent, AuditHead

event.listen(
    AuditHead.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')"),
)

_HEAD_KEY = "fitsflow_audit_head"
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
_INSERT = _EVENTS.insert()
_LOCK_HEAD = core_select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()


def _save_head(stale: frozenset[str]) -> Any:
    """The head's update, moving the versions of the cached reads ``stale`` with it."""
    reads: dict[str, Any] = {f"{name}_{part}": bindparam(key) for name in sorted(stale)
                             for part, key in (("seq", "s"), ("hash", "h"))}
    return _HEAD.update().where(_HEAD.c.id == 1).values(seq=bindparam("s"), hash=bindparam("h"), **reads)


_SAVE_HEAD = {stale: _save_head(stale) for stale in (frozenset(), frozenset(events.READS),
                                                     *(frozenset({name}) for name in events.READS))}


class _Head:
    """The chain head as this transaction sees it, and the events appended after it;
    both are written once, just before commit (one executemany, one update)."""

    __slots__ = ("seq", "hash", "pending", "stale")

    def __init__(self, seq: int, digest: str):
        self.seq, self.hash = seq, digest
        self.pending: list[dict[str, Any]] = []
        self.stale: set[str] = set()  # the cached reads these events change (their kinds say)

    def save(self, session: Session) -> None:
        if not self.pending:
            return
        connection = session.connection()
        connection.execute(_INSERT, self.pending)
        stale = frozenset(self.stale)
        query = _SAVE_HEAD[stale] if stale in _SAVE_HEAD else _save_head(stale)
        connection.execute(query, {"s": self.seq, "h": self.hash})
        self.pending, self.stale = [], set()


def _locked_head(session: Session) -> _Head:
    """The chain head, locked for this transaction (row lock on PostgreSQL; on SQLite
    the transaction already holds the write lock)."""
    head = session.info.get(_HEAD_KEY)
    if head is None:
        seq, digest = session.connection().execute(_LOCK_HEAD).one()
        head = _Head(seq, digest)
        session.info[_HEAD_KEY] = head
        session.info.setdefault(BEFORE_COMMIT, []).append(head.save)
    return head


# An event's payload is capped: long texts keep their start and a digest of the whole, so
# the trail shows what changed without one edit filling the disk.
PAYLOAD_TEXT_MAX = 2_000


def _capped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > PAYLOAD_TEXT_MAX:
        digest = hashlib.sha256(value.encode()).hexdigest()
        return f"{value[:PAYLOAD_TEXT_MAX]}… [{len(value)} characters in all, sha256 {digest}]"
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_capped(v) for v in value]
    return value


def append(session: Session, *, actor: str, change_ref: str, event_type: str,
           payload: dict[str, Any]) -> str:
    """Add one event after the chain head, in the caller's transaction; return its hash."""
    kind = events.check(event_type, payload)  # only a declared kind, with its payload's keys
    if change_ref and kind.touches_text(payload):
        search_store.mark(session, change_ref)
    head = _locked_head(session)
    seq = head.seq + 1
    at = clock_now(session).isoformat(timespec="microseconds")
    text = canonical(_capped(payload))
    digest = link_hash(seq=seq, at=at, actor=actor, change_ref=change_ref,
                       event_type=event_type, payload=text, prev_hash=head.hash)
    # Written at commit with the head: an event is never read back in its own transaction.
    head.pending.append({"seq": seq, "at": at, "actor": actor, "change_ref": change_ref,
                         "event_type": event_type, "payload": text, "prev_hash": head.hash,
                         "hash": digest})
    head.seq, head.hash = seq, digest
    head.stale |= kind.reads
    return digest


def head(session: Session) -> AuditHead:
    return session.exec(select(AuditHead).where(AuditHead.id == 1)).one()


_ROW_COLUMNS = (_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.change_ref, _EVENTS.c.event_type,
                _EVENTS.c.payload, _EVENTS.c.prev_hash, _EVENTS.c.hash)


def iter_rows(session: Session, *, change_ref: str | None = None, after_seq: int = 0,
              batch: int = 5000, seen_only: bool = False) -> Iterator[tuple[Any, ...]]:
    """Events as plain tuples (seq, at, actor, change_ref, event_type, payload, prev_hash,
    hash) in seq order, a batch at a time: constant memory, no ORM objects. ``seen_only``:
    leave out the events of changes the session does not see (another school's: the changes
    read here are scoped, persistence.school_scope) — never for checking the chain."""
    connection = session.connection()
    last = after_seq
    seen = school_scope.seen(session, _EVENTS.c.change_ref) if seen_only else []
    while True:
        query = core_select(*_ROW_COLUMNS).where(_EVENTS.c.seq > last)
        if change_ref is not None:
            query = query.where(_EVENTS.c.change_ref == change_ref)
        query = query.where(*seen)
        rows = connection.execute(query.order_by(_EVENTS.c.seq).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield tuple(row)
        last = rows[-1][0]


def hash_at(session: Session, seq: int) -> str | None:
    """The stored hash of event ``seq`` (None if there is none)."""
    return session.connection().execute(
        core_select(_EVENTS.c.hash).where(_EVENTS.c.seq == seq)).scalar_one_or_none()


_CHECKPOINT = AuditCheckpoint.__table__  # type: ignore[attr-defined]


class Checkpoint(NamedTuple):
    seq: int
    hash: str
    verified_at: datetime
    full_at: datetime | None


def checkpoint(session: Session) -> Checkpoint | None:
    """How far the chain was last verified, as plain values (None before the first check)."""
    row = session.connection().execute(
        core_select(_CHECKPOINT.c.seq, _CHECKPOINT.c.hash, _CHECKPOINT.c.verified_at, _CHECKPOINT.c.full_at)
        .where(_CHECKPOINT.c.id == 1)).first()
    return Checkpoint(*row) if row else None


def save_checkpoint(connection: Any, *, seq: int, digest: str, at: datetime, full: bool) -> None:
    """Record how far the chain holds (a later check starts there); never moves it back."""
    row = connection.execute(core_select(_CHECKPOINT.c.seq).where(_CHECKPOINT.c.id == 1)).first()
    values: dict[str, Any] = {"seq": seq, "hash": digest, "verified_at": at}
    if full:
        values["full_at"] = at
    if row is None:
        connection.execute(_CHECKPOINT.insert().values(id=1, **values))
    elif row[0] <= seq:
        connection.execute(_CHECKPOINT.update().where(_CHECKPOINT.c.id == 1).values(**values))


def iter_events(session: Session, *, change_ref: str | None = None, after_seq: int = 0,
                batch: int = 2000) -> Iterator[AuditEvent]:
    """Events in seq order, fetched in batches so memory stays flat."""
    last = after_seq
    while True:
        query = select(AuditEvent).where(AuditEvent.seq > last)
        if change_ref is not None:
            query = query.where(AuditEvent.change_ref == change_ref)
        rows = session.exec(query.order_by(col(AuditEvent.seq)).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def of_types(session: Session, types: tuple[str, ...], *, since: str, until: str, limit: int,
             offset: int) -> tuple[list[AuditEvent], dict[str, int]]:
    """Events of these types with ``since <= at < until`` (ISO text in UTC), newest first,
    and how many of each type in the range."""
    where = (col(AuditEvent.event_type).in_(types), col(AuditEvent.at) >= since, col(AuditEvent.at) < until,
             *school_scope.seen(session, _EVENTS.c.change_ref))
    counts = session.exec(select(AuditEvent.event_type, func.count()).where(*where)
                          .group_by(col(AuditEvent.event_type))).all()
    rows = session.exec(select(AuditEvent).where(*where).order_by(col(AuditEvent.seq).desc())
                        .limit(limit).offset(offset)).all()
    return list(rows), {t: n for t, n in counts}


_OF_CHANGE = (core_select(_EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.event_type,
                          _EVENTS.c.payload)
              .where(_EVENTS.c.change_ref == bindparam("ref")).order_by(_EVENTS.c.seq))


def of_template(session: Session, ref: str, *, leave_out: str) -> list[Any]:
    """A template's decisions as ``of_change`` rows, without its uses (``leave_out``: they
    are listed on their own, and a busy template has thousands)."""
    return list(session.connection().execute(
        _OF_CHANGE.where(_EVENTS.c.event_type != leave_out), {"ref": ref}))


def of_change(session: Session, ref: str) -> list[Any]:
    """A change's events as (seq, at, actor, event_type, payload) rows, oldest first: read on
    every change page view, so a statement built once and no ORM objects."""
    return list(session.connection().execute(_OF_CHANGE, {"ref": ref}))
