"""Calendar feeds: secret addresses, and the releases a feed lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, TextClause, bindparam, column, func, or_, text
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from . import school_scope
from .models import Approval, CalendarFeed, Change, ReleasePlan, User

FEED_ROWS_MAX = 5_000


@dataclass(frozen=True)
class FeedRelease:
    ref: str
    title: str
    state: str
    workflow: str
    category: str
    updated_at: datetime
    window_start: datetime
    window_end: datetime
    sequence: int
    contact: str
    requester: str
    services: str  # affected service names, one per line
    change_id: int = 0
    version: int = 0
    school_id: int = 0


def add(session: Session, *, user_id: int, kind: str, token_hash: str, at: datetime) -> None:
    session.add(CalendarFeed(user_id=user_id, kind=kind, token_hash=token_hash, created_at=at))


def of_user(session: Session, user_id: int) -> list[CalendarFeed]:
    return list(session.exec(select(CalendarFeed).where(col(CalendarFeed.user_id) == user_id)
                             .order_by(col(CalendarFeed.id))).all())


def by_hash(session: Session, token_hash: str) -> CalendarFeed | None:
    return session.exec(select(CalendarFeed).where(col(CalendarFeed.token_hash) == token_hash)).first()


def revoke(session: Session, *, user_id: int, feed_id: int, at: datetime) -> str | None:
    """Revoke one of a user's feeds: its kind if it was live, "" if already revoked, None
    when the user has no such feed."""
    row = session.get(CalendarFeed, feed_id)
    if row is None or row.user_id != user_id:
        return None
    if row.revoked_at is not None:
        return ""
    row.revoked_at = at
    session.add(row)
    return row.kind


# Written out because SQLite, without statistics, reads the changes' rows rather than the
# narrow index holding all three columns (SQLAlchemy renders no table hint for it): with it,
# the version is read from two indexes alone, a tenth of the pages for a year's range.
_RANGE_VERSION = (
    "SELECT count(*), coalesce(sum(c.version), 0), coalesce(sum(c.id), 0), max(c.updated_at) "
    "FROM release_plans p{by_end} JOIN changes c{hint} ON c.id = p.change_id "
    "WHERE p.window_start IS NOT NULL AND p.window_end IS NOT NULL "
    "AND p.window_end > :since AND p.window_start < :until")
_WHEN = ReleasePlan.__table__.c.window_start.type  # type: ignore[attr-defined]
_MODIFIED = Change.__table__.c.updated_at  # type: ignore[attr-defined]


@cache
def _range_version(dialect: str) -> TextClause:
    sqlite = dialect == "sqlite"
    query = _RANGE_VERSION.format(hint=" INDEXED BY ix_changes_id_version" if sqlite else "",
                                  by_end=" INDEXED BY ix_release_plans_window_end" if sqlite else "")
    return text(query).bindparams(bindparam("since", type_=_WHEN), bindparam("until", type_=_WHEN))


def range_version(session: Session, *, since: datetime, until: datetime) -> tuple[Any, ...]:
    """What the changes with a window touching [since, until) are now, in one row: how many,
    the sum of their versions and ids (any save of one bumps its version; one moving in or
    out changes the count or the ids) and the newest modification. A cached schedule of the
    range is current while this is unchanged: a write elsewhere (another month) leaves it."""
    connection = session.connection()
    # Every school's: a number that only says whether a cached range is still current.
    row = connection.execute(_range_version(connection.dialect.name), {"since": since, "until": until},
                             execution_options={school_scope.TRUST_WIDE: True}).one()
    return tuple(row)


def in_states(states: Sequence[tuple[str, str]]) -> Any:
    """A change in one of these (workflow, state) pairs, compared as one string, which no
    index of the changes serves: the range of windows is the way in, so the rows read follow
    the range, never all changes in a state (closed ones pile up for ever)."""
    return (col(Change.workflow) + "\n" + col(Change.state)).in_([f"{wf}\n{st}" for wf, st in states])


# The window's start, in a form no index serves: "starts before the range ends" is every
# window since the school began, so SQLite must take the range by the window's end.
WINDOW_START = func.coalesce(ReleasePlan.window_start, ReleasePlan.window_start)


def _release_query() -> Any:
    """The releases' columns, each change with its plan and requester."""
    columns: list[Any] = [Change.ref, Change.title, Change.state, Change.workflow, Change.category,
                          Change.updated_at, ReleasePlan.window_start, ReleasePlan.window_end,
                          ReleasePlan.window_sequence, ReleasePlan.contact, User.name,
                          Change.affected_services, Change.id, Change.version, Change.school_id]
    return (core_select(*columns)
            .join(ReleasePlan, col(ReleasePlan.change_id) == col(Change.id))
            .join(User, col(User.id) == col(Change.requester_id)))


