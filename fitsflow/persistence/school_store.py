"""Schools and who belongs to them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from .db_hooks import clock_now
from .models import School, SchoolMember, SchoolSetMember

_SCHOOLS = School.__table__  # type: ignore[attr-defined]
_MEMBERS = SchoolMember.__table__  # type: ignore[attr-defined]
_SETS = SchoolSetMember.__table__  # type: ignore[attr-defined]
_REAL = _SCHOOLS.c.is_set.is_(False)  # a school, not a trust-wide change's set of them
FIRST = 1  # the school an installation had before it held several


@dataclass(frozen=True)
class SchoolRow:
    id: int
    slug: str
    name: str
    nation: str


def ensure_first(connection: Connection, now: datetime) -> None:
    """The first school, as migration 0053 makes it (for databases made from the models)."""
    if connection.execute(select(_SCHOOLS.c.id).where(_SCHOOLS.c.id == FIRST)).first() is None:
        connection.execute(insert(_SCHOOLS).values(id=FIRST, slug="school", name="", nation="",
                                                   created_at=now))
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SELECT setval(pg_get_serial_sequence('schools', 'id'), 1)")


def every(session: Session) -> list[SchoolRow]:
    rows = session.connection().execute(
        select(_SCHOOLS.c.id, _SCHOOLS.c.slug, _SCHOOLS.c.name, _SCHOOLS.c.nation).where(_REAL)
        .order_by(_SCHOOLS.c.id))
    return [SchoolRow(r.id, r.slug, r.name, r.nation) for r in rows]


def count(session: Session) -> int:
    return int(session.connection().execute(
        select(func.count()).select_from(_SCHOOLS).where(_REAL)).scalar_one())


def add(session: Session, *, slug: str, name: str, nation: str) -> int:
    return int(session.connection().execute(
        insert(_SCHOOLS).values(slug=slug, name=name, nation=nation, created_at=clock_now(session))
        .returning(_SCHOOLS.c.id)).scalar_one())


def update(session: Session, school_id: int, *, name: str, nation: str) -> None:
    session.connection().execute(_SCHOOLS.update().where(_SCHOOLS.c.id == school_id)
                                 .values(name=name, nation=nation))


def members_of(session: Session, user_id: int) -> set[int]:
    return set(session.connection().execute(
        select(_MEMBERS.c.school_id).where(_MEMBERS.c.user_id == user_id)).scalars())


def set_schools(session: Session, user_id: int, school_ids: Iterable[int]) -> None:
    """``user_id`` belongs to exactly these schools."""
    wanted = set(school_ids)
    held = members_of(session, user_id)
    connection = session.connection()
    if held - wanted:
        connection.execute(delete(_MEMBERS).where(_MEMBERS.c.user_id == user_id,
                                                  _MEMBERS.c.school_id.in_(held - wanted)))
    for school_id in sorted(wanted - held):
        connection.execute(insert(_MEMBERS).values(user_id=user_id, school_id=school_id))


def member_ids(session: Session, school_id: int) -> set[int]:
    return set(session.connection().execute(
        select(_MEMBERS.c.user_id).where(_MEMBERS.c.school_id == school_id)).scalars())


def join_the_only_school(session: Session, user_id: int) -> None:
    """A new person belongs to the school when there is one; in a trust of several, an
    administrator says which (until then they see no school's changes)."""
    rows = session.connection().execute(select(_SCHOOLS.c.id).where(_REAL).limit(2)).scalars().all()
    if len(rows) == 1:
        session.connection().execute(insert(_MEMBERS).values(user_id=user_id, school_id=rows[0]))


def nation_of(session: Session, school_id: int) -> str:
    """The school's bank holidays' nation ("": the settings')."""
    return str(session.connection().execute(
        select(_SCHOOLS.c.nation).where(_SCHOOLS.c.id == school_id)).scalar_one_or_none() or "")


def share_a_school(session: Session, one: int, other: int) -> bool:
    """Whether two people belong to a school in common — or the trust has one school."""
    if count(session) <= 1:
        return True
    mine = members_of(session, one)
    return not mine or bool(mine & members_of(session, other))


# --- trust-wide changes: the set of schools a change affects ------------------------------

def set_of(session: Session, school_ids: Iterable[int]) -> int:
    """The row a change affecting these schools belongs to: the school itself when there is
    one, else the set of them (made the first time a change affects exactly these)."""
    wanted = sorted(set(school_ids))
    if len(wanted) == 1:
        return wanted[0]
    slug = "+".join(map(str, wanted))  # no school's slug has a '+' (domain.schools)
    if len(slug) > 40:  # the column's width: many schools are named by a digest of their ids
        slug = "+" + hashlib.sha256(slug.encode()).hexdigest()[:39]
    connection = session.connection()
    lookup = select(_SCHOOLS.c.id).where(_SCHOOLS.c.slug == slug, _SCHOOLS.c.is_set)
    found = connection.execute(lookup).first()
    if found is not None:
        return int(found.id)
    # Two people raising the first change for the same schools at once make it once: the
    # second's insert does nothing, and it reads the first's row.
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    made = connection.execute(dialect_insert(_SCHOOLS).values(
        slug=slug, name="", nation="", is_set=True, created_at=clock_now(session))
        .on_conflict_do_nothing(index_elements=["slug"]).returning(_SCHOOLS.c.id)).first()
    if made is None:
        return int(connection.execute(lookup).scalar_one())
    set_id = int(made.id)
    connection.execute(insert(_SETS), [{"set_id": set_id, "school_id": sid} for sid in wanted])
    return set_id


def slug_of(session: Session, school_id: int) -> str:
    """A school's short name ("" when there is none; a set's is its schools' ids)."""
    return str(session.connection().execute(
        select(_SCHOOLS.c.slug).where(_SCHOOLS.c.id == school_id)).scalar_one_or_none() or "")


def reach(session: Session, school_id: int) -> tuple[int, ...]:
    """The schools a change of ``school_id`` affects: that school, or a set's schools."""
    found = tuple(session.connection().execute(
        select(_SETS.c.school_id).where(_SETS.c.set_id == school_id).order_by(_SETS.c.school_id)).scalars())
    return found or (school_id,)


def sets_touching(session: Session, school_ids: Iterable[int]) -> frozenset[int]:
    """The sets holding any of these schools: their people see those trust-wide changes."""
    wanted = sorted(set(school_ids))
    if not wanted:
        return frozenset()
    return frozenset(session.connection().execute(
        select(_SETS.c.set_id).where(_SETS.c.school_id.in_(wanted))).scalars())


def members_in(school_id: Any) -> Any:
    """A condition: a school_members row is of ``school_id`` (a bound value or column) or of
    a school in the set it is."""
    return or_(_MEMBERS.c.school_id == school_id,
               _MEMBERS.c.school_id.in_(select(_SETS.c.school_id).where(_SETS.c.set_id == school_id)))
