"""Read queries shared by services."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from .models import Approval, Change, User, UserAudience, UserRole


def user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def roles_of(session: Session, user_id: int) -> set[str]:
    return set(session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).all())


def audiences_of(session: Session, user_id: int) -> set[str]:
    rows = session.exec(select(UserAudience.audience).where(UserAudience.user_id == user_id))
    return set(rows.all())


def users_with_roles(session: Session, roles: Iterable[str]) -> list[int]:
    query = (
        select(UserRole.user_id)
        .join(User, col(User.id) == col(UserRole.user_id))
        .where(col(UserRole.role).in_(list(roles)), col(User.active).is_(True))
        .distinct()
    )
    return sorted(session.exec(query).all())


def audience_members(session: Session, audiences: Iterable[str]) -> list[int]:
    query = (
        select(UserAudience.user_id)
        .join(User, col(User.id) == col(UserAudience.user_id))
        .where(col(UserAudience.audience).in_(list(audiences)), col(User.active).is_(True))
        .distinct()
    )
    return sorted(session.exec(query).all())


def change_by_ref(session: Session, ref: str) -> Change | None:
    return session.exec(select(Change).where(Change.ref == ref.strip().upper())).first()


def approvals_in_round(session: Session, change_id: int, gate: str, round_: int) -> list[Approval]:
    query = select(Approval).where(
        Approval.change_id == change_id, Approval.gate == gate, Approval.round == round_
    )
    return list(session.exec(query.order_by(col(Approval.id))).all())


def deciders_of(session: Session, change_id: int) -> list[int]:
    rows = session.exec(select(Approval.approver_id).where(Approval.change_id == change_id).distinct())
    return sorted(rows.all())


def all_approvals(session: Session, change_id: int) -> list[tuple[Approval, str]]:
    """Every decision on a change with the approver's name, oldest first."""
    query = (
        select(Approval, User.name)
        .join(User, col(User.id) == col(Approval.approver_id))
        .where(Approval.change_id == change_id)
        .order_by(col(Approval.id))
    )
    return [(row[0], row[1]) for row in session.exec(query).all()]