def releases(session: Session, *, since: datetime, until: datetime,
             states: Sequence[tuple[str, str]] | None = None,
             involving: int | None = None) -> list[FeedRelease]:
    """Changes with a release window touching [since, until): in the (workflow, state)
    pairs ``states`` (None: any), and
    when ``involving`` is given only those the person raised or decided on."""
    # The end leads (ix_release_plans_window_end): coalesce keeps the start, which would
    # read every window before the range's end, from leading instead, and no "IS NOT
    # NULL" is written (SQLite reads it as a range of the start: the whole index in
    # order); a window without both ends is out by the comparisons themselves.
    query = _release_query().where(col(ReleasePlan.window_end) > since, WINDOW_START < until)
    if states is not None:
        query = query.where(in_states(states))
    if involving is not None:
        decided = select(Approval.change_id).where(col(Approval.approver_id) == involving)
        # ``+ 0`` for the same reason: the range leads, not everything the person ever did.
        query = query.where(or_(col(Change.requester_id) + 0 == involving, col(Change.id).in_(decided)))
    # Through the connection: plain rows, without the ORM's per-row loading (a year is 5,000).
    # Sorted by the start as written in the row (the range's rows, never every window).
    rows = session.connection().execute(query.order_by(WINDOW_START, col(Change.id))
                                        .limit(FEED_ROWS_MAX)).all()
    return [FeedRelease(*row) for row in rows]


# The same two indexes as the range's version, row by row: which version of each change is there.
_RANGE_KEYS = _RANGE_VERSION.replace(
    "count(*), coalesce(sum(c.version), 0), coalesce(sum(c.id), 0), max(c.updated_at)",
    "c.id, c.version, c.updated_at")


@cache
def _range_keys(dialect: str) -> Any:
    sqlite = dialect == "sqlite"
    query = _RANGE_KEYS.format(hint=" INDEXED BY ix_changes_id_version" if sqlite else "",
                               by_end=" INDEXED BY ix_release_plans_window_end" if sqlite else "")
    return (text(query).bindparams(bindparam("since", type_=_WHEN), bindparam("until", type_=_WHEN))
            .columns(column("id", Integer), column("version", Integer), _MODIFIED))


def range_keys(session: Session, *, since: datetime, until: datetime) -> dict[int, tuple[int, datetime]]:
    """Each change (of every school) with a window touching [since, until): its id, with its
    version and modified time — what says whether a copy of its release read earlier is still
    as it is (a save moves both, a vote the time). For an unscoped session (a kept copy for
    every school, filtered later)."""
    connection = session.connection()
    rows = connection.execute(_range_keys(connection.dialect.name), {"since": since, "until": until}).all()
    return {cid: (version, modified) for cid, version, modified in rows}


_CHANGED = (core_select(col(Change.id), col(Change.version), _MODIFIED, col(ReleasePlan.window_start),
                        col(ReleasePlan.window_end))  # ix_changes_updated's stretch, each with its window
            .outerjoin(ReleasePlan, col(ReleasePlan.change_id) == col(Change.id))
            .where(_MODIFIED >= bindparam("since", type_=_MODIFIED.type)).order_by(_MODIFIED))


def changed_since(session: Session, since: datetime, *, limit: int) -> list[Any]:
    """Every school's changes modified at or after ``since`` (id, version, updated_at and the
    release window, if any), oldest first, at most ``limit``: from the newest stretch of the
    modified-time index. For an unscoped session."""
    return list(session.connection().execute(_CHANGED.limit(limit), {"since": since}).all())


def newest_change(session: Session) -> datetime | None:
    """When any change of any school was last modified (the end of the modified-time index)."""
    return session.connection().execute(core_select(func.max(Change.updated_at))).scalar_one()


def releases_of(session: Session, ids: Sequence[int]) -> list[FeedRelease]:
    """These changes' releases, as :func:`releases` reads them (ids without a plan: none)."""
    out: list[FeedRelease] = []
    for at in range(0, len(ids), 500):
        query = _release_query().where(col(Change.id).in_(ids[at:at + 500]))
        out += [FeedRelease(*row) for row in session.connection().execute(query).all()]
    return out


@dataclass(frozen=True)
class Maintenance:
    """A release as staff see it: what, when, which services, what to expect."""

    ref: str
    title: str
    window_start: datetime
    window_end: datetime
    services: str  # one per line
    effect: str  # the release plan's impact on users
    contact: str
    sequence: int
    updated_at: datetime


def maintenance(session: Session, *, since: datetime, until: datetime,
                states: Sequence[tuple[str, str]]) -> list[Maintenance]:
    """Releases in these (workflow, state) pairs with a window touching [since, until), by
    start: no cost, risk, requester or approvals."""
    if not states:
        return []
    columns: list[Any] = [Change.ref, Change.title, ReleasePlan.window_start, ReleasePlan.window_end,
                          Change.affected_services, ReleasePlan.impact, ReleasePlan.contact,
                          ReleasePlan.window_sequence, Change.updated_at]
    query = (core_select(*columns)
             .join(ReleasePlan, col(ReleasePlan.change_id) == col(Change.id))
             .where(col(ReleasePlan.window_start).is_not(None), col(ReleasePlan.window_end).is_not(None),
                    col(ReleasePlan.window_end) > since, col(ReleasePlan.window_start) < until,
                    in_states(states))
             .order_by(col(ReleasePlan.window_start), col(Change.id)).limit(FEED_ROWS_MAX))
    return [Maintenance(*row) for row in session.connection().execute(query).all()]
