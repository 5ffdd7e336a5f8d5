"""The outbox as a work queue: claim with a lease, then mark delivered, retry or park.

Claims are safe with several workers: on PostgreSQL rows are locked FOR UPDATE SKIP
LOCKED while the lease is written; on SQLite the claiming transaction holds the
write lock (BEGIN IMMEDIATE). A worker that dies keeps its rows only until the
lease runs out, so every row is delivered at least once."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ..domain import limits
from .models import Change, OutboxMessage, User, WorkerSlot

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]

PENDING, DELIVERED, PARKED, CANCELLED = "pending", "delivered", "parked", "cancelled"


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    event: str
    change_ref: str
    subject: str
    body: str
    payload: str
    attempts: int
    recipient_id: int | None
    recipient_name: str | None
    recipient_email: str | None
    created_at: datetime | None = None


def add(session: Session, rows: list[dict[str, Any]]) -> None:
    """Queue rows (created_at, event, change_ref, channel, recipient_id, subject, body,
    payload, available_at) in the caller's transaction."""
    if rows:
        session.connection().execute(_OUTBOX.insert(), [
            {**row, "status": PENDING, "attempts": 0, "last_error": ""} for row in rows])


def tell(session: Session, people: Iterable[int], *, event: str, subject: str, body: str, link: str,
         now: datetime) -> None:
    """Queue a message to each of ``people`` (in the app and by their channels), about something
    that is not a change (a proposal, a filtering request): its page is ``link``."""
    add(session, [{"created_at": now, "event": event, "change_ref": "", "recipient_id": uid,
                   "channel": "person", "subject": subject[:limits.NOTICE_SUBJECT], "body": body,
                   "payload": json.dumps({"link": link}), "available_at": now}
                  for uid in sorted(set(people))])


def claim(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due rows and lease them to the caller until now + lease."""
    due = and_(_OUTBOX.c.status == PENDING, _OUTBOX.c.available_at <= now,
               or_(_OUTBOX.c.lease_until.is_(None), _OUTBOX.c.lease_until < now))
    ids_query = select(_OUTBOX.c.id).where(due).order_by(_OUTBOX.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        ids_query = ids_query.with_for_update(skip_locked=True)
    connection = session.connection()
    ids = list(connection.execute(ids_query).scalars())
    if not ids:
        return []
    connection.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(ids))
                       .values(lease_until=now + lease, attempts=_OUTBOX.c.attempts + 1))
    rows = connection.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.channel, _OUTBOX.c.event, _OUTBOX.c.change_ref,
               _OUTBOX.c.subject, _OUTBOX.c.body, _OUTBOX.c.payload, _OUTBOX.c.attempts,
               _OUTBOX.c.recipient_id, _USERS.c.name.label("recipient_name"),
               _USERS.c.email.label("recipient_email"), _OUTBOX.c.created_at)
        .select_from(_OUTBOX.outerjoin(_USERS, _USERS.c.id == _OUTBOX.c.recipient_id))
        .where(_OUTBOX.c.id.in_(ids)).order_by(_OUTBOX.c.id)).all()
    return [Claimed(**row._mapping) for row in rows]


def delivered(session: Session, row_id: int, *, now: datetime) -> None:
    session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
        status=DELIVERED, delivered_at=now, lease_until=None, last_error=""))


def forget_text(session: Session, row_id: int, *, body: str) -> None:
    """Replace a sent row's text and link (a one-time link must not outlive its sending)."""
    session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(body=body,
                                                                                      payload="{}"))


def retry_later(session: Session, row_id: int, *, at: datetime, error: str) -> None:
    session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
        available_at=at, lease_until=None, last_error=error[:2000]))


def park(session: Session, row_id: int, *, error: str) -> None:
    session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
        status=PARKED, lease_until=None, last_error=error[:2000]))


