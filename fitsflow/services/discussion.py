"""A discussion on each change, and the files it carries (issue 23.6).

Comments are Markdown (shown sanitised, as descriptions are); the change's requester,
co-owners, deciders and earlier commenters are told of each. Files (supplier quotes, DPIAs,
proposals, photos) are checked against attachments.types and max_kb, kept in the database
so backups and restores carry them, served only to those who may see the change and always
as a download; each upload and removal is an audit event carrying the file's SHA-256."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain import limits
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.text import text_field
from ..persistence import audit_store, discussion_store, outbox_store, owner_store, queries
from . import common
from .common import unit_of_work
from .ownership import owns
from .queues import Page
from .runtime import Runtime


@dataclass(frozen=True)
class CommentView:
    id: int
    author_name: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class FileView:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploader_name: str
    uploaded_at: datetime
    removed: bool
    may_remove: bool


def _comment(row: Any) -> CommentView:
    return CommentView(row.id, row.author_name, row.body, row.created_at)


def add_comment(rt: Runtime, *, actor_id: int, ref: str, body: str) -> CommentView:
    """Add to the discussion (anyone who may see the change); the requester, co-owners,
    deciders and earlier commenters are told."""
    problems: dict[str, str] = {}
    text = text_field({"body": body}, "body", problems, required=True, maximum=limits.TEXT, lines=True)
    if problems:
        raise InvalidInput(problems)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        now = rt.now()
        new_id = discussion_store.add_comment(
            session, change_id=change.id, author_id=actor.id, body=text, now=now
        )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type="comment.added",
            payload={"comment": new_id, "body": text},
        )
        people = {
            change.requester_id,
            *(uid for uid, _n, _e in owner_store.co_owners(session, change.id)),
            *queries.deciders_of(session, change.id),
            *discussion_store.commenters(session, change.id),
        }
        people.discard(actor.id)
        outbox_store.add(
            session,
            [
                {
                    "created_at": now,
                    "event": "commented",
                    "change_ref": change.ref,
                    "recipient_id": uid,
                    "channel": "person",
                    "subject": f"[{change.ref}] {actor.name} commented: {change.title}"[:300],
                    "body": f"{actor.name} on {change.ref}: {change.title}\n\n{text[:2000]}",
                    "payload": json.dumps({"link": f"/changes/{change.ref}#comment-{new_id}"}),
                    "available_at": now,
                }
                for uid in sorted(people)
            ],
        )
        return CommentView(new_id, actor.name, text, now)


def comments(
    rt: Runtime, *, actor_id: int, ref: str, limit: int = 25, offset: int = 0, newest_first: bool = False
) -> Page:
    """The discussion, oldest first (or newest first), paged."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        rows, total = discussion_store.comments(
            session, change.id, limit=limit, offset=offset, newest_first=newest_first
        )
        return Page([_comment(r) for r in rows], total, limit, offset)


_UNSAFE = re.compile(r"[^\w .()\-]+")


def _clean_name(name: str) -> str:
    """A file's name as it is kept and offered back: no folders, no control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE.sub("_", base).strip(" .")[: limits.TITLE]


def largest_kb(rt: Runtime) -> int:
    """The largest file taken: attachments.max_kb, within what one request may carry."""
    return min(rt.settings.attachments.max_kb, rt.settings.web.max_request_kb - 16)


def add_file(rt: Runtime, *, actor_id: int, ref: str, name: str, content: bytes) -> FileView:
    """Attach a file (anyone who may see the change and works on changes)."""
    settings = rt.settings.attachments
    clean = _clean_name(name)
    extension = clean.rsplit(".", 1)[-1].lower() if "." in clean else ""
    problems: dict[str, str] = {}
    if not clean:
        problems["file"] = "choose a file to attach"
    elif extension not in settings.types:
        problems["file"] = f"'{clean}' is not a kind of file a change takes: {', '.join(settings.types)}"
    elif not content:
        problems["file"] = f"'{clean}' is empty"
    elif len(content) > largest_kb(rt) * 1024:
        problems["file"] = f"'{clean}' is {len(content) // 1024:,} KB: the largest is {largest_kb(rt):,} KB"
    if problems:
        raise InvalidInput(problems)
    content_type = mimetypes.types_map.get(f".{extension}", "application/octet-stream")
    digest = hashlib.sha256(content).hexdigest()
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor, lock=True)  # uploads at once take turns
        if discussion_store.kept(session, change.id) >= settings.per_change:
            raise InvalidInput(
                {"file": f"{change.ref} carries {settings.per_change} files already: remove one first"}
            )
        now = rt.now()
        new_id = discussion_store.add_file(
            session,
            change_id=change.id,
            name=clean,
            content_type=content_type,
            content=content,
            sha256=digest,
            by=actor.id,
            now=now,
        )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type="attachment.added",
            payload={"attachment": new_id, "name": clean, "size": len(content), "sha256": digest},
        )
        return FileView(new_id, clean, content_type, len(content), digest, actor.name, now, False, True)


def files(rt: Runtime, *, actor_id: int, ref: str) -> list[FileView]:
    """The change's files (removed ones named as removed)."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        owner = owns(session, change, actor.id)
        return [
            FileView(
                r.id,
                r.name,
                r.content_type,
                r.size,
                r.sha256,
                r.uploader_name,
                r.uploaded_at,
                r.removed_at is not None,
                r.removed_at is None and (owner or r.uploaded_by == actor.id),
            )
            for r in discussion_store.files(session, change.id)
        ]


def download(rt: Runtime, *, actor_id: int, ref: str, file_id: int) -> tuple[str, str, bytes]:
    """(name, content type, content) of a file, for those who may see the change."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        row = discussion_store.file(session, change.id, file_id)
        if row is None or row.content is None:
            raise NotFound(f"no file {file_id} on {change.ref}")
        return row.name, row.content_type, bytes(row.content)


def remove_file(rt: Runtime, *, actor_id: int, ref: str, file_id: int) -> None:
    """Remove a file (its uploader, or the change's requester or a co-owner): the content goes,
    the record stays, the removal is audited with the file's SHA-256."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        row = discussion_store.file(session, change.id, file_id)
        if row is None or row.removed_at is not None:
            raise NotFound(f"no file {file_id} on {change.ref}")
        if row.uploaded_by != actor.id and not owns(session, change, actor.id):
            raise NotPermitted(
                "only the person who attached it, or the change's requester or a co-owner, removes a file"
            )
        if not discussion_store.remove_file(session, row.id, by=actor.id, now=rt.now()):
            raise NotFound(f"no file {file_id} on {change.ref}")  # removed by someone else first
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type="attachment.removed",
            payload={"attachment": row.id, "name": row.name, "sha256": row.sha256},
        )
