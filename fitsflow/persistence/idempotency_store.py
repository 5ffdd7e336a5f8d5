"""Idempotency keys of API writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .models import IdempotencyKey

_KEYS = IdempotencyKey.__table__  # type: ignore[attr-defined]


class Stored(NamedTuple):
    fingerprint: str
    status: int | None
    response: str
    location: str
    created_at: datetime
    holder: str


def claim(
    session: Session, *, user_id: int, key: str, fingerprint: str, now: datetime, expired_before: datetime,
    holder: str,
) -> Stored | None:
    """Take the key for a new request (None), or return what is stored under it. Expired
    keys of this person are forgotten first."""
    connection = session.connection()
    connection.execute(
        _KEYS.delete().where(and_(_KEYS.c.user_id == user_id, _KEYS.c.created_at < expired_before))
    )
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    taken = connection.execute(
        insert(_KEYS)
        .values(
            user_id=user_id,
            key=key,
            fingerprint=fingerprint,
            status=None,
            response="",
            location="",
            created_at=now,
            holder=holder,
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(_KEYS.c.key)  # not rowcount: PostgreSQL's driver may say -1 here
    ).first()
    if taken is not None:
        return None
    row = connection.execute(
        select(
            _KEYS.c.fingerprint, _KEYS.c.status, _KEYS.c.response, _KEYS.c.location, _KEYS.c.created_at,
            _KEYS.c.holder,
        ).where(_KEYS.c.user_id == user_id, _KEYS.c.key == key)
    ).one()
    return Stored(**row._mapping)


def take_over(session: Session, *, user_id: int, key: str, was: str, holder: str, now: datetime) -> bool:
    """Run the unanswered first request again, in this process (False: another retry took
    it first)."""
    result = session.connection().execute(
        _KEYS.update()
        .where(_KEYS.c.user_id == user_id, _KEYS.c.key == key, _KEYS.c.status.is_(None),
               _KEYS.c.holder == was)
        .values(holder=holder, created_at=now)
    )
    return result.rowcount == 1


def finish(connection: Any, *, user_id: int, key: str, status: int, response: str, location: str) -> None:
    connection.execute(
        _KEYS.update()
        .where(_KEYS.c.user_id == user_id, _KEYS.c.key == key)
        .values(status=status, response=response, location=location)
    )


def forget(connection: Any, *, user_id: int, key: str) -> None:
    connection.execute(_KEYS.delete().where(_KEYS.c.user_id == user_id, _KEYS.c.key == key))
