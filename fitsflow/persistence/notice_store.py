"""Release notices, receipts and acknowledgements: the statements behind
services.notices. Publication is set-based (INSERT … SELECT), so one release to
thousands of people is a handful of statements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import exists, func, literal, select, update
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from . import queries
from .counting import Stretch, newest_first
from .models import (
    Change,
    NoticeReceipt,
    OutboxMessage,
    ReleaseNotice,
    ReleasePlan,
    SchoolMember,
    User,
    UserAudience,
)

_NOTICES = ReleaseNotice.__table__  # type: ignore[attr-defined]
_RECEIPTS = NoticeReceipt.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_MEMBERS = UserAudience.__table__  # type: ignore[attr-defined]
_SCHOOL_MEMBERS = SchoolMember.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]
_PLANS = ReleasePlan.__table__  # type: ignore[attr-defined]

DRAFT, PUBLISHED, CANCELLED = "draft", "published", "cancelled"
# Held for the requester's word (it would publish too soon to be read first); not relevant
# to its audience (with a reason): neither is published.
HELD, NOT_RELEVANT = "held", "not_relevant"


def of_change(session: Session, change_id: int) -> list[Any]:
    """Every notice of a release (rows with the notice columns)."""
    return list(session.connection().execute(select(_NOTICES).where(_NOTICES.c.change_id == change_id)))


def get(session: Session, notice_id: int) -> Any | None:
    return session.connection().execute(select(_NOTICES).where(_NOTICES.c.id == notice_id)).first()


def add_draft(session: Session, *, change_id: int, audience: str, tier: str, subject: str, body: str,
              publish_at: datetime, now: datetime, school_id: int, status: str = DRAFT) -> None:
    session.connection().execute(_NOTICES.insert().values(
        change_id=change_id, audience=audience, tier=tier, subject=subject, body=body, status=status,
        publish_at=publish_at, recipients=0, updated_at=now, school_id=school_id))


def release(session: Session, notice_id: int, *, status: str, publish_at: datetime, note: str,
            now: datetime) -> None:
    """A held notice sent now or at a time (back to a draft), or marked not relevant."""
    session.connection().execute(update(_NOTICES).where(_NOTICES.c.id == notice_id)
                                 .values(status=status, publish_at=publish_at, note=note, updated_at=now))


def retime(session: Session, notice_id: int, *, publish_at: datetime, now: datetime,
           status: str | None = None) -> None:
    """A notice not yet published given a new time (and, with ``status``, held or not)."""
    session.connection().execute(update(_NOTICES).where(_NOTICES.c.id == notice_id)
                                 .values(publish_at=publish_at, updated_at=now,
                                         **({"status": status} if status is not None else {})))


def set_text(session: Session, notice_id: int, *, subject: str, body: str, now: datetime) -> None:
    session.connection().execute(update(_NOTICES).where(_NOTICES.c.id == notice_id)
                                 .values(subject=subject, body=body, updated_at=now))


def cancel(session: Session, notice_id: int, *, now: datetime) -> None:
    session.connection().execute(update(_NOTICES).where(_NOTICES.c.id == notice_id)
                                 .values(status=CANCELLED, updated_at=now))


def next_due(session: Session, now: datetime) -> Any | None:
    """The oldest draft due for publication, locked (skipped by other workers on PostgreSQL)."""
    return session.connection().execute(
        select(_NOTICES).where(_NOTICES.c.status == DRAFT, _NOTICES.c.publish_at <= now)
        .order_by(_NOTICES.c.publish_at, _NOTICES.c.id).limit(1).with_for_update(skip_locked=True)).first()


def change_of(session: Session, change_id: int) -> Any:
    """(workflow, workflow_version, state, ref) of the notice's change."""
    return session.connection().execute(
        select(_CHANGES.c.workflow, _CHANGES.c.workflow_version, _CHANGES.c.state, _CHANGES.c.ref)
        .where(_CHANGES.c.id == change_id)).one()


def link_of(notice_id: int) -> str:
    """Where a received notice is read (its inbox copy leads there)."""
    return f"/notices/{notice_id}"


