"""Changes as plain records: loaded with one statement, saved whole with one version-checked
UPDATE just before commit when anything in them changed (or they were touched). The hot
path (a decision) needs no ORM unit of work."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    String,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    true,
    tuple_,
    union_all,
)
from sqlalchemy import select as core_select
from sqlmodel import Session

from ..domain import cursor, limits
from ..domain.cursor import Position
from ..domain.errors import Stale
from . import counting, owner_store, queue_store, school_scope, search_store
from .db_hooks import BEFORE_COMMIT, clock_now
from .models import Approval, Change, ChangeService, GateReminder, GateRequirement, User

_CHANGES = Change.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]
_SERVICES = ChangeService.__table__  # type: ignore[attr-defined]
_REQUIREMENTS = GateRequirement.__table__  # type: ignore[attr-defined]
_REMINDERS = GateReminder.__table__  # type: ignore[attr-defined]
_FIELDS = ("id", "ref", "title", "description", "category", "workflow", "requester_id",
           "affected_services", "state", "version", "approval_round", "horizon_years", "parent_id",
           "created_at", "updated_at", "urgency", "template_id", "workflow_version", "planned_cost",
           "emergency_purpose", "school_id")
# What a saved change may have changed: everything but its identity, birth and school.
_SAVED = tuple(name for name in _FIELDS if name not in ("id", "ref", "created_at", "version", "school_id"))


@dataclass(slots=True)
class ChangeRecord:
    id: int
    ref: str
    title: str
    description: str
    category: str
    workflow: str
    requester_id: int
    affected_services: str
    state: str
    version: int
    approval_round: int
    horizon_years: int
    parent_id: int | None
    created_at: datetime
    updated_at: datetime
    urgency: str = ""
    template_id: int | None = None
    workflow_version: str | None = None
    planned_cost: Decimal = Decimal(0)  # the planned cost lines' total (stage_store.replace_cost_lines)
    emergency_purpose: str = ""  # restore | protect (an emergency's)
    school_id: int = 1  # the school it belongs to (schools)
    requester_name: str = ""
    touched: bool = field(default=False, compare=False)
    saved: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as last read or written

    def persisted(self) -> dict[str, Any]:
        """The fields a save writes, as they are now."""
        return {name: getattr(self, name) for name in _SAVED}

    @property
    def dirty(self) -> bool:
        """Saved at commit: touched (a version bump on purpose) or any field changed since it
        was tracked (a listed record, never tracked, is never saved)."""
        return self.touched or (bool(self.saved) and self.persisted() != self.saved)

    @property
    def committed_version(self) -> int:
        """The version this change has once its transaction commits (a changed record is
        saved with the next one)."""
        return self.version + 1 if self.dirty else self.version


_COLUMNS = (*[_CHANGES.c[name] for name in _FIELDS], _USERS.c.name.label("requester_name"))
_FROM = _CHANGES.join(_USERS, _USERS.c.id == _CHANGES.c.requester_id)
_SELECT = core_select(*_COLUMNS).select_from(_FROM)
_BY_REF = _SELECT.where(_CHANGES.c.ref == bindparam("ref"))
# The change's row locked till commit (PostgreSQL; SQLite's writer already holds the lock).
_BY_REF_LOCKED = _BY_REF.with_for_update(of=_CHANGES)
_SAVES: dict[frozenset[str], Any] = {}


def _save_statement(columns: frozenset[str]) -> Any:
    """The version-checked UPDATE writing these columns (and the version), built once per set:
    a save writes what changed, so the database touches no index of a column that did not."""
    statement = _SAVES.get(columns)
    if statement is None:
        statement = _SAVES[columns] = (
            _CHANGES.update()
            .where(_CHANGES.c.id == bindparam("_id"), _CHANGES.c.version == bindparam("_version"))
            .values({**{name: bindparam(name) for name in sorted(columns)},
                     "version": bindparam("new_version")}))
    return statement
_INSERT = _CHANGES.insert().returning(_CHANGES.c.id)


def _record(row: Any) -> ChangeRecord:
    return ChangeRecord(**row._mapping)


def _save(record: ChangeRecord, session: Session) -> None:
    if not record.dirty:
        return
    if not record.touched and record.updated_at == record.saved.get("updated_at"):
        record.updated_at = clock_now(session)  # changed without touch(): modified now all the same
    now = record.persisted()
    # Every field is compared with the record as read (a field set without telling anyone is
    # saved all the same); only those that differ are written, with the modified time.
    changed = frozenset(name for name, value in now.items()
                        if name == "updated_at" or value != record.saved.get(name, object()))
    values = {**{name: now[name] for name in changed}, "_id": record.id, "_version": record.version,
              "new_version": record.version + 1}
    result = session.connection().execute(_save_statement(changed), values)
    if result.rowcount != 1:
        raise Stale(record.ref)
    if record.affected_services != record.saved.get("affected_services"):
        _save_services(session, record.id, record.affected_services, replace=True)
    record.version += 1
    record.touched = False
    record.saved = record.persisted()


def note_activity(session: Session, record: ChangeRecord, at: datetime) -> None:
    """Someone acted on the change without changing it (a vote at a gate): its modified time
    moves, its version does not, so what others see of it is not made stale."""
    session.connection().execute(_CHANGES.update().where(_CHANGES.c.id == record.id).values(updated_at=at))
    record.updated_at = at
    record.saved["updated_at"] = at


def _save_services(session: Session, change_id: int, text: str, *, replace: bool) -> None:
    """The change's affected services as rows (``change_services``), for the service filter."""
    connection = session.connection()
    if replace:
        connection.execute(_SERVICES.delete().where(_SERVICES.c.change_id == change_id))
    names = list(dict.fromkeys(s for s in text.split("\n") if s))
    if names:
        connection.execute(_SERVICES.insert(), [{"change_id": change_id, "service": n[:200]} for n in names])


