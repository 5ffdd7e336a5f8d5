"""People's accounts at single sign-on providers (``sso_identities``)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from ..domain.errors import Stale
from . import school_store
from .models import SsoIdentity, User


def by_subject(session: Session, provider: str, subject: str) -> SsoIdentity | None:
    return session.exec(select(SsoIdentity).where(SsoIdentity.provider == provider,
                                                  SsoIdentity.subject == subject)).first()


def of_user(session: Session, provider: str, user_id: int) -> SsoIdentity | None:
    return session.exec(select(SsoIdentity).where(SsoIdentity.provider == provider,
                                                  SsoIdentity.user_id == user_id)).first()


def providers_of(session: Session, user_id: int) -> list[str]:
    """The providers this person has signed in with."""
    return sorted(session.exec(select(SsoIdentity.provider).where(SsoIdentity.user_id == user_id)).all())


def given(identity: SsoIdentity) -> tuple[set[str], set[str]]:
    """The roles and audiences the provider's groups gave at the last sign-in."""
    return set(json.loads(identity.mapped_roles)), set(json.loads(identity.mapped_audiences))


def save(session: Session, identity: SsoIdentity | None, *, provider: str, subject: str, user_id: int,
         roles: set[str], audiences: set[str], at: datetime) -> None:
    """Bind the subject to the person (first sign-in) or record this sign-in's grants."""
    if identity is None:
        identity = SsoIdentity(provider=provider, subject=subject, user_id=user_id, created_at=at,
                               last_sign_in_at=at)
    identity.mapped_roles = json.dumps(sorted(roles))
    identity.mapped_audiences = json.dumps(sorted(audiences))
    identity.last_sign_in_at = at
    session.add(identity)
    _flush(session)


def create_user(session: Session, *, email: str, name: str, at: datetime) -> int:
    """A person made at their first sign-in (no password: they sign in with the provider)."""
    user = User(name=name, email=email, created_at=at)
    session.add(user)
    _flush(session)
    assert user.id is not None
    school_store.join_the_only_school(session, user.id)
    return user.id


def remove(session: Session, provider: str, user_id: int) -> bool:
    """Forget a person's binding to a provider: whether there was one."""
    done = session.execute(delete(SsoIdentity).where(col(SsoIdentity.provider) == provider,
                                                     col(SsoIdentity.user_id) == user_id))
    return bool(getattr(done, "rowcount", 0))


def _flush(session: Session) -> None:
    """Two first sign-ins of one person at the same moment: the second is told to try again
    (the first bound them), not failed."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Stale("your first sign-in") from None
