"""The service catalogue: services with dependencies, edited by administrators (pages,
CLI, API); a change's affected services are chosen from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session

from ..domain import limits
from ..domain.catalogue import Catalogue
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN
from ..domain.text import one_line_problem
from ..persistence import audit_store, school_store, service_store
from ..persistence.models import Service
from . import schools
from .common import load_actor, unit_of_work
from .runtime import Runtime

# The demo school's catalogue: name → (description, depends on).
DEMO_SERVICES: dict[str, tuple[str, tuple[str, ...]]] = {
    "Core network": ("Switches, routers, cabling and the server room", ()),
    "Internet and filtering": ("The broadband line, firewall and web filter", ("Core network",)),
    "Wi-Fi": ("Access points and the wireless controller", ("Core network",)),
    "Curriculum network": ("Student and staff PCs, logins and file shares", ("Core network",)),
    "MIS": ("The management information system: registers, timetables, reports",
            ("Core network", "Internet and filtering")),
    "Email": ("Staff and student email", ("Internet and filtering",)),
    "Printing": ("Printers, copiers and print release", ("Curriculum network",)),
    "Telephony": ("Phones and the switchboard", ("Core network",)),
    "CCTV": ("Cameras and the recorder", ("Core network",)),
    "Classroom AV": ("Projectors, panels and sound in classrooms", ("Wi-Fi",)),
    "Exam PCs": ("The exam room's PCs and their locked-down logins", ("Curriculum network",)),
}


@dataclass(frozen=True)
class ServiceView:
    id: int
    name: str
    description: str
    active: bool
    depends_on: tuple[str, ...]
    school: str = ""  # the school whose own service it is ("": the trust's)


def _view(session: Session, row: Service | None, cat: Catalogue | None = None,
          slugs: dict[int, str] | None = None) -> ServiceView:
    assert row is not None and row.id is not None
    cat = cat or service_store.catalogue(session)
    school = "" if row.school_id is None else (slugs or {}).get(row.school_id) \
        or school_store.slug_of(session, row.school_id)
    return ServiceView(row.id, row.name, row.description, row.active,
                       tuple(sorted(cat.names[d] for d in cat.depends_on.get(row.id, ()))), school)


def _seen(rt: Runtime, session: Session, actor_id: int | None) -> frozenset[int] | None:
    """The schools whose own services this person sees (None: every school's)."""
    return load_actor(rt, session, actor_id).schools if actor_id is not None else None


def page_services(rt: Runtime, *, q: str = "", limit: int = 50, offset: int = 0,
                  actor_id: int | None = None) -> tuple[list[ServiceView], int]:
    """A page of the catalogue: the trust's services and (``actor_id``) the person's schools'."""
    with rt.db.read() as session:
        rows, total = service_store.page(session, q=q.strip()[:limits.SEARCH], limit=limit, offset=offset,
                                         schools=_seen(rt, session, actor_id))
        cat = service_store.catalogue(session)  # once for the page, not per row
        slugs = {row.id: row.slug for row in school_store.every(session)}
        return [_view(session, r, cat, slugs) for r in rows], total


def active_names(rt: Runtime, actor_id: int | None = None) -> list[str]:
    """The services a change may choose: the trust's and (``actor_id``) the person's schools'."""
    with rt.db.read() as session:
        return [s.name for s in service_store.active(session, schools=_seen(rt, session, actor_id))]


def get_service(rt: Runtime, *, service_id: int, actor_id: int | None = None) -> ServiceView:
    with rt.db.read() as session:
        row = service_store.get(session, service_id)
        if row is None or not service_store.visible(row, _seen(rt, session, actor_id)):
            raise NotFound(f"no service {service_id}")
        return _view(session, row)


def save_service(rt: Runtime, *, actor_id: int | None, name: str, description: str = "",
                 depends_on: Iterable[str] = (), active: bool = True, school: str = "") -> ServiceView:
    """Add a service, or change the one with this name: description, dependencies, whether
    changes may still choose it. Administrators (or the command line, ``actor_id=None``). A
    new service is the trust's, or (``school``; an administrator of some schools always) one
    school's own; an administrator of some schools changes only their schools' own."""
    problems: dict[str, str] = {}
    name = (name or "").strip()
    description = (description or "").strip()
    for field, value, maximum, required in (("name", name, limits.SERVICE, True),
                                            ("description", description, limits.SERVICE_DESCRIPTION, False)):
        problem = one_line_problem(value, maximum, required=required)
        if problem:
            problems[field] = problem
    wanted = [d.strip() for d in depends_on if d and d.strip()]
    if len(wanted) > limits.SERVICES:
        problems["depends_on"] = f"at most {limits.SERVICES} services"
    with unit_of_work(rt) as session:
        label, actor = "cli", None
        if actor_id is not None:
            actor = load_actor(rt, session, actor_id)
            if ADMIN not in actor.roles:
                raise NotPermitted("the service catalogue is for administrators")
            label = actor.label
        seen = actor.schools if actor is not None else None
        existing = service_store.by_name(session, name) if name else None
        school_id = existing.school_id if existing is not None else None
        if existing is not None and not service_store.visible(existing, seen):
            existing = None  # another school's: as if there were none, and its name is taken
            problems["name"] = "that name is taken: choose another"
        elif existing is not None and seen is not None and existing.school_id is None:
            raise NotPermitted("the trust's services are changed by an administrator who acts in every "
                               "school")
        elif existing is None and not problems:
            try:
                school_id = schools.owner_of_new(rt, session, actor, school)
            except InvalidInput as err:
                problems |= err.problems
        cat = service_store.catalogue(session)
        # The trust's services depend on the trust's; a school's on the trust's and its own.
        usable = service_store.names(session, schools=[] if school_id is None else [school_id])
        unknown = [d for d in wanted if d.lower() not in cat.by_name or d.lower() not in usable]
        if unknown:
            problems["depends_on"] = f"unknown service {', '.join(unknown)}" + (
                " (a service of the trust depends only on the trust's)" if school_id is None else "")
        if problems:
            raise InvalidInput(problems)
        sid, created = service_store.save(session, name=name, description=description, active=active,
                                          at=rt.now(), school_id=school_id)
        targets = cat.ids(wanted)
        if cat.would_cycle(sid, targets):
            raise InvalidInput({"depends_on": "would make a service depend on itself"})
        service_store.set_dependencies(session, sid, targets)
        audit_store.append(session, actor=label, change_ref="", event_type="service.saved",
                           payload={"name": name, "created": created, "active": active,
                                    "depends_on": sorted(cat.names[t] for t in targets)})
        row = service_store.get(session, sid)
        return _view(session, row)


def canonical(session: Session, names: Iterable[str],
              schools_of: Iterable[int] | None = None) -> tuple[list[str], str]:
    """The catalogue's names for ``names`` (matched without regard to case), and a problem
    ("" when every one is an active service — the trust's, or of ``schools_of``)."""
    cat_rows = {s.name.lower(): s.name for s in service_store.active(session, schools=schools_of)}
    found: list[str] = []
    unknown: list[str] = []
    for n in dict.fromkeys(n.strip() for n in names if n and n.strip()):
        (found if n.lower() in cat_rows else unknown).append(cat_rows.get(n.lower(), n))
    if not unknown:
        return found, ""
    known = sorted(cat_rows.values())
    hint = ", ".join(known[:12]) + (" …" if len(known) > 12 else "") if known else \
        "the catalogue is empty: an administrator adds services on Admin → Services"
    return found, f"unknown service {', '.join(unknown)[:200]} (choose from the catalogue: {hint})"


def load_demo(rt: Runtime) -> None:
    for name, (description, depends) in DEMO_SERVICES.items():
        save_service(rt, actor_id=None, name=name, description=description, depends_on=depends)