def _track(session: Session, record: ChangeRecord) -> ChangeRecord:
    """Save the record whole (if anything in it changed) just before this transaction commits.
    What it is now is what a change is measured against (listed records, never saved, skip it)."""
    record.saved = record.persisted()
    session.info.setdefault(BEFORE_COMMIT, []).insert(0, lambda s: _save(record, s))
    return record


def load(session: Session, ref: str, *, lock: bool = False) -> ChangeRecord | None:
    """The change by reference; with ``lock``, a concurrent writer of the same change waits
    for this transaction and then reads what it wrote (rather than failing as stale)."""
    query = _BY_REF_LOCKED if lock else _BY_REF
    row = session.connection().execute(query, {"ref": ref.strip().upper()}).first()
    return _track(session, _record(row)) if row else None


def insert(session: Session, values: dict[str, Any], requester_name: str) -> ChangeRecord:
    """Insert a new change (version 1) and return it as a tracked record."""
    values = {**values, "version": 1}
    new_id = session.connection().execute(_INSERT, values).scalar_one()
    owner_store.remember(session, new_id, values["requester_id"], values["created_at"])
    _save_services(session, new_id, values.get("affected_services") or "", replace=False)
    record = ChangeRecord(id=new_id, requester_name=requester_name,
                          **{k: v for k, v in values.items() if k in _FIELDS})
    return _track(session, record)


