"""Which schools a session reads — the one place where changes are scoped by school.

A service acting for a person says which schools they see (``limit_to``, called by
``services.common.load_actor``); from then on every SELECT the session's connection runs
reads the changes table through a view of only those schools' rows. Lists, searches,
counts, reports, feeds and a change looked up by its reference are scoped alike, with no
condition written in any store or view: a change of another school is simply not there
(a 404). Writes are not rewritten: a change is saved after being read in scope.

A person who sees every school (a trust role, or every school there is) is not limited,
and their statements run as written."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import bindparam, event, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CompoundSelect
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate
from sqlmodel import Session

from . import school_store
from .models import Change

OPTION = "fitsflow_schools"
PARAM = "fitsflow_scope"
_CHANGES = Change.__table__  # type: ignore[attr-defined]
# The changes of the schools in PARAM, under the table's own name (so plans and SQL read alike).
_VIEW = select(_CHANGES).where(_CHANGES.c.school_id.in_(bindparam(PARAM, expanding=True))).subquery("changes")
_ADAPTER = ClauseAdapter(_VIEW)
# The statements adapted lately: those built once (most) are adapted once. Bounded: a clone
# keeps its original alive, so a weak-keyed map would keep every one-off statement.
_ADAPTED: OrderedDict[int, tuple[Any, Any]] = OrderedDict()
_ADAPTED_MAX = 512
# The same by shape, for statements built again at each call: (adapted, slots) by cache key.
# (None: a shape that reads no changes.)
_SHAPES: OrderedDict[Any, tuple[Any, tuple[tuple[int, str], ...]]] = OrderedDict()
_LOCK = threading.Lock()
_SCOPE = "fitsflow.school_scope"  # session.info: the schools a session is limited to
# SQL naming the changes table, and the view's own reading of it: a scoped SELECT must read
# it only through the view (a statement this module could not rewrite fails, not leaks).
_NAMED = re.compile(r"\b(?:FROM|JOIN)\s+changes\b", re.IGNORECASE)
_VIEWED = re.compile(r"\bFROM\s+changes\s+WHERE\s+changes\.school_id\s+IN\b", re.IGNORECASE)


# An execution option for a statement that reads every school's changes on purpose and
# shows none of them (a cache's version number): the guard lets it pass.
TRUST_WIDE = "fitsflow_trust_wide"


class Unscoped(RuntimeError):
    """A statement read the changes table around a session's school scope."""


# PostgreSQL's second line of defence: row-level security on the changes table, by the
# schools the transaction says it acts for (``fitsflow.schools``, set by ``limit_to``; unset
# or empty: every school — the workers, the command line, trust roles). FORCE makes it hold
# for the table's owner too (the application's role: never connect as a superuser, which no
# policy binds). A query that forgets the school, even one this module does not rewrite,
# reads nothing of another school's.
SETTING = "fitsflow.schools"
_POLICY = ("CREATE POLICY changes_by_school ON changes USING ("
           f"coalesce(current_setting('{SETTING}', true), '') = '' OR school_id = ANY ("
           f"string_to_array(current_setting('{SETTING}', true), ',')::integer[]))")


def row_security_statements(dialect: str) -> list[str]:
    if dialect != "postgresql":
        return []
    return ["ALTER TABLE changes ENABLE ROW LEVEL SECURITY", "ALTER TABLE changes FORCE ROW LEVEL SECURITY",
            "DROP POLICY IF EXISTS changes_by_school ON changes", _POLICY]


def drop_row_security_statements(dialect: str) -> list[str]:
    if dialect != "postgresql":
        return []
    return ["DROP POLICY IF EXISTS changes_by_school ON changes",
            "ALTER TABLE changes NO FORCE ROW LEVEL SECURITY",
            "ALTER TABLE changes DISABLE ROW LEVEL SECURITY"]


def _install(target: object, connection: Connection, **_: object) -> None:
    for statement in row_security_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


# create_all (tests) makes it with the changes table; migration 0054 for installations.
event.listen(_CHANGES, "after_create", _install)


def limit_to(session: Session, schools: frozenset[int] | None, *, sets: frozenset[int] | None = None) -> None:
    """From now on ``session`` reads only the changes of ``schools`` (None: every school).
    It only ever narrows: loading another person in the same session (someone a decision is
    made for) cannot widen what the session sees. Kept for the session's next transactions
    too (re-applied as each begins). A person of a school sees the trust-wide changes
    affecting it too: the sets of schools holding it are added here (``sets``: those already
    read, as school_store.sets_touching answers)."""
    if schools is None:
        return
    schools = schools | (school_store.sets_touching(session, schools) if sets is None else sets)
    held: frozenset[int] | None = session.info.get(_SCOPE)
    narrowed = schools if held is None else held & schools
    session.info[_SCOPE] = narrowed
    _apply(session.connection(), narrowed)


def admit(session: Session, set_id: int, schools: tuple[int, ...]) -> None:
    """A set of schools made in this transaction (a trust-wide change's) is seen by a session
    that sees every school of it, as it would have been had it existed when the scope was set."""
    held: frozenset[int] | None = session.info.get(_SCOPE)
    if held is None or set_id in held or not set(schools) <= held:
        return
    session.info[_SCOPE] = held | {set_id}
    _apply(session.connection(), held | {set_id})


def _apply(connection: Connection, schools: frozenset[int]) -> None:
    connection.execution_options(**{OPTION: tuple(sorted(schools))})
    if connection.dialect.name == "postgresql":
        # For this transaction only; an empty set must still read nothing ("0": no school's id).
        connection.exec_driver_sql("SELECT set_config(%s, %s, true)",
                                   (SETTING, ",".join(map(str, sorted(schools))) or "0"))


