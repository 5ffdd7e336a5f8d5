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

import weakref
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import CompoundSelect
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate
from sqlmodel import Session

from .models import Change

OPTION = "fitsflow_schools"
PARAM = "fitsflow_scope"
_CHANGES = Change.__table__  # type: ignore[attr-defined]
# The changes of the schools in PARAM, under the table's own name (so plans and SQL read alike).
_VIEW = select(_CHANGES).where(_CHANGES.c.school_id.in_(bindparam(PARAM, expanding=True))).subquery("changes")
_ADAPTER = ClauseAdapter(_VIEW)
# A statement built once (most are) is adapted once.
_ADAPTED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


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


def limit_to(session: Session, schools: frozenset[int] | None) -> None:
    """From now on ``session`` reads only the changes of ``schools`` (None: every school)."""
    if schools is None:
        return
    connection = session.connection()
    connection.execution_options(**{OPTION: tuple(sorted(schools))})
    if connection.dialect.name == "postgresql":
        # For this transaction only; an empty set must still read nothing ("0": no school's id).
        connection.exec_driver_sql("SELECT set_config(%s, %s, true)",
                                   (SETTING, ",".join(map(str, sorted(schools))) or "0"))


def scope_of(session: Session) -> tuple[int, ...] | None:
    """The schools ``session`` is limited to (None: every school)."""
    found = session.connection().get_execution_options().get(OPTION)
    return None if found is None else tuple(found)


def _reads_changes(statement: Any) -> bool:
    return any(element is _CHANGES for element in iterate(statement))


def _adapted(statement: Any) -> Any:
    try:
        return _ADAPTED[statement]
    except KeyError:
        pass
    except TypeError:  # not weakly referable: adapt each time
        return _ADAPTER.traverse(statement) if _reads_changes(statement) else statement
    found = _ADAPTER.traverse(statement) if _reads_changes(statement) else statement
    _ADAPTED[statement] = found
    return found


@event.listens_for(Engine, "before_execute", retval=True)
def _scope(conn: Connection, clauseelement: Any, multiparams: Any, params: Any,
           execution_options: Any) -> tuple[Any, Any, Any]:
    schools = execution_options.get(OPTION)
    if schools is None or not isinstance(clauseelement, Select | CompoundSelect):
        return clauseelement, multiparams, params
    adapted = _adapted(clauseelement)
    if adapted is clauseelement:
        return clauseelement, multiparams, params
    if multiparams:
        multiparams = [{**p, PARAM: list(schools)} for p in multiparams]
    return adapted, multiparams, {**(params or {}), PARAM: list(schools)}