def page(session: Session, *, state: str | None = None, category: str | None = None,
         requester_id: int | None = None, created_from: datetime | None = None,
         created_to: datetime | None = None, where: Any = None, limit: int = 50,
         offset: int = 0, order: Sequence[Any] = (), scores: Any = None,
         params: dict[str, Any] | None = None, count_where: Any = None,
         count_service: str = "", keyset: _Keyset | None = None,
         total: int | None = None) -> tuple[list[ChangeRecord], int]:
    """Changes newest first (or in ``order``), with the number matching the filters.
    ``scores`` (hit, score) is joined for an order by how well each matches; ``params``
    are the values of bound parameters in ``where``; ``count_where``, when given, is the same
    condition written as the count reads it best; ``count_service``: the count walks that
    service's rows of change_services (the page walks its order's index and asks EXISTS of
    each change), stopping where the count does. ``keyset``: the page starts after (or ends
    before) a position instead of ``offset`` rows in (``offset`` only says where that is), and
    the total is counted from the page on. ``total``: how many match, already known (not
    counted again)."""
    conditions = [_CHANGES.c[column] == value
                  for column, value in (("state", state), ("category", category),
                                        ("requester_id", requester_id))
                  if value is not None and value != ""]
    if created_from is not None:
        conditions.append(_CHANGES.c.created_at >= created_from)
    if created_to is not None:
        conditions.append(_CHANGES.c.created_at < created_to)
    counted = list(conditions)
    if where is not None:
        conditions.append(where)
        counted.append(where if count_where is None else count_where)
    query = (_SELECT if scores is None else
             core_select(*_COLUMNS).select_from(_FROM.outerjoin(scores, scores.c.hit == _CHANGES.c.id)))
    query = query.where(*conditions)
    connection = session.connection()
    order = order or [_CHANGES.c.id.desc()]
    if keyset is None:
        rows = connection.execute(query.order_by(*order).limit(limit).offset(offset), params or {}).all()
    else:
        walked = connection.execute(keyset.walk(query, limit), params or {}).all()
        rows = list(reversed(walked)) if keyset.backwards else walked
    records = [_record(r) for r in rows]
    if total is not None:
        return records, counting.Count(total)
    counted_rows = core_select(_CHANGES.c.id).where(*counted)
    if count_service:
        counted_rows = (core_select(_SERVICES.c.change_id)
                        .join_from(_SERVICES, _CHANGES, _CHANGES.c.id == _SERVICES.c.change_id)
                        .where(_SERVICES.c.service == count_service, *counted))
    if keyset is None:
        return records, counting.bounded(connection, counted_rows, offset=offset, limit=limit, params=params)
    if not records:
        return records, counting.Count(offset)
    # From this page's first row on: the count costs what the page does, however deep it is.
    from_here = counting.bounded(connection, counted_rows.where(keyset.from_row(records[0])), limit=limit,
                                 params=params)
    return records, counting.Count(offset + from_here, from_here.more)


def planned_total() -> Any:
    """A change's planned cost over its horizon (kept on the change, indexed)."""
    return _CHANGES.c.planned_cost


SORTS: dict[str, Any] = {"updated": _CHANGES.c.updated_at, "created": _CHANGES.c.created_at,
                         "ref": _CHANGES.c.id, "title": _CHANGES.c.title, "state": _CHANGES.c.state,
                         "category": _CHANGES.c.category}


RELEVANCE = "relevance"
# Each sort's key on a record (what a position is taken from); relevance without words to
# match is the most recently updated first.
_KEY_ATTRS = {"updated": "updated_at", "created": "created_at", "title": "title", "state": "state",
              "category": "category", "cost": "planned_cost", RELEVANCE: "updated_at"}


@dataclass(frozen=True)
class Listed:
    """A page of changes, how many match, and where the pages either side of it start (None
    when the order has no position: the best match first)."""

    rows: list[ChangeRecord]
    total: int
    offset: int
    first: Position | None = None
    last: Position | None = None


def _sort_column(key: str) -> Any:
    if key == "cost":
        return planned_total()
    return _CHANGES.c.id if key == "ref" else SORTS.get(key, _CHANGES.c.updated_at)


@dataclass(frozen=True)
class _Keyset:
    """Changes in the order of ``key`` (then id, the same way), next to ``at``: after it, or
    before it when ``backwards`` (read in the other direction and turned round)."""

    key: str
    descending: bool
    at: Position
    backwards: bool

    def _keys(self) -> list[Any]:
        return [_CHANGES.c.id] if self.key == "ref" else [_sort_column(self.key), _CHANGES.c.id]

    def _beyond(self, values: Sequence[Any], *, down: bool, inclusive: bool) -> Any:
        keys = self._keys()
        bound = [literal(v, k.type) for v, k in zip(values, keys, strict=True)]
        # One row-value comparison: the index of the order answers it as a range.
        left, right = (keys[0], bound[0]) if len(keys) == 1 else (tuple_(*keys), tuple_(*bound))
        if down:
            return left <= right if inclusive else left < right
        return left >= right if inclusive else left > right

    def walk(self, query: Any, limit: int) -> Any:
        down = self.descending != self.backwards
        return (query.where(self._beyond(self._position_values(), down=down, inclusive=False))
                .order_by(*(k.desc() if down else k.asc() for k in self._keys())).limit(limit))

    def from_row(self, record: ChangeRecord) -> Any:
        """This row and every one after it in the list's own order."""
        values = [record.id] if self.key == "ref" else [getattr(record, _KEY_ATTRS[self.key]), record.id]
        return self._beyond(values, down=self.descending, inclusive=True)

    def _position_values(self) -> list[Any]:
        if self.key == "ref":
            return [self.at.id]
        field = "before" if self.backwards else "after"
        text = self.at.value
        value: Any = text
        try:
            if self.key in ("updated", "created", RELEVANCE):
                value = datetime.fromisoformat(text)
                if not limits.FIRST_YEAR <= value.year <= limits.LAST_YEAR or value.tzinfo is None:
                    raise ValueError(text)  # no stored time is outside these (or naive)
            elif self.key == "cost":
                value = Decimal(text)
                # What the column holds (Numeric(14, 2)): a larger number overflows its cast.
                if not value.is_finite() or abs(value) >= Decimal(10) ** 12:
                    raise ValueError(text)
        except (ValueError, ArithmeticError):
            raise cursor.problem(field) from None
        return [value, self.at.id]


