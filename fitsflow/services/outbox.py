"""What administrators see of delivery: counts, parked notices, and retrying them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..persistence import audit_store, outbox_store
from .common import unit_of_work
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
        return outbox_store.status_counts(session)


def parked(rt: Runtime, *, limit: int = 200) -> list[ParkedRow]:
    with rt.db.read() as session:
        return [ParkedRow(r.id, r.created_at, r.channel, r.event, r.change_ref, r.email or "webhook",
                          r.subject, r.attempts, r.last_error)
                for r in outbox_store.parked_rows(session, limit=limit)]


def retry(rt: Runtime, *, row_ids: list[int] | None, actor_label: str) -> int:
    """Queue parked notices again (these, or all); audited."""
    with unit_of_work(rt) as session:
        count = outbox_store.requeue(session, row_ids, now=rt.now())
        if count:
            audit_store.append(session, actor=actor_label, change_ref="", event_type="outbox.retried",
                               payload={"rows": row_ids if row_ids is not None else "all parked",
                                        "count": count})
        return count
