"""External IT providers and their people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..domain.errors import InvalidInput
from .models import Provider, ProviderMember, User

_PROVIDERS = Provider.__table__  # type: ignore[attr-defined]
_MEMBERS = ProviderMember.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]


def add(session: Session, *, name: str, contract: str, contract_ends: date | None, now: datetime) -> int:
    """A new provider; InvalidInput when one of that name was recorded meanwhile."""
    try:
        with session.begin_nested():
            return int(session.connection().execute(insert(_PROVIDERS).values(
                name=name, contract=contract, contract_ends=contract_ends, created_at=now)
                .returning(_PROVIDERS.c.id)).scalar_one())
    except IntegrityError:
        raise InvalidInput({"name": f"a provider named {name[:200]} is recorded already"}) from None


def by_name(session: Session, name: str) -> Any:
    """The provider of this name, case aside in any script (a handful per installation: compared
    here, as SQLite's lower() folds ASCII alone)."""
    wanted = name.strip().casefold()
    return next((row for row in session.connection().execute(select(_PROVIDERS))
                 if row.name.casefold() == wanted), None)


def every(session: Session) -> Sequence[Any]:
    """Every provider with how many people are theirs, by name."""
    people = (select(func.count()).where(_MEMBERS.c.provider_id == _PROVIDERS.c.id).scalar_subquery())
    return session.connection().execute(
        select(_PROVIDERS, people.label("people")).order_by(_PROVIDERS.c.name)).all()


def members(session: Session, provider_id: int) -> Sequence[Any]:
    """(id, name, email) of the provider's people, by name."""
    return session.connection().execute(
        select(_USERS.c.id, _USERS.c.name, _USERS.c.email).join(_MEMBERS, _MEMBERS.c.user_id == _USERS.c.id)
        .where(_MEMBERS.c.provider_id == provider_id).order_by(_USERS.c.name)).all()


def provider_of(session: Session, user_id: int) -> int | None:
    found = session.connection().execute(
        select(_MEMBERS.c.provider_id).where(_MEMBERS.c.user_id == user_id)).scalar()
    return int(found) if found is not None else None


def set_member(session: Session, user_id: int, provider_id: int | None) -> None:
    connection = session.connection()
    if provider_id is None:
        connection.execute(delete(_MEMBERS).where(_MEMBERS.c.user_id == user_id))
    elif not connection.execute(update(_MEMBERS).where(_MEMBERS.c.user_id == user_id)
                                .values(provider_id=provider_id)).rowcount:
        connection.execute(insert(_MEMBERS).values(user_id=user_id, provider_id=provider_id))


def people_of_every_provider(session: Session) -> dict[int, int]:
    """User → provider, for every provider's people."""
    return {int(u): int(p) for u, p in session.connection().execute(select(_MEMBERS.c.user_id,
                                                                            _MEMBERS.c.provider_id))}
