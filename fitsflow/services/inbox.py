"""A person's in-app notices: what the outbox addressed to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from ..persistence.models import OutboxMessage
from . import common
from .runtime import Runtime


@dataclass(frozen=True)
class Notice:
    id: int
    event: str
    change_ref: str
    subject: str
    body: str
    created_at: datetime


def my_notices(rt: Runtime, *, actor_id: int, limit: int = 50, offset: int = 0) -> tuple[list[Notice], int]:
    """Notices addressed to this person, newest first, with the total."""
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        mine = select(OutboxMessage).where(OutboxMessage.recipient_id == actor_id,
                                           OutboxMessage.channel == "person")
        total = session.exec(select(func.count()).select_from(mine.subquery())).one()
        rows = session.exec(mine.order_by(col(OutboxMessage.id).desc()).offset(offset).limit(limit)).all()
        return [Notice(r.id or 0, r.event, r.change_ref, r.subject, r.body, r.created_at)
                for r in rows], int(total)
