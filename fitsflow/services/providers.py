"""External IT providers (issue 25.7): an organisation under contract whose people raise and
implement changes for the school as requesters — their contract role, and no other (their
access is as narrow as a requester's: persistence.user_store.contract_roles_only) — and the
annual review of IT support the report gives for each (services.reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from ..domain import limits
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN
from ..domain.text import text_field
from ..persistence import audit_store, provider_store, queries, school_store
from ..persistence.user_store import CONTRACT_ROLES
from . import common, users
from .common import unit_of_work
from .runtime import Runtime


@dataclass(frozen=True)
class ProviderView:
    id: int
    name: str
    contract: str
    contract_ends: date | None
    people: tuple[tuple[int, str, str], ...]  # (id, name, email)


def _admin(rt: Runtime, session: Session, actor_id: int | None) -> str:
    if actor_id is None:
        return "cli"
    actor = common.load_actor(rt, session, actor_id)
    if ADMIN not in actor.roles:
        raise NotPermitted("external IT providers are recorded by administrators")
    return actor.label


def add(rt: Runtime, *, actor_id: int | None, name: str, contract: str = "",
        contract_ends: str | date | None = None) -> ProviderView:
    """Record a provider organisation (administrators; ``actor_id=None``: the command line)."""
    problems: dict[str, str] = {}
    name = text_field({"name": name}, "name", problems, required=True, maximum=200)
    contract = text_field({"contract": contract}, "contract", problems, required=False, maximum=300)
    ends: date | None = None
    if isinstance(contract_ends, date):
        ends = contract_ends
    elif contract_ends:
        try:
            ends = date.fromisoformat(str(contract_ends).strip())
        except ValueError:
            problems["contract_ends"] = "must be a date (YYYY-MM-DD)"
    if problems:
        raise InvalidInput(problems)
    with unit_of_work(rt) as session:
        label = _admin(rt, session, actor_id)
        if provider_store.by_name(session, name) is not None:
            raise InvalidInput({"name": f"a provider named {name} is recorded already"})
        new_id = provider_store.add(session, name=name, contract=contract, contract_ends=ends, now=rt.now())
        audit_store.append(session, actor=label, change_ref="", event_type="provider.added",
                           payload={"provider": new_id, "name": name, "contract": contract})
        return ProviderView(new_id, name, contract, ends, ())


def every(rt: Runtime, *, actor_id: int | None) -> list[ProviderView]:
    """The providers, each with the people of it the administrator manages (an administrator of
    some schools: their schools' people and those of no school yet)."""
    with rt.db.read() as session:
        _admin(rt, session, actor_id)
        mine = common.load_actor(rt, session, actor_id).schools if actor_id is not None else None

        def managed(user_id: int) -> bool:
            theirs = school_store.members_of(session, user_id)
            return mine is None or not theirs or bool(theirs & mine)

        return [ProviderView(p.id, p.name, p.contract, p.contract_ends,
                             tuple((m.id, m.name, m.email) for m in provider_store.members(session, p.id)
                                   if managed(m.id)))
                for p in provider_store.every(session)]


def set_member(rt: Runtime, *, actor_id: int | None, email: str, provider: str) -> None:
    """Make someone one of a provider's people (``provider``: its name), or nobody's (""). They
    must hold no role but the contract role. An administrator of some schools sets only their
    people (anyone else is not found)."""
    with rt.db.read() as session:
        _admin(rt, session, actor_id)
        known = queries.user_by_email(session, email[:limits.EMAIL])
        if known is None or known.id is None:
            raise NotFound(f"no user with email {email[:80]}")
        known_id = known.id
    if actor_id is not None:
        users.check_manages(rt, actor_id=actor_id, user_id=known_id)
    with unit_of_work(rt) as session:
        label = _admin(rt, session, actor_id)
        user = queries.user_by_email(session, email[:limits.EMAIL])
        if user is None or user.id is None:
            raise NotFound(f"no user with email {email[:80]}")
        found = None
        if provider.strip():
            found = provider_store.by_name(session, provider)
            if found is None:
                raise InvalidInput({"provider": f"no provider named {provider[:80]}"})
            beyond = sorted(queries.roles_of(session, user.id) - set(CONTRACT_ROLES))
            if beyond:
                raise InvalidInput({"email": f"{user.email} holds {', '.join(beyond)}: a provider's people "
                                             f"hold only their contract role ({', '.join(CONTRACT_ROLES)})"})
        provider_store.set_member(session, user.id, found.id if found is not None else None)
        audit_store.append(session, actor=label, change_ref="", event_type="provider.member",
                           payload={"email": user.email, "provider": found.name if found is not None else ""})
