"""A person's in-app notifications: what delivery put in their inbox, read or unread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..domain import cursor
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

    @property
    def summary(self) -> str:
        """One line for a list: what the notice says beyond whose change it is, its state
        and who acted (the subject already names the change)."""
        lines = [line.strip() for line in self.body.splitlines() if line.strip()]
        own = self.change_ref or "\0"
        plain = [line for line in lines if not line.startswith((own, "By: "))]
        told = [line for line in plain if not line.startswith("State: ")]
        return (told or plain or lines or [""])[0][:160]


@dataclass(frozen=True)
class InboxPage:
    items: list[Notice]
    total: int
    unread: int
    limit: int
    offset: int
    next_after: str = ""  # where the next page starts (domain.cursor)
    prev_before: str = ""  # where the page before ends

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total or self.more

    @property
    def more(self) -> bool:
        """Whether ``total`` is a lower bound (counted to the cap: there are more)."""
        return bool(getattr(self.total, "more", False))


POSITIONS = "inbox"  # the list a position of the inbox names (domain.cursor)


def my_notices(rt: Runtime, *, actor_id: int, limit: int = 50, offset: int = 0,
               unread_only: bool = False, after: str = "", before: str = "") -> InboxPage:
    """Notifications delivered to this person, newest first, with the counts. ``after`` /
    ``before``: the position (InboxPage.next_after/prev_before) the page starts after or ends
    before; ``offset`` then only says how far in that is."""
    after_id, before_id = cursor.ids(after, before, sort=POSITIONS)
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        rows, total, offset, earlier = inbox_store.page(
            session, actor_id, unread_only=unread_only, limit=limit, offset=offset, after=after_id,
            before=before_id)
        unread = rt.db.remembered(("unread", actor_id), lambda: inbox_store.unread(session, actor_id))
    items = [Notice(r.id, r.event, r.change_ref, r.subject, r.body, r.link, r.created_at, r.read_at)
             for r in rows]
    next_after, prev_before = cursor.either_side(POSITIONS, [i.id for i in items],
                                                 earlier=bool(offset or earlier))
    return InboxPage(items, total, unread, limit, offset, next_after, prev_before)


def open_notice(rt: Runtime, *, actor_id: int, item_id: int) -> Notice:
    """One notification in full; opening it marks it read."""
    with common.unit_of_work(rt) as session:
        common.load_actor(rt, session, actor_id)
        row = inbox_store.get(session, actor_id, item_id)
        if row is None:
            raise NotFound("no such notification for you")
        now = rt.now()
        if row.read_at is None:
            inbox_store.mark_read(session, actor_id, item_id=item_id, now=now)
        return Notice(row.id, row.event, row.change_ref, row.subject, row.body, row.link, row.created_at,
                      row.read_at or now)


def unread_count(rt: Runtime, *, actor_id: int) -> int:
    """How many of the person's notifications are unread (the badge on every page: read once a
    request, with the inbox's own count when the page shows it)."""
    def read() -> int:
        with rt.db.read() as session:
            return inbox_store.unread(session, actor_id)
    return rt.db.remembered(("unread", actor_id), read)


def mark_read(rt: Runtime, *, actor_id: int, item_id: int | None = None) -> int:
    """Mark one notification read (NotFound if it is not this person's), or all of them."""
    with common.unit_of_work(rt) as session:
        common.load_actor(rt, session, actor_id)
        if item_id is not None and not inbox_store.owns(session, actor_id, item_id):
            raise NotFound("no such notification for you")
        return inbox_store.mark_read(session, actor_id, item_id=item_id, now=rt.now())
