"""Evidence: what a change is evidence of — tags from the evidence catalogue (DfE standards,
Cyber Essentials controls, RPA conditions, the filtering review) recorded by its owners, or
given by the template it was raised from — and, for a security update, the day its vendor
released it, from which the report counts the days to our release."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from sqlmodel import Session

from ..config import evidence_catalogue
from ..domain import evidence as rules
from ..domain.errors import InvalidInput, NotPermitted
from ..persistence import audit_store, evidence_store
from . import common
from .common import unit_of_work
from .ownership import owns
from .runtime import Runtime
from .views import ChangeView


@dataclass(frozen=True)
class Evidence:
    tags: tuple[rules.Tag, ...]
    vendor_released_on: date | None


@lru_cache(maxsize=8)
def _catalogue(path: str) -> dict[str, rules.Tag]:
    return evidence_catalogue(path)


def catalogue(rt: Runtime) -> dict[str, rules.Tag]:
    """The evidence tags, by name (checked when the settings were read)."""
    return _catalogue(rt.settings.evidence.catalogue)


def clean(rt: Runtime, given: list[str] | str) -> tuple[list[str], str]:
    """The tags named (one per line, or separated by commas), and a problem ("" when every one
    is in the catalogue)."""
    names = given.replace(",", "\n").split("\n") if isinstance(given, str) else list(given)
    tags = list(dict.fromkeys(t.strip().lower() for t in names if t and t.strip()))
    return tags, rules.tags_problem(tags, catalogue(rt))


def of_change(rt: Runtime, session: Session, change_id: int) -> Evidence:
    row = evidence_store.get(session, change_id)
    known = catalogue(rt)
    tags = tuple(known[t] for t in (row.tags.split("\n") if row else ()) if t in known)
    return Evidence(tags, row.vendor_released_on if row else None)


def save(session: Session, change_id: int, tags: list[str], vendor_released_on: date | None,
         at: datetime) -> None:
    evidence_store.save(session, change_id, tags, vendor_released_on, at)


def record(rt: Runtime, *, actor_id: int, ref: str, tags: list[str] | str, vendor_released_on: str = "",
           expected_version: int | None = None) -> ChangeView:
    """Its owners say what the change is evidence of (and when the vendor released what it
    installs: a security update's clock starts there)."""
    names, problem = clean(rt, tags)
    problems = {"tags": problem} if problem else {}
    vendor: date | None = None
    if vendor_released_on.strip():
        try:
            vendor = date.fromisoformat(vendor_released_on.strip())
        except ValueError:
            problems["vendor_released_on"] = "a day as YYYY-MM-DD"
    if vendor is not None and vendor > rt.today():
        problems["vendor_released_on"] = "a day that has come (the vendor's release)"
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor, lock=True)
        common.check_version(change, expected_version)
        if not owns(session, change, actor.id):
            raise NotPermitted("what a change is evidence of is recorded by its requester or a co-owner")
        if problems:
            raise InvalidInput(problems)
        save(session, change.id, names, vendor, rt.now())
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="evidence.recorded",
                           payload={"tags": names,
                                    "vendor_released_on": vendor.isoformat() if vendor else None})
        return common.view_of(session, rt, change)


def of_ref(rt: Runtime, *, actor_id: int, ref: str) -> Evidence:
    """What a change this person sees is evidence of."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        return of_change(rt, session, change.id)
