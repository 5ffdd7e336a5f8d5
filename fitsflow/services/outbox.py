"""What administrators see of delivery: counts, parked notices, and retrying them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from ..persistence import audit_store, outbox_store
from ..persistence.models import OutboxMessage, User
from .common import now, unit_of_work
from .runtime import Runtime


@dataclass(frozen=True)
class ParkedRow:
    id: int
    created_at: datetime
    channel: str
    event: str
    change_ref: str
    recipient: str
    subject: str
    attempts: int
    last_error: str


def status_counts(rt: Runtime) -> dict[str, int]:
    with rt.db.read() as session:
        rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: int(n) for status, n in rows.all()}


def parked(rt: Runtime, *, limit: int = 200) -> list[ParkedRow]:
    with rt.db.read() as session:
        query = (select(OutboxMessage, User.email)
                 .join(User, col(User.id) == col(OutboxMessage.recipient_id), isouter=True)
                 .where(OutboxMessage.status == outbox_store.PARKED)
                 .order_by(col(OutboxMessage.id)).limit(limit))
        return [ParkedRow(m.id or 0, m.created_at, m.channel, m.event, m.change_ref, email or "webhook",
                          m.subject, m.attempts, m.last_error) for m, email in session.exec(query).all()]


def retry(rt: Runtime, *, row_ids: list[int] | None, actor_label: str) -> int:
    """Queue parked notices again (these, or all); audited."""
    with unit_of_work(rt) as session:
        count = outbox_store.requeue(session, row_ids, now=now())
        if count:
            audit_store.append(session, actor=actor_label, change_ref="", event_type="outbox.retried",
                               payload={"rows": row_ids if row_ids is not None else "all parked",
                                        "count": count})
        return count