def position(record: ChangeRecord, sort: str) -> Position:
    """Where ``record`` stands in a list sorted by ``sort`` (not the best match first)."""
    key = sort.lstrip("-")
    if key == "ref":
        return Position(sort, "", record.id)
    value = getattr(record, _KEY_ATTRS.get(key, "updated_at"))
    return Position(sort, value.isoformat() if isinstance(value, datetime) else str(value), record.id)


def filtered(session: Session, *, q: str = "", pairs: Sequence[tuple[str, str]] | None = None,
             cost_min: Decimal | None = None, cost_max: Decimal | None = None, service: str = "",
             sort: str = "-updated", limit: int = 50, offset: int = 0, after: str = "", before: str = "",
             **filters: Any) -> Listed:
    """``page`` with search and the register's filters: words of ``q`` (full text), one of
    the (workflow, state) ``pairs`` (a phase), a planned-cost range, an affected service;
    sorted by ``sort`` (a key of SORTS or "cost", "-" first for descending; RELEVANCE: the
    best match first, when there are words to match, else the most recently updated).
    ``after`` / ``before``: a position (domain.cursor) the page starts after or ends before
    (``offset`` then only says how far in that is); the best match first has none."""
    dialect = session.get_bind().dialect.name
    scores = None
    at = cursor.read(after, sort=sort, field="after") or cursor.read(before, sort=sort, field="before")
    if sort.lstrip("-") == RELEVANCE:
        scores = search_store.scored(dialect, q)
        if scores is not None and at is not None:
            raise cursor.problem("after" if after else "before")
        others = (pairs, cost_min, cost_max, service or None, *(v or None for v in filters.values()))
        if scores is not None and all(v is None for v in others) and school_scope.scope_of(session) is None:
            # Words alone: the index answers (search_store.ranked), the page is read by id —
            # for someone who sees every school (the index knows no school: a count of its
            # hits would tell others how often a word appears in another school's changes).
            ids, total = search_store.ranked(session.connection(), q, limit=limit, offset=offset)
            return Listed(by_ids(session, ids), total, offset)
    key = sort.lstrip("-")
    descending = sort.startswith("-") or key == RELEVANCE
    keyset = None if at is None else _Keyset(key, descending, at, backwards=not after)
    plain = not (q or service or cost_min is not None or cost_max is not None
                 or any(v not in (None, "") for k, v in filters.items() if k != "requester_id"))
    if pairs and sort == "-updated" and plain:
        # A phase, newest first: each state's stretch of its index, merged (never a sort of
        # every change in the phase).
        rows, total = _newest_of_pairs(session, pairs, filters.get("requester_id"), limit, offset, keyset)
    else:
        rows, total = _filtered_page(session, q=q, pairs=pairs, cost_min=cost_min, cost_max=cost_max,
                                     service=service, scores=scores, key=key, descending=descending,
                                     limit=limit, offset=offset, keyset=keyset, filters=filters)
    if keyset is not None and keyset.backwards and len(rows) < limit:
        # Back at the start of the list (some rows came or went since): its first page.
        return filtered(session, q=q, pairs=pairs, cost_min=cost_min, cost_max=cost_max, service=service,
                        sort=sort, limit=limit, offset=0, **filters)
    positioned = scores is None and bool(rows)
    return Listed(rows, total, offset, position(rows[0], sort) if positioned else None,
                  position(rows[-1], sort) if positioned else None)