@event.listens_for(Session, "after_begin")
def _begun(session: Session, transaction: Any, connection: Connection) -> None:
    schools: frozenset[int] | None = session.info.get(_SCOPE)
    if schools is not None:
        _apply(connection, schools)
    elif connection.get_execution_options().get(OPTION) is not None:
        # One connection shared by every session of an all-or-nothing unit (the demo, a
        # restore): an earlier session's scope must not hold for this one.
        connection.execution_options(**{OPTION: None})
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT set_config(%s, '', true)", (SETTING,))


def scope_of(session: Session) -> tuple[int, ...] | None:
    """The schools ``session`` is limited to (None: every school)."""
    schools: frozenset[int] | None = session.info.get(_SCOPE)
    return None if schools is None else tuple(sorted(schools))


def seen(session: Session, change_ref: Any) -> list[Any]:
    """Conditions keeping a read of rows that name a change by reference (the audit trail)
    to the changes the session sees, or to none of any change (people, the calendar): none
    when it sees every school."""
    if scope_of(session) is None:
        return []
    return [or_(change_ref == "", change_ref.in_(select(_CHANGES.c.ref)))]


def _reads_changes(statement: Any) -> bool:
    # ORM entities carry an annotated copy of the table: compare what it is a copy of.
    return any(_plain(element) is _CHANGES for element in iterate(statement))


def _loads_entities(statement: Any) -> bool:
    descriptions = getattr(statement, "column_descriptions", ())
    return any(d.get("expr") is Change for d in descriptions)


def _plain(element: Any) -> Any:
    undo = getattr(element, "_deannotate", None)
    return undo() if undo is not None else element


def _adapted(statement: Any) -> tuple[Any, dict[str, Any]]:
    """The statement reading changes through the view, and the values of its bound parameters
    where they are not the adapted statement's own. A statement built once is adapted once
    (by identity); one built again at each call, with other values, is adapted once per shape
    (SQLAlchemy's cache key: the values left out), each call's values then given by name to
    the bound parameters of the first one's adaptation."""
    key = id(statement)
    with _LOCK:
        found = _ADAPTED.get(key)
        if found is not None and found[0] is statement:
            _ADAPTED.move_to_end(key)
            return found[1], {}
    shape = statement._generate_cache_key()
    if shape is not None:
        with _LOCK:
            kept = _SHAPES.get(shape.key)
            if kept is not None:
                _SHAPES.move_to_end(shape.key)
        if kept is not None:
            adapted, named = kept
            if adapted is None:  # a shape that reads no changes: run as written
                return statement, {}
            return adapted, {name: shape.bindparams[at].effective_value for at, name in named}
    reads = _reads_changes(statement)
    adapted = _ADAPTER.traverse(statement) if reads else statement
    with _LOCK:
        _ADAPTED[key] = (statement, adapted)
        while len(_ADAPTED) > _ADAPTED_MAX:
            _ADAPTED.popitem(last=False)
    if shape is not None:
        slots: tuple[tuple[int, str], ...] | None = _slots(shape, adapted) if reads else ()
        if slots is not None:
            with _LOCK:
                _SHAPES[shape.key] = (adapted if reads else None, slots)
                while len(_SHAPES) > _ADAPTED_MAX:
                    _SHAPES.popitem(last=False)
    return adapted, {}


def _slots(shape: Any, adapted: Any) -> tuple[tuple[int, str], ...] | None:
    """For each bound parameter of ``adapted``, the position of the original's it was copied
    from among ``shape``'s (the order SQLAlchemy's cache keys keep for every statement of that
    shape) and its name; None when one cannot be traced back with its value (never reused)."""
    def root(element: Any) -> Any:
        return element._is_clone_of if element._is_clone_of is not None else element

    adapted_shape = adapted._generate_cache_key()
    if adapted_shape is None:
        return None
    origin = {id(root(b)): at for at, b in enumerate(shape.bindparams)}
    if len(origin) != len(shape.bindparams):
        return None  # two parameters copied from one: which is which is not known
    slots = []
    for bound in adapted_shape.bindparams:
        at = origin.get(id(root(bound)))
        if at is None:
            if bound.key != PARAM:
                return None
            continue
        if bound.effective_value != shape.bindparams[at].effective_value:
            return None
        slots.append((at, bound.key))
    return tuple(slots)


@event.listens_for(Engine, "before_execute", retval=True)
def _scope(conn: Connection, clauseelement: Any, multiparams: Any, params: Any,
           execution_options: Any) -> tuple[Any, Any, Any]:
    schools = execution_options.get(OPTION)
    if schools is None or not isinstance(clauseelement, Select | CompoundSelect):
        return clauseelement, multiparams, params
    adapted, values = _adapted(clauseelement)
    if adapted is clauseelement:
        return clauseelement, multiparams, params
    if _loads_entities(clauseelement):
        # The ORM would read whole Change objects from the view's columns wrongly: refused
        # (the stores read changes as rows; nothing loads them as entities).
        raise Unscoped("changes loaded as ORM entities in a session limited to some schools")
    if multiparams:
        multiparams = [{**values, **p, PARAM: list(schools)} for p in multiparams]
    return adapted, multiparams, {**values, **(params or {}), PARAM: list(schools)}


@event.listens_for(Engine, "before_cursor_execute")
def _guard(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
    """Fail closed: in a scoped session, a SELECT that reads the changes table other than
    through the view (raw SQL, an alias, an ORM path the rewrite did not reach) is refused."""
    if conn.get_execution_options().get(OPTION) is None or not statement.lstrip()[:6].upper() == "SELECT" \
            or context.execution_options.get(TRUST_WIDE):
        return
    if len(_NAMED.findall(statement)) != len(_VIEWED.findall(statement)):
        raise Unscoped("a read of changes around the school scope: " + statement[:200])
