"""A change's discussion and the files it carries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlmodel import Session

from .counting import Count, bounded
from .models import Attachment, Comment, User

_COMMENTS = Comment.__table__  # type: ignore[attr-defined]
_FILES = Attachment.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]

_COMMENT_ROWS = select(
    _COMMENTS.c.id,
    _COMMENTS.c.body,
    _COMMENTS.c.created_at,
    _COMMENTS.c.author_id,
    _USERS.c.name.label("author_name"),
).join_from(_COMMENTS, _USERS, _USERS.c.id == _COMMENTS.c.author_id)
# Everything but the content: a list never reads the files themselves.
_FILE_ROWS = select(
    _FILES.c.id,
    _FILES.c.name,
    _FILES.c.content_type,
    _FILES.c.size,
    _FILES.c.sha256,
    _FILES.c.uploaded_by,
    _FILES.c.uploaded_at,
    _FILES.c.removed_at,
    _USERS.c.name.label("uploader_name"),
).join_from(_FILES, _USERS, _USERS.c.id == _FILES.c.uploaded_by)


def add_comment(session: Session, *, change_id: int, author_id: int, body: str, now: datetime) -> int:
    return int(
        session.connection()
        .execute(
            insert(_COMMENTS)
            .values(change_id=change_id, author_id=author_id, body=body, created_at=now)
            .returning(_COMMENTS.c.id)
        )
        .scalar_one()
    )


def comments(
    session: Session, change_id: int, *, limit: int, offset: int, newest_first: bool = False
) -> tuple[Sequence[Any], Count]:
    order = _COMMENTS.c.id.desc() if newest_first else _COMMENTS.c.id
    connection = session.connection()
    rows = connection.execute(
        _COMMENT_ROWS.where(_COMMENTS.c.change_id == change_id).order_by(order).limit(limit).offset(offset)
    ).all()
    return rows, bounded(
        connection,
        select(_COMMENTS.c.id).where(_COMMENTS.c.change_id == change_id),
        offset=offset,
        limit=limit,
    )


def commenters(session: Session, change_id: int) -> list[int]:
    return list(
        session.connection()
        .execute(select(_COMMENTS.c.author_id).where(_COMMENTS.c.change_id == change_id).distinct())
        .scalars()
    )


def add_file(
    session: Session,
    *,
    change_id: int,
    name: str,
    content_type: str,
    content: bytes,
    sha256: str,
    by: int,
    now: datetime,
) -> int:
    return int(
        session.connection()
        .execute(
            insert(_FILES)
            .values(
                change_id=change_id,
                name=name,
                content_type=content_type,
                size=len(content),
                sha256=sha256,
                content=content,
                uploaded_by=by,
                uploaded_at=now,
            )
            .returning(_FILES.c.id)
        )
        .scalar_one()
    )


def files(session: Session, change_id: int) -> Sequence[Any]:
    """The change's files, removed ones too (their record stays), oldest first."""
    return (
        session.connection()
        .execute(_FILE_ROWS.where(_FILES.c.change_id == change_id).order_by(_FILES.c.id))
        .all()
    )


def kept(session: Session, change_id: int) -> int:
    return int(
        session.connection()
        .execute(
            select(func.count())
            .select_from(_FILES)
            .where(_FILES.c.change_id == change_id, _FILES.c.removed_at.is_(None))
        )
        .scalar_one()
    )


def file(session: Session, change_id: int, file_id: int) -> Any:
    """One file of the change, with its content (None once removed)."""
    return (
        session.connection()
        .execute(select(_FILES).where(_FILES.c.id == file_id, _FILES.c.change_id == change_id))
        .first()
    )


def remove_file(session: Session, file_id: int, *, by: int, now: datetime) -> bool:
    result = session.connection().execute(
        update(_FILES)
        .where(_FILES.c.id == file_id, _FILES.c.removed_at.is_(None))
        .values(content=None, removed_by=by, removed_at=now)
    )
    return bool(result.rowcount)