def _filtered_page(session: Session, *, q: str, pairs: Sequence[tuple[str, str]] | None,
                   cost_min: Decimal | None, cost_max: Decimal | None, service: str, scores: Any, key: str,
                   descending: bool, limit: int, offset: int, keyset: _Keyset | None,
                   filters: dict[str, Any]) -> tuple[list[ChangeRecord], int]:
    dialect = session.get_bind().dialect.name
    where: list[Any] = []
    if q:
        found = search_store.matching(dialect, q)
        if found is not None:
            where.append(found)
    if pairs is not None:
        where.append(or_(*[and_(_CHANGES.c.workflow == wf, _CHANGES.c.state == st) for wf, st in pairs])
                     if pairs else false())
    if cost_min is not None:
        where.append(planned_total() >= cost_min)
    if cost_max is not None:
        where.append(planned_total() <= cost_max)
    counted = list(where)
    if service:
        # The page walks its order's index and asks each change; the count walks the service's
        # rows of change_services (count_service).
        where.append(exists().where(_SERVICES.c.change_id == _CHANGES.c.id, _SERVICES.c.service == service))
    if scores is not None:
        order = [(_CHANGES.c.ref == q.strip().upper()).desc(), scores.c.score.asc(), _CHANGES.c.id.desc()]
    else:
        # The id breaks ties the same way round, so that a position is one row-value comparison.
        keys = [_CHANGES.c.id] if key == "ref" else [_sort_column(key), _CHANGES.c.id]
        order = [k.desc() if descending else k.asc() for k in keys]
    return page(session, where=and_(*where) if where else None, order=order, scores=scores, limit=limit,
                offset=offset, count_where=and_(*counted) if counted else true(), count_service=service,
                keyset=keyset, **filters)


def _newest_of_pairs(session: Session, pairs: Sequence[tuple[str, str]], requester_id: int | None,
                     limit: int, offset: int, keyset: _Keyset | None = None, counted: bool = True,
                     ) -> tuple[list[ChangeRecord], int]:
    """Changes in any of these (workflow, state) pairs (of one requester, if given), newest
    first, and how many (unless not ``counted``: then as many as were read): a bounded stretch
    of an index per pair, merged (from a position on, with ``keyset``)."""
    mine = [_CHANGES.c.requester_id == requester_id] if requester_id is not None else []
    in_pairs = or_(*[and_(_CHANGES.c.workflow == wf, _CHANGES.c.state == st) for wf, st in pairs])
    connection = session.connection()
    counted_rows = core_select(_CHANGES.c.id).where(*mine, in_pairs)
    stretches = [core_select(_CHANGES.c.id, _CHANGES.c.updated_at)
                 .where(*mine, _CHANGES.c.workflow == wf, _CHANGES.c.state == st) for wf, st in pairs]
    newest_first = (_CHANGES.c.updated_at.desc(), _CHANGES.c.id.desc())
    parts = [(keyset.walk(stretch, limit) if keyset is not None
              else stretch.order_by(*newest_first).limit(offset + limit)).subquery() for stretch in stretches]
    rows = connection.execute(union_all(*[core_select(p.c.id, p.c.updated_at) for p in parts])).all()
    newest = sorted(rows, key=lambda r: (r.updated_at, r.id), reverse=True)
    if keyset is None:
        ids = [r.id for r in newest[offset:offset + limit]]
        records = by_ids(session, ids)
        if not counted:
            return records, counting.Count(offset + len(records))
        return records, counting.bounded(connection, counted_rows, offset=offset, limit=limit)
    ids = [r.id for r in (newest[-limit:] if keyset.backwards else newest[:limit])]
    records = by_ids(session, ids)
    if not records:
        return records, counting.Count(offset)
    from_here = counting.bounded(connection, counted_rows.where(keyset.from_row(records[0])), limit=limit)
    return records, counting.Count(offset + from_here, from_here.more)


def in_pairs(session: Session, pairs: Sequence[tuple[str, str]], *, limit: int) -> list[ChangeRecord]:
    """The newest ``limit`` changes in any of these (workflow, state) pairs (not counted)."""
    return _newest_of_pairs(session, pairs, None, limit, 0, counted=False)[0] if pairs else []