def publish(session: Session, notice: Any, *, ref: str, richer: Sequence[str], now: datetime) -> int:
    """Give a receipt and an outbox row to every active member of the notice's audience who
    has no notice for this release yet and is in no more detailed audience; mark it
    published; return how many people it reached."""
    connection = session.connection()
    members, other = _MEMBERS.alias("m"), _MEMBERS.alias("o")
    eligible = (
        select(literal(notice.change_id), literal(notice.id), members.c.user_id, literal(now, UTCDateTime()))
        .select_from(members.join(_USERS, _USERS.c.id == members.c.user_id))
        .where(members.c.audience == notice.audience, _USERS.c.active.is_(True),
               ~exists().where(_RECEIPTS.c.change_id == notice.change_id,
                               _RECEIPTS.c.user_id == members.c.user_id),
               # The people of the notice's school: another school's staff never get it (a
               # trust-wide change has a notice for each school; whoever works in two gets the
               # first published, once: the receipt above).
               exists().where(_SCHOOL_MEMBERS.c.user_id == members.c.user_id,
                              _SCHOOL_MEMBERS.c.school_id == notice.school_id)))
    if richer:
        eligible = eligible.where(~exists().where(other.c.user_id == members.c.user_id,
                                                  other.c.audience.in_(list(richer))))
    connection.execute(_RECEIPTS.insert().from_select(
        ["change_id", "notice_id", "user_id", "created_at"], eligible))
    # (rowcount of INSERT … SELECT is not reported by every driver)
    people = connection.execute(select(func.count()).select_from(_RECEIPTS)
                                .where(_RECEIPTS.c.notice_id == notice.id)).scalar_one()
    payload = json.dumps({"event": "release_notice", "ref": ref, "link": link_of(notice.id or 0)},
                         sort_keys=True)
    connection.execute(_OUTBOX.insert().from_select(
        ["created_at", "event", "change_ref", "recipient_id", "subject", "body", "payload", "status",
         "attempts", "available_at", "last_error", "channel"],
        select(_RECEIPTS.c.created_at, literal("release_notice"), literal(ref), _RECEIPTS.c.user_id,
               literal(notice.subject), literal(notice.body), literal(payload), literal("pending"),
               literal(0), _RECEIPTS.c.created_at, literal(""), literal("person"))
        .where(_RECEIPTS.c.notice_id == notice.id)))
    connection.execute(update(_NOTICES).where(_NOTICES.c.id == notice.id).values(
        status=PUBLISHED, published_at=now, recipients=people, updated_at=now))
    return int(people)


def receipt_counts(session: Session, change_id: int) -> dict[int, tuple[int, int]]:
    """Notice id → (acknowledged, not yet) for a release: counted, not listed (a parents'
    notice has thousands of readers, and the change page shows only the numbers)."""
    acked = _RECEIPTS.c.acknowledged_at.is_not(None)
    rows = session.connection().execute(
        select(_RECEIPTS.c.notice_id, acked, func.count())
        .where(_RECEIPTS.c.change_id == change_id).group_by(_RECEIPTS.c.notice_id, acked))
    counts: dict[int, list[int]] = {}
    for notice_id, done, n in rows:
        counts.setdefault(notice_id, [0, 0])[0 if done else 1] = int(n)
    return {k: (v[0], v[1]) for k, v in counts.items()}


def reader_names(session: Session, notice_id: int, *, acknowledged: bool, q: str = "",
                 limit: int | None = None, offset: int = 0) -> tuple[list[str], int]:
    """Who has (or has not) acknowledged one notice, by name, matching ``q``: a page of
    names and how many match."""
    done = _RECEIPTS.c.acknowledged_at
    where = [_RECEIPTS.c.notice_id == notice_id, done.is_not(None) if acknowledged else done.is_(None)]
    if q:
        where.append(func.lower(_USERS.c.name).like(queries.contains(q), escape="\\"))
    joined = _RECEIPTS.join(_USERS, _USERS.c.id == _RECEIPTS.c.user_id)
    connection = session.connection()
    names = connection.execute(select(_USERS.c.name).select_from(joined).where(*where)
                               .order_by(_USERS.c.name, _USERS.c.id).limit(limit).offset(offset)).scalars()
    total = connection.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
    return list(names), int(total)


