"""Telling people about their own account (a role given, a password set by someone else,
a token made) and administrators about security events: in-app, and by email when it
is on, through the outbox in the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from ..persistence import outbox_store


def tell(session: Session, user_ids: Iterable[int], *, subject: str, body: str, at: datetime,
         event: str = "account_changed", link: str = "/account") -> None:
    outbox_store.add(session, [{"created_at": at, "event": event, "change_ref": "", "recipient_id": uid,
                                "channel": "person", "subject": subject[:300], "body": body,
                                "payload": json.dumps({"link": link}), "available_at": at}
                               for uid in dict.fromkeys(user_ids)])