_MINE = _CHANGES.c.requester_id == bindparam("requester")
_NEWEST_FIRST = (_CHANGES.c.updated_at.desc(), _CHANGES.c.id.desc())
# The (workflow, state) pairs as rows, from two lists bound at each call: the statement is the
# same whatever the pairs, so compiled once (a VALUES list is compiled again at every call).
_TEXTS = ARRAY(String)
_PAIRS = (func.unnest(bindparam("workflows", type_=_TEXTS), bindparam("states", type_=_TEXTS))
          .table_valued("workflow", "state").render_derived(name="pairs"))


@functools.lru_cache(maxsize=64)
def _newest_per_pair(pairs: tuple[tuple[str, str], ...], limit: int) -> Any:
    """A requester's newest ``limit`` changes in each pair, as one statement built once per set
    of pairs (building its thirty-odd subqueries cost more than running them)."""
    parts = [core_select(_CHANGES.c.id, _CHANGES.c.updated_at, _CHANGES.c.workflow, _CHANGES.c.state)
             .where(_MINE, _CHANGES.c.workflow == wf, _CHANGES.c.state == st)
             .order_by(*_NEWEST_FIRST).limit(limit).subquery()
             for wf, st in pairs]
    return union_all(*[core_select(p.c.id, p.c.updated_at, p.c.workflow, p.c.state) for p in parts])


@functools.lru_cache(maxsize=8)
def _newest_per_listed_pair(limit: int) -> Any:
    """The same on PostgreSQL, whatever the pairs (bound at each call, ``_PAIRS``): the pairs as
    rows joined to one subquery, which the server plans once. It planned each of the union's
    thirty-odd parts (6 ms of a 0.3 ms statement); SQLite has no LATERAL."""
    each = (core_select(_CHANGES.c.id, _CHANGES.c.updated_at, _CHANGES.c.workflow, _CHANGES.c.state)
            .where(_MINE, _CHANGES.c.workflow == _PAIRS.c.workflow, _CHANGES.c.state == _PAIRS.c.state)
            .order_by(*_NEWEST_FIRST).limit(limit).lateral("newest"))
    return core_select(each.c.id, each.c.updated_at, each.c.workflow, each.c.state).select_from(
        _PAIRS.join(each, true()))


@functools.lru_cache(maxsize=64)
def _count_per_pair(pairs: tuple[tuple[str, str], ...], cap: int) -> Any:
    """How many of a requester's changes are in each pair, each counted no further than
    ``cap`` + 1 (persistence.counting): a closed pile of thousands costs what a page does."""
    parts = [core_select(literal(wf).label("workflow"), literal(st).label("state"), func.count().label("n"))
             .select_from(core_select(_CHANGES.c.id).where(_MINE, _CHANGES.c.workflow == wf,
                                                           _CHANGES.c.state == st)
                          .limit(cap + 1).subquery())
             for wf, st in pairs]
    return union_all(*parts)


@functools.lru_cache(maxsize=8)
def _count_per_listed_pair(cap: int) -> Any:
    """The same on PostgreSQL, as _newest_per_listed_pair."""
    stretch = (core_select(_CHANGES.c.id)
               .where(_MINE, _CHANGES.c.workflow == _PAIRS.c.workflow, _CHANGES.c.state == _PAIRS.c.state)
               .limit(cap + 1).correlate(_PAIRS).subquery())
    counted = core_select(func.count().label("n")).select_from(stretch).lateral("counted")
    return (core_select(_PAIRS.c.workflow, _PAIRS.c.state, counted.c.n)
            .select_from(_PAIRS.join(counted, true())))


def _per_pair(connection: Any, pairs: tuple[tuple[str, str], ...], requester_id: int, *,
              limit: int | None = None, cap: int | None = None) -> Any:
    """The newest ``limit`` per pair, or (with ``cap``) the counts per pair, each database's way."""
    if connection.dialect.name == "postgresql":
        statement = _newest_per_listed_pair(limit) if cap is None else _count_per_listed_pair(cap)
        bound = {"workflows": [wf for wf, _ in pairs], "states": [st for _, st in pairs]}
    else:
        statement = _newest_per_pair(pairs, limit) if cap is None else _count_per_pair(pairs, cap)
        bound = {}
    return connection.execute(statement, {"requester": requester_id, **bound})