def _received() -> Any:
    return (select(_NOTICES.c.id.label("notice_id"), _CHANGES.c.ref.label("change_ref"), _NOTICES.c.subject,
                   _NOTICES.c.body, _RECEIPTS.c.created_at.label("received_at"), _RECEIPTS.c.acknowledged_at,
                   _NOTICES.c.correction, _NOTICES.c.corrected_at, _RECEIPTS.c.id.label("receipt_id"))
            .select_from(_RECEIPTS.join(_NOTICES, _NOTICES.c.id == _RECEIPTS.c.notice_id)
                         .join(_CHANGES, _CHANGES.c.id == _RECEIPTS.c.change_id)))


def received_page(session: Session, user_id: int, *, limit: int, offset: int = 0, after: int | None = None,
                  before: int | None = None) -> Stretch:
    """Notices a person received, newest first (rows as :func:`received`), with how many and
    the page's offset: from a position (the receipt id it starts after or ends before) as
    counting.newest_first reads it."""
    return newest_first(session.connection(), _received().where(_RECEIPTS.c.user_id == user_id),
                        _RECEIPTS.c.id, limit=limit, offset=offset, after=after, before=before,
                        key="receipt_id")


def received(session: Session, user_id: int, *, notice_id: int) -> list[Any]:
    """One notice a person received (none if they did not): a row of notice_id, change_ref,
    subject, body, received_at, acknowledged_at, the latest correction and when, receipt_id."""
    return list(session.connection().execute(
        _received().where(_RECEIPTS.c.user_id == user_id, _RECEIPTS.c.notice_id == notice_id)
        .order_by(_RECEIPTS.c.id.desc()).limit(1)))


def acknowledge(session: Session, *, notice_id: int, user_id: int, now: datetime) -> str | None:
    """Mark a receipt acknowledged; the change's ref when it was newly acknowledged,
    "" when it already was, None when the person has no such notice."""
    connection = session.connection()
    # The change first: one the person no longer sees (they left its school) is not theirs
    # to acknowledge, as a notice they never had is not.
    ref = connection.execute(
        select(_CHANGES.c.ref).join(_NOTICES, _NOTICES.c.change_id == _CHANGES.c.id)
        .where(_NOTICES.c.id == notice_id)).scalar_one_or_none()
    if ref is None:
        return None
    result = connection.execute(
        update(_RECEIPTS).where(_RECEIPTS.c.notice_id == notice_id, _RECEIPTS.c.user_id == user_id,
                                _RECEIPTS.c.acknowledged_at.is_(None))
        .values(acknowledged_at=now))
    if result.rowcount != 1:
        found = connection.execute(select(_RECEIPTS.c.id).where(
            _RECEIPTS.c.notice_id == notice_id, _RECEIPTS.c.user_id == user_id)).first()
        return "" if found is not None else None
    return str(ref)


def correct(session: Session, *, change_id: int, ref: str, subject: str, body: str, correction: str,
            now: datetime) -> int:
    """One outbox message to each person who received a notice of this release (a person in
    several audiences received one): the release moved or was postponed; and ``correction``
    on each notice already published. Returns how many people are told."""
    connection = session.connection()
    people = select(_RECEIPTS.c.user_id).where(_RECEIPTS.c.change_id == change_id).distinct().subquery()
    # The notices already out carry it too: whoever opens one reads the release as it now is.
    connection.execute(update(_NOTICES)
                       .where(_NOTICES.c.change_id == change_id, _NOTICES.c.status == PUBLISHED)
                       .values(correction=correction, corrected_at=now))
    payload = json.dumps({"event": "release_corrected", "ref": ref, "link": "/notices"}, sort_keys=True)
    connection.execute(_OUTBOX.insert().from_select(
        ["created_at", "event", "change_ref", "recipient_id", "subject", "body", "payload", "status",
         "attempts", "available_at", "last_error", "channel"],
        select(literal(now, UTCDateTime()), literal("release_corrected"), literal(ref), people.c.user_id,
               literal(subject), literal(body), literal(payload), literal("pending"), literal(0),
               literal(now, UTCDateTime()), literal(""), literal("person"))))
    return int(connection.execute(select(func.count()).select_from(people)).scalar_one())


def next_publish_at(session: Session, until: datetime) -> datetime | None:
    """When the earliest draft due by ``until`` is to be published (None: none is)."""
    found = session.connection().execute(
        select(_NOTICES.c.publish_at).where(_NOTICES.c.status == DRAFT, _NOTICES.c.publish_at <= until)
        .order_by(_NOTICES.c.publish_at).limit(1)).scalar()
    return cast(datetime | None, found)
