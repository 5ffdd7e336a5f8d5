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


def limit_to(session: Session, schools: frozenset[int] | None) -> None:
    """From now on ``session`` reads only the changes of ``schools`` (None: every school)."""
    if schools is not None:
        session.connection().execution_options(**{OPTION: tuple(sorted(schools))})


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