def newest_in(session: Session, *, requester_id: int, groups: Mapping[str, Sequence[tuple[str, str]]],
              limit: int) -> dict[str, tuple[list[ChangeRecord], int]]:
    """For each group of (workflow, state) pairs (a phase), a requester's newest ``limit``
    changes in it and how many there are (counting.Count: "1,000+" past the cap) — in three
    statements whatever the groups: a bounded stretch of an index per pair, a bounded count
    per pair, the rows by id."""
    pairs = tuple(sorted({pair for group in groups.values() for pair in group}))
    if not pairs:
        return {name: ([], 0) for name in groups}
    connection = session.connection()
    rows = _per_pair(connection, pairs, requester_id, limit=limit).all()
    cap = limits.COUNT_CAP
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        counts[r.workflow, r.state] = counts.get((r.workflow, r.state), 0) + 1
    # A pair with fewer than ``limit`` rows has just those; only the full ones are counted.
    full = tuple(pair for pair in pairs if counts.get(pair, 0) >= limit)
    if full:
        counts.update({(wf, st): n for wf, st, n in _per_pair(connection, full, requester_id, cap=cap)})
    chosen: dict[str, list[int]] = {}
    for name, group in groups.items():
        wanted = set(group)
        newest = sorted((r for r in rows if (r.workflow, r.state) in wanted),
                        key=lambda r: (r.updated_at, r.id), reverse=True)
        chosen[name] = [r.id for r in newest[:limit]]
    found = {r.id: r for r in by_ids(session, [i for ids in chosen.values() for i in ids])}
    result: dict[str, tuple[list[ChangeRecord], int]] = {}
    for name, group in groups.items():
        over = any(counts.get(pair, 0) > cap for pair in group)  # that pair was counted no further
        n = sum(min(counts.get(pair, 0), cap) for pair in group)
        result[name] = ([found[i] for i in chosen[name] if i in found], counting.Count(n, over))
    return result


# One statement whatever the ids (a school's scope adapts it once, not at every call).
_BY_IDS = _SELECT.where(_CHANGES.c.id.in_(bindparam("ids", expanding=True)))


def by_ids(session: Session, ids: Sequence[int]) -> list[ChangeRecord]:
    """These changes, in this order (unknown ids left out)."""
    if not ids:
        return []
    rows = session.connection().execute(_BY_IDS, {"ids": list(ids)})
    found = {r.id: r for r in map(_record, rows)}
    return [found[i] for i in ids if i in found]


def ref_of(session: Session, change_id: int) -> str | None:
    return session.connection().execute(
        core_select(_CHANGES.c.ref).where(_CHANGES.c.id == change_id)).scalar_one_or_none()


_FOLLOW_UPS = (core_select(_CHANGES.c.ref).where(_CHANGES.c.parent_id == bindparam("cid"))
               .order_by(_CHANGES.c.id))


def follow_up_refs(session: Session, change_id: int) -> tuple[str, ...]:
    return tuple(session.connection().execute(_FOLLOW_UPS, {"cid": change_id}).scalars())


Gates = Sequence[tuple[str, str, str, Sequence[str]]]


def _shape(gates: Gates) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    return tuple((wf, st, gate, tuple(cats)) for wf, st, gate, cats in gates)


_HOLDERS = owner_store.HOLDERS


@functools.lru_cache(maxsize=64)
def _awaiting_where(gates: tuple[tuple[str, str, str, tuple[str, ...]], ...], escalated: bool) -> Any:
    """Built once per set of gates (it is on every page, for the navigation's counts: building
    it took longer than running it); the person is bound: ``awaiting_roles`` and
    ``awaiting_user``."""
    roles: Any = bindparam("awaiting_roles", expanding=True)
    user_id: Any = bindparam("awaiting_user")
    this_round = and_(_REQUIREMENTS.c.change_id == _CHANGES.c.id,
                      _REQUIREMENTS.c.round == _CHANGES.c.approval_round)

    def escalated_at(gate: str) -> Any:
        return exists().where(_REMINDERS.c.change_id == _CHANGES.c.id,
                              _REMINDERS.c.round == _CHANGES.c.approval_round,
                              _REMINDERS.c.gate == gate, _REMINDERS.c.kind == "escalation")

    return and_(
        or_(*[and_(_CHANGES.c.workflow == wf, _CHANGES.c.state == st,
                   or_(exists().where(this_round, _REQUIREMENTS.c.gate == gate,
                                      _REQUIREMENTS.c.role.in_(roles)),
                       and_(~exists().where(this_round, _REQUIREMENTS.c.gate == gate),
                            _CHANGES.c.category.in_(cats or [""])),
                       *([escalated_at(gate)] if escalated else [])))
              for wf, st, gate, cats in gates]),
        _CHANGES.c.requester_id != user_id,
        ~exists().where(_HOLDERS.c.change_id == _CHANGES.c.id, _HOLDERS.c.user_id == user_id),
        ~exists().where(_APPROVALS.c.change_id == _CHANGES.c.id,
                        _APPROVALS.c.round == _CHANGES.c.approval_round,
                        _APPROVALS.c.approver_id == user_id),
    )