def requeue(session: Session, row_ids: list[int] | None, *, now: datetime) -> int:
    """Put parked rows (all, or these) back in the queue with fresh attempts."""
    statement = update(_OUTBOX).where(_OUTBOX.c.status == PARKED)
    if row_ids is not None:
        statement = statement.where(_OUTBOX.c.id.in_(row_ids))
    result = session.connection().execute(statement.values(
        status=PENDING, attempts=0, available_at=now, lease_until=None))
    return int(result.rowcount or 0)


def cancel(session: Session, row_id: int, *, reason: str) -> None:
    """No longer needed (a reminder whose moment passed): kept, but never sent."""
    session.connection().execute(update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(
        status=CANCELLED, lease_until=None, last_error=reason[:2000]))


def change_state(session: Session, ref: str) -> tuple[str, str | None, str] | None:
    """(workflow, workflow version, state) of a change by reference."""
    row = session.connection().execute(
        select(_CHANGES.c.workflow, _CHANGES.c.workflow_version, _CHANGES.c.state)
        .where(_CHANGES.c.ref == ref)).first()
    return (row[0], row[1], row[2]) if row else None


def status_counts(session: Session) -> dict[str, int]:
    rows = session.connection().execute(select(_OUTBOX.c.status, func.count()).group_by(_OUTBOX.c.status))
    return {status: int(n) for status, n in rows}


def parked_rows(session: Session, *, limit: int) -> list[Any]:
    """Parked rows with the recipient's email (None for the webhook), oldest first."""
    return list(session.connection().execute(
        select(_OUTBOX.c.id, _OUTBOX.c.created_at, _OUTBOX.c.channel, _OUTBOX.c.event, _OUTBOX.c.change_ref,
               _USERS.c.email, _OUTBOX.c.subject, _OUTBOX.c.attempts, _OUTBOX.c.last_error)
        .select_from(_OUTBOX.outerjoin(_USERS, _USERS.c.id == _OUTBOX.c.recipient_id))
        .where(_OUTBOX.c.status == PARKED).order_by(_OUTBOX.c.id).limit(limit)))


def oldest_due(session: Session, *, now: datetime) -> datetime | None:
    """When the longest-waiting deliverable row became due (None if none is waiting)."""
    return session.connection().execute(
        select(func.min(_OUTBOX.c.available_at))
        .where(_OUTBOX.c.status == PENDING, _OUTBOX.c.available_at <= now)).scalar_one_or_none()


def renew(session: Session, row_ids: list[int], *, until: datetime) -> None:
    """Extend the lease of rows still being worked on (a long batch keeps them its own)."""
    if row_ids:
        still = and_(_OUTBOX.c.id.in_(row_ids), _OUTBOX.c.status == PENDING)
        session.connection().execute(update(_OUTBOX).where(still).values(lease_until=until))


_SLOTS = WorkerSlot.__table__  # type: ignore[attr-defined]


def take_slot(session: Session, *, holder: str, slots: int, now: datetime, until: datetime) -> int | None:
    """A delivery slot for ``holder``: the one it holds (renewed), else a free or expired
    one; None when all ``slots`` are held by others."""
    connection = session.connection()
    for slot in range(1, slots + 1):
        renewed = connection.execute(update(_SLOTS).where(
            _SLOTS.c.slot == slot, or_(_SLOTS.c.holder == holder, _SLOTS.c.until < now)).values(
            holder=holder, until=until)).rowcount
        if renewed:
            return slot
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        taken = connection.execute(insert(_SLOTS).values(slot=slot, holder=holder, until=until)
                                   .on_conflict_do_nothing(index_elements=["slot"])
                                   .returning(_SLOTS.c.slot)).first()  # not rowcount: PostgreSQL may say -1
        if taken is not None:
            return slot
    return None


def slot_holders(session: Session) -> list[str]:
    """Who holds the delivery slots now (expired or not)."""
    return [row[0] for row in session.connection().execute(select(_SLOTS.c.holder)).all()]


def release_slot(session: Session, *, holder: str) -> None:
    session.connection().execute(_SLOTS.delete().where(_SLOTS.c.holder == holder))
