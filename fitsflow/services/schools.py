"""The trust's schools: adding and naming them, who belongs to which, and which school a
new change belongs to. Reads of changes are scoped by school in one place
(persistence.school_scope, set by ``common.load_actor``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound
from ..domain.schools import NAME_MAX, nation_problem, slug_problem
from ..persistence import audit_store, queries, school_scope, school_store
from ..persistence.school_store import FIRST
from . import common
from .runtime import Runtime


@dataclass(frozen=True)
class School:
    id: int
    slug: str
    name: str
    nation: str


def _school(rt: Runtime, row: school_store.SchoolRow) -> School:
    # The first school is the installation's own: unnamed, it is the settings' [school].
    return School(row.id, row.slug, row.name or (rt.settings.school.name if row.id == FIRST else row.slug),
                  row.nation or rt.settings.school.nation)


def every_school(rt: Runtime) -> list[School]:
    with rt.db.read() as session:
        return [_school(rt, row) for row in school_store.every(session)]


def schools_of(rt: Runtime, session: Session, actor: Actor) -> list[School]:
    """The schools ``actor`` acts in (every one, for a trust role)."""
    return [_school(rt, row) for row in school_store.every(session)
            if actor.schools is None or row.id in actor.schools]


def mine(rt: Runtime, *, actor_id: int) -> list[School]:
    """The schools this person acts in (every one, for a trust role)."""
    with rt.db.read() as session:
        return schools_of(rt, session, common.load_actor(rt, session, actor_id))


def for_new_change(rt: Runtime, session: Session, actor: Actor, slug: str | None, *,
                   several: bool = True) -> int:
    """The school a change ``actor`` raises belongs to: the one named (``slug``), which must
    be one of theirs, or their only school; several named (separated by commas): a
    trust-wide change, belonging to the set of them (unless not ``several``: a proposal is
    one school's). InvalidInput naming ``school`` otherwise."""
    mine = schools_of(rt, session, actor)
    named = sorted({part.strip() for part in (slug or "").split(",") if part.strip()})
    if len(named) > 1 and not several:
        raise InvalidInput({"school": "name one school"})
    if named:
        by_slug = {school.slug: school.id for school in mine}
        unknown = [name for name in named if name not in by_slug]
        if unknown:
            yours = ", ".join(s.slug for s in mine) or "none"
            raise InvalidInput({"school": f"{', '.join(n[:40] for n in unknown[:5])}: must be one of your "
                                          f"schools: {yours}"})
        ids = tuple(sorted(by_slug[name] for name in named))
        made = school_store.set_of(session, ids)
        school_scope.admit(session, made, ids)
        rt.db.forget()  # the sets touching a person's schools, if remembered, may have grown
        return made
    if len(mine) == 1:
        return mine[0].id
    if not mine:
        raise InvalidInput({"school": "you belong to no school: an administrator adds you to one"})
    raise InvalidInput({"school": f"say which school it is for: one of {', '.join(s.slug for s in mine)}"
                                  + (" (several, separated by commas, for a trust-wide change)" if several
                                     else "")})


def owner_of_new(rt: Runtime, session: Session, actor: Actor | None, slug: str) -> int | None:
    """Whose a new template, service or maintenance window is: someone of some schools makes
    it for one of theirs (their only one, or the one named); someone who acts in every school
    (or the command line, ``actor`` None) for the trust (None), or for the school named.
    InvalidInput naming ``school`` otherwise."""
    if actor is not None and actor.schools is not None:
        return for_new_change(rt, session, actor, slug or None, several=False)
    if not slug.strip():
        return None
    known = {row.slug: row.id for row in school_store.every(session)}
    if slug.strip() not in known:
        raise InvalidInput({"school": f"no school {slug.strip()[:40]} (known: {', '.join(sorted(known))})"})
    return known[slug.strip()]


def for_follow_up(rt: Runtime, session: Session, actor: Actor, parent_school: int) -> int:
    """A follow-up's school: its parent's, or of the schools the parent affects, those the
    person raising it acts in (a follow-up is never a way to raise a change for a school
    that is not theirs)."""
    if actor.schools is None:
        return parent_school
    reach = school_store.reach(session, parent_school)
    mine = tuple(sorted(set(reach) & actor.schools))
    if not mine:  # they could not have opened the parent
        raise InvalidInput({"school": "the change followed up is not of one of your schools"})
    if mine == reach:
        return parent_school
    made = school_store.set_of(session, mine)
    school_scope.admit(session, made, mine)
    rt.db.forget()  # the sets touching a person's schools, if remembered, may have grown
    return made


def slugs_of(session: Session, school_id: int) -> list[str]:
    """The short names of the schools a change of ``school_id`` affects."""
    reach = set(school_store.reach(session, school_id))
    return [row.slug for row in school_store.every(session) if row.id in reach]


def listed(rt: Runtime, session: Session) -> list[School]:
    """Every school of the trust, in the caller's transaction."""
    return [_school(rt, row) for row in school_store.every(session)]


def named(rt: Runtime, session: Session) -> dict[int, str]:
    """Every school's name by id."""
    return {school.id: school.name for school in listed(rt, session)}


def reach_of(rt: Runtime, school_id: int) -> list[School]:
    """The schools a change of ``school_id`` affects."""
    with rt.db.read() as session:
        reach = set(school_store.reach(session, school_id))
        return [_school(rt, row) for row in school_store.every(session) if row.id in reach]


def add_school(rt: Runtime, *, slug: str, name: str, nation: str = "", actor_label: str = "cli") -> School:
    """A new school of the trust (the command line's: an operator's act)."""
    slug, name, nation = slug.strip(), " ".join(name.split()), nation.strip()
    problems = {k: v for k, v in (("slug", slug_problem(slug)), ("nation", nation_problem(nation))) if v}
    if not name or len(name) > NAME_MAX:
        problems["name"] = f"give the school's name (up to {NAME_MAX} characters)"
    with common.unit_of_work(rt) as session:
        if not problems and any(row.slug == slug for row in school_store.every(session)):
            problems["slug"] = f"{slug} is already a school's"
        if problems:
            raise InvalidInput(problems)
        school_id = school_store.add(session, slug=slug, name=name, nation=nation)
        audit_store.append(session, actor=actor_label, change_ref="", event_type="school.added",
                           payload={"slug": slug, "name": name, "nation": nation})
        return School(school_id, slug, name, nation or rt.settings.school.nation)


def set_user_schools(rt: Runtime, *, email: str, slugs: Iterable[str], actor_label: str = "cli") -> list[str]:
    """``email`` belongs to exactly these schools (the command line's); their slugs, sorted."""
    with common.unit_of_work(rt) as session:
        user = queries.user_by_email(session, email)
        if user is None or user.id is None:
            raise NotFound(f"no user {email.strip().lower()}")
        return set_in(session, user_id=user.id, email=user.email, slugs=slugs, actor_label=actor_label)


def set_in(session: Session, *, user_id: int, email: str, slugs: Iterable[str],
           actor_label: str, allowed: frozenset[int] | None = None) -> list[str]:
    """``set_user_schools`` in the caller's transaction (an administrator's save of a person,
    who adds or takes away only schools in ``allowed``: theirs; None: any)."""
    wanted = sorted({s.strip() for s in slugs if s.strip()})
    known = {row.slug: row.id for row in school_store.every(session)}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise InvalidInput({"schools": f"no school {', '.join(unknown)} (known: {', '.join(sorted(known))})"})
    held = school_store.members_of(session, user_id)
    before = sorted(slug for slug, sid in known.items() if sid in held)
    outside = sorted(s for s in set(wanted) ^ set(before) if allowed is not None and known[s] not in allowed)
    if outside:
        raise InvalidInput({"schools": f"{', '.join(outside)}: not a school you administer"})
    school_store.set_schools(session, user_id, (known[s] for s in wanted))
    if before != wanted:
        audit_store.append(session, actor=actor_label, change_ref="", event_type="user.schools",
                           payload={"email": email, "schools": {"before": before, "after": wanted}})
    return wanted


def of_person(rt: Runtime, user_id: int) -> list[str]:
    """The slugs of the schools a person belongs to."""
    with rt.db.read() as session:
        held = school_store.members_of(session, user_id)
        return [row.slug for row in school_store.every(session) if row.id in held]
