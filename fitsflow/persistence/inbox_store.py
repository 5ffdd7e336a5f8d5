"""The in-app inbox: written by delivery, read and marked read by its owner."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .counting import Stretch, newest_first
from .models import InboxItem

_INBOX = InboxItem.__table__  # type: ignore[attr-defined]


def deliver(session: Session, *, outbox_id: int, user_id: int, event: str, change_ref: str, subject: str,
            body: str, payload: str, now: datetime) -> None:
    """Put an outbox row in its recipient's inbox, once however often it is delivered."""
    try:
        link = str(json.loads(payload).get("link", ""))[:300]
    except (ValueError, AttributeError):
        link = ""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.connection().execute(insert(_INBOX).values(
        user_id=user_id, outbox_id=outbox_id, event=event, change_ref=change_ref, subject=subject,
        body=body, link=link, created_at=now).on_conflict_do_nothing(index_elements=["outbox_id"]))


def page(session: Session, user_id: int, *, unread_only: bool, limit: int, offset: int,
         after: int | None = None, before: int | None = None) -> Stretch:
    """A page of a person's items, newest first, with how many there are and its offset
    (from a position — the item id it starts after or ends before — as
    counting.newest_first reads it)."""
    query = select(_INBOX).where(_INBOX.c.user_id == user_id)
    if unread_only:
        query = query.where(_INBOX.c.read_at.is_(None))
    return newest_first(session.connection(), query, _INBOX.c.id, limit=limit, offset=offset, after=after,
                        before=before)


def unread(session: Session, user_id: int) -> int:
    """How many of a person's items are unread: read from the (user, read_at) index's stretch
    of unread rows alone (the badge on every page; a whole inbox is years of items)."""
    return int(session.connection().execute(
        select(func.count()).select_from(_INBOX)
        .where(_INBOX.c.user_id == user_id, _INBOX.c.read_at.is_(None))).scalar_one())


def mark_read(session: Session, user_id: int, *, item_id: int | None, now: datetime) -> int:
    """Mark one item (or, with None, every unread item) read; return how many changed."""
    statement = update(_INBOX).where(_INBOX.c.user_id == user_id, _INBOX.c.read_at.is_(None))
    if item_id is not None:
        statement = statement.where(_INBOX.c.id == item_id)
    return int(session.connection().execute(statement.values(read_at=now)).rowcount or 0)


def mark_read_linking(session: Session, user_id: int, *, link: str, now: datetime) -> int:
    """Mark read this person's items that lead to ``link`` (a release notice's copy in the
    inbox, once the notice itself is acknowledged: one read state per notice)."""
    statement = update(_INBOX).where(_INBOX.c.user_id == user_id, _INBOX.c.read_at.is_(None),
                                     _INBOX.c.link == link)
    return int(session.connection().execute(statement.values(read_at=now)).rowcount or 0)


def get(session: Session, user_id: int, item_id: int) -> Any:
    """One of this person's items (None if it is not theirs)."""
    return session.connection().execute(
        select(_INBOX).where(_INBOX.c.id == item_id, _INBOX.c.user_id == user_id)).first()


def owns(session: Session, user_id: int, item_id: int) -> bool:
    return session.connection().execute(
        select(_INBOX.c.id).where(_INBOX.c.id == item_id, _INBOX.c.user_id == user_id)).first() is not None
