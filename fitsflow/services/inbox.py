"""A person's in-app notifications: what delivery put in their inbox, read or unread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain.errors import NotFound
from ..persistence import inbox_store
from . import common
from .runtime import Runtime


@dataclass(frozen=True)
class Notice:
    id: int
    event: str
    change_ref: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None

    @property
    def unread(self) -> bool:
        return self.read_at is None


@dataclass(frozen=True)
class InboxPage:
    items: list[Notice]
    total: int
    unread: int
    limit: int
    offset: int


def my_notices(rt: Runtime, *, actor_id: int, limit: int = 50, offset: int = 0,
               unread_only: bool = False) -> InboxPage:
    """Notifications delivered to this person, newest first, with the counts."""
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        rows = inbox_store.page(session, actor_id, unread_only=unread_only, limit=limit, offset=offset)
        total, unread = inbox_store.counts(session, actor_id)
        items = [Notice(r.id, r.event, r.change_ref, r.subject, r.body, r.link, r.created_at, r.read_at)
                 for r in rows]
        return InboxPage(items, unread if unread_only else total, unread, limit, offset)


def unread_count(rt: Runtime, *, actor_id: int) -> int:
    with rt.db.read() as session:
        return inbox_store.counts(session, actor_id)[1]


def mark_read(rt: Runtime, *, actor_id: int, item_id: int | None = None) -> int:
    """Mark one notification read (NotFound if it is not this person's), or all of them."""
    with common.unit_of_work(rt) as session:
        common.load_actor(rt, session, actor_id)
        if item_id is not None and not inbox_store.owns(session, actor_id, item_id):
            raise NotFound("no such notification for you")
        return inbox_store.mark_read(session, actor_id, item_id=item_id, now=common.now())
