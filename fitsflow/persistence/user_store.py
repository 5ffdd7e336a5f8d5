"""People: their rows, roles and audiences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, delete, func, select

from ..domain.errors import InvalidInput
from ..domain.roles import REQUESTER
from . import provider_store, queries, school_store
from .models import RoleGrant, User, UserAudience, UserRole


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def upsert(session: Session, *, email: str, name: str, password_hash: str | None,
           now: datetime) -> tuple[int, bool]:
    """Create the user with this email or rename the one there is: (id, created)."""
    user = queries.user_by_email(session, email)
    created = user is None
    if user is None:
        user = User(name=name, email=email, created_at=now)
    user.name = name
    if password_hash:
        user.password_hash = password_hash
    session.add(user)
    session.flush()
    assert user.id is not None
    if created:
        school_store.join_the_only_school(session, user.id)
    return user.id, created


def with_password(session: Session, user_ids: Sequence[int]) -> set[int]:
    """Which of these people have a password (the others have not chosen one yet)."""
    if not user_ids:
        return set()
    found = session.exec(select(User.id).where(col(User.id).in_(list(user_ids)),
                                               col(User.password_hash).is_not(None))).all()
    return {user_id for user_id in found if user_id is not None}


def replace_roles(session: Session, user_id: int, roles: Sequence[str],
                  audiences: Sequence[str]) -> tuple[list[str], list[str]]:
    """Give the user exactly these roles and audiences; return what they had before. A person
    of an external IT provider holds their contract role alone (InvalidInput otherwise)."""
    contract_roles_only(session, user_id, roles)
    before = sorted(queries.roles_of(session, user_id)), sorted(queries.audiences_of(session, user_id))
    session.execute(delete(UserRole).where(UserRole.user_id == user_id))  # type: ignore[arg-type]
    session.execute(delete(UserAudience).where(UserAudience.user_id == user_id))  # type: ignore[arg-type]
    session.add_all(UserRole(user_id=user_id, role=r) for r in roles)
    session.add_all(UserAudience(user_id=user_id, audience=a) for a in audiences)
    session.flush()  # later Core reads in this transaction (who the admins are) must see them
    return before


def set_active(session: Session, user_id: int, active: bool) -> str | None:
    """Activate or deactivate; the user's email, or None when there is no such user."""
    user = session.get(User, user_id)
    if user is None:
        return None
    user.active = active
    session.add(user)
    return user.email


def set_password_hash(session: Session, user_id: int, password_hash: str) -> None:
    user = session.get(User, user_id)
    assert user is not None
    user.password_hash = password_hash
    session.add(user)


def set_must_change_password(session: Session, user_id: int, value: bool) -> None:
    user = session.get(User, user_id)
    assert user is not None
    user.must_change_password = value
    session.add(user)


def count_except(session: Session, emails: Sequence[str]) -> int:
    """How many users have none of these emails."""
    query = select(func.count()).select_from(User).where(col(User.email).not_in(list(emails)))
    return int(session.exec(query).one())


def active_admin_count(session: Session) -> int:
    return len(queries.users_with_roles(session, ["admin"]))


def add_grant(session: Session, *, user_id: int, role: str, requested_by: int, at: datetime,
              act: str = "grant", absence_id: int | None = None) -> bool:
    """Record a privileged act waiting for a second administrator (once per user, role and
    act; each absence its own): whether it was new."""
    existing = None if absence_id is not None else session.exec(select(RoleGrant).where(
        RoleGrant.user_id == user_id, RoleGrant.role == role, RoleGrant.act == act,
        RoleGrant.status == "pending")).first()
    if existing is None:
        session.add(RoleGrant(user_id=user_id, role=role, requested_by=requested_by, requested_at=at,
                              act=act, absence_id=absence_id))
    return existing is None


def pending_grants(session: Session) -> list[tuple[RoleGrant, str, str, str]]:
    """Pending grants with (grant, the person's email, name, who asked's email), oldest first."""
    asker = aliased(User)
    rows = session.exec(select(RoleGrant, User.email, User.name, asker.email)
                        .join(User, col(User.id) == col(RoleGrant.user_id))
                        .join(asker, col(asker.id) == col(RoleGrant.requested_by))
                        .where(RoleGrant.status == "pending").order_by(col(RoleGrant.id))).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def get_grant(session: Session, grant_id: int) -> RoleGrant | None:
    return session.get(RoleGrant, grant_id)


def decide_grant(session: Session, grant: RoleGrant, *, confirmed: bool, by: int, at: datetime) -> None:
    grant.status = "confirmed" if confirmed else "refused"
    grant.decided_by, grant.decided_at = by, at
    session.add(grant)
    if not confirmed:
        return
    if grant.act == "grant":
        contract_roles_only(session, grant.user_id, [grant.role])
        session.add(UserRole(user_id=grant.user_id, role=grant.role))
    elif grant.act == "remove":
        session.execute(delete(UserRole).where(col(UserRole.user_id) == grant.user_id,
                                               col(UserRole.role) == grant.role))


# The role a person of an external IT provider holds under their contract: their access is as
# narrow as a requester's, on whichever route a role would come (admin, import, SSO, a grant).
CONTRACT_ROLES: tuple[str, ...] = (REQUESTER,)


def contract_roles_only(session: Session, user_id: int, roles: Sequence[str]) -> None:
    beyond = sorted(set(roles) - set(CONTRACT_ROLES))
    if beyond and provider_store.provider_of(session, user_id) is not None:
        raise InvalidInput({"roles": f"a person of an external IT provider holds only their contract role "
                                     f"({', '.join(CONTRACT_ROLES)}), not {', '.join(beyond)}"})
