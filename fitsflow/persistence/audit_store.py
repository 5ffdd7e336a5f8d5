"""Append to and read the hash-chained audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DDL, event
from sqlmodel import Session, col, select

from ..domain.chain import GENESIS, canonical, link_hash
from .models import AuditEvent, AuditHead

event.listen(
    AuditHead.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL(f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')"),
)

_HEAD_KEY = "fitsflow_audit_head"


def _locked_head(session: Session) -> AuditHead:
    """The chain head, locked for this transaction (row lock on PostgreSQL; on
    SQLite the transaction already holds the write lock)."""
    head = session.info.get(_HEAD_KEY)
    if head is None:
        head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        session.info[_HEAD_KEY] = head
    return head


def forget_head(session: Session) -> None:
    session.info.pop(_HEAD_KEY, None)


def append(session: Session, *, actor: str, change_ref: str, event_type: str,
           payload: dict[str, Any]) -> AuditEvent:
    """Add one event after the chain head, in the caller's transaction."""
    head = _locked_head(session)
    seq = head.seq + 1
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = canonical(payload)
    digest = link_hash(seq=seq, at=at, actor=actor, change_ref=change_ref,
                       event_type=event_type, payload=text, prev_hash=head.hash)
    row = AuditEvent(seq=seq, at=at, actor=actor, change_ref=change_ref, event_type=event_type,
                     payload=text, prev_hash=head.hash, hash=digest)
    session.add(row)
    head.seq = seq
    head.hash = digest
    session.add(head)
    return row


def head(session: Session) -> AuditHead:
    return session.exec(select(AuditHead).where(AuditHead.id == 1)).one()


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


def count(session: Session) -> int:
    from sqlalchemy import func

    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())