# The approvals queue's orders: waiting (since the round opened: the longest first), the
# planned five-year cost, reference, title.
AWAITING_SORTS: dict[str, Any] = {"waiting": queue_store.round_opened(), "cost": _CHANGES.c.planned_cost,
                                  "ref": _CHANGES.c.id, "title": _CHANGES.c.title}


def awaiting(session: Session, *, gates: Gates, roles: Sequence[str],
             user_id: int, limit: int, offset: int, escalated: bool = False,
             first: Sequence[str] = (), sort: str = "waiting",
             total: int | None = None) -> tuple[list[ChangeRecord], int]:
    """Changes waiting at a gate this user may decide: (workflow, state, gate, categories)
    say where. A round whose approvers the policy computed asks for one of ``roles``; a round
    opened before that (no rows) asks the workflow's approvers for the ``categories``. Their
    own changes and those they already decided this round are left out. With ``escalated``
    (the user holds the escalation role) a round escalated at its gate is theirs too.
    Changes of the ``first`` workflows (emergencies) come first, then as ``sort`` says (a key
    of AWAITING_SORTS, "-" first for the other way; by default the longest waiting). ``total``:
    how many wait, when already known (the sum of :func:`awaiting_counts`)."""
    if not gates or not roles:
        return [], 0
    where = _awaiting_where(_shape(gates), escalated)
    column = AWAITING_SORTS.get(sort.lstrip("-"), AWAITING_SORTS["waiting"])
    order = [case((_CHANGES.c.workflow.in_(first or [""]), 0), else_=1),
             column.desc() if sort.startswith("-") else column.asc(), _CHANGES.c.id.asc()]
    return page(session, where=where, limit=limit, offset=offset, order=order,
                params={"awaiting_roles": list(roles), "awaiting_user": user_id}, total=total)


def awaiting_counts(session: Session, *, gates: Gates, roles: Sequence[str],
                    user_id: int, escalated: bool = False) -> dict[tuple[str, str], int]:
    """How many changes ``awaiting`` would list, by (workflow, state)."""
    if not gates or not roles:
        return {}
    rows = session.connection().execute(_awaiting_counts(_shape(gates), escalated),
                                        {"awaiting_roles": list(roles), "awaiting_user": user_id})
    return {(wf, st): int(n) for wf, st, n in rows}


@functools.lru_cache(maxsize=64)
def _awaiting_counts(gates: tuple[tuple[str, str, str, tuple[str, ...]], ...], escalated: bool) -> Any:
    return (core_select(_CHANGES.c.workflow, _CHANGES.c.state, func.count())
            .where(_awaiting_where(gates, escalated)).group_by(_CHANGES.c.workflow, _CHANGES.c.state))


def count(session: Session) -> int:
    return int(session.connection().execute(core_select(func.count()).select_from(_CHANGES)).scalar_one())


def first_in(session: Session, states: list[tuple[str, str]]) -> tuple[str, int] | None:
    """(ref, requester id) of the oldest change in one of these (workflow, state) pairs."""
    if not states:
        return None
    row = session.connection().execute(
        core_select(_CHANGES.c.ref, _CHANGES.c.requester_id)
        .where(or_(*[and_(_CHANGES.c.workflow == wf, _CHANGES.c.state == st) for wf, st in states]))
        .order_by(_CHANGES.c.id).limit(1)).first()
    return (row[0], row[1]) if row else None
