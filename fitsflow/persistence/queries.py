"""Read queries shared by services."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, or_, true
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from . import school_store
from .models import (
    Approval,
    Change,
    GateReminder,
    GateRequirement,
    School,
    SchoolMember,
    User,
    UserAudience,
    UserRole,
)

_USERS = User.__table__  # type: ignore[attr-defined]
_ROLES = UserRole.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]
_AUDIENCES = UserAudience.__table__  # type: ignore[attr-defined]
_MEMBERS = SchoolMember.__table__  # type: ignore[attr-defined]
_SCHOOLS = School.__table__  # type: ignore[attr-defined]

# Statements on the decision path are built once: building a select() costs more
# than running it.
_ACTOR = (core_select(_USERS.c.id, _USERS.c.name, _USERS.c.email, _USERS.c.active, _ROLES.c.role,
                      _USERS.c.must_change_password, _USERS.c.totp_enabled_at, _USERS.c.mfa_exempt,
                      (_USERS.c.password_hash.is_not(None)).label("has_password"), _MEMBERS.c.school_id,
                      core_select(func.count()).select_from(_SCHOOLS).where(_SCHOOLS.c.is_set.is_(False))
                      .scalar_subquery().label("schools"))
          .select_from(_USERS.outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
                       .outerjoin(_MEMBERS, _MEMBERS.c.user_id == _USERS.c.id))
          .where(_USERS.c.id == bindparam("uid")))
_ROUND = (core_select(_APPROVALS.c.approver_id, _APPROVALS.c.role, _APPROVALS.c.decision,
                      _APPROVALS.c.acted_by)
          .where(_APPROVALS.c.change_id == bindparam("cid"), _APPROVALS.c.gate == bindparam("gate"),
                 _APPROVALS.c.round == bindparam("round"))
          .order_by(_APPROVALS.c.id))
_WITH_ROLES: dict[tuple[tuple[str, ...], tuple[str, ...], bool], Any] = {}
_INSERT_APPROVAL = _APPROVALS.insert()


@dataclass(frozen=True)
class ActorRow:
    """What acting needs to know of a user."""

    id: int
    name: str
    email: str
    active: bool
    roles: frozenset[str]
    must_change_password: bool
    has_second_factor: bool
    mfa_exempt: bool
    has_password: bool = True
    schools: frozenset[int] = frozenset()  # the schools they belong to
    every_school: bool = False  # they belong to every school there is


def actor_row(session: Session, user_id: int) -> ActorRow | None:
    """A user as acting needs them (with all their roles), in one statement."""
    rows = session.connection().execute(_ACTOR, {"uid": user_id}).all()
    if not rows:
        return None
    first = rows[0]
    schools = frozenset(r.school_id for r in rows if r.school_id is not None)
    return ActorRow(id=first.id, name=first.name, email=first.email, active=bool(first.active),
                    roles=frozenset(r.role for r in rows if r.role),
                    must_change_password=bool(first.must_change_password),
                    has_second_factor=first.totp_enabled_at is not None, mfa_exempt=bool(first.mfa_exempt),
                    has_password=bool(first.has_password), schools=schools,
                    every_school=len(schools) >= int(first.schools))


def user_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.strip().lower())).first()


def users_by_emails(session: Session, emails: Iterable[str]) -> list[User]:
    """The users with these emails, in chunks a database takes as parameters."""
    wanted = sorted({e.strip().lower() for e in emails})
    found: list[User] = []
    for start in range(0, len(wanted), 500):
        found += session.exec(select(User).where(col(User.email).in_(wanted[start:start + 500]))).all()
    return found


def names_of(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """Each user's name by id."""
    ids = set(user_ids)
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all()
    return {int(uid): name for uid, name in rows if uid is not None}


def roles_of(session: Session, user_id: int) -> set[str]:
    return set(session.exec(select(UserRole.role).where(UserRole.user_id == user_id)).all())


def audiences_of(session: Session, user_id: int) -> set[str]:
    rows = session.exec(select(UserAudience.audience).where(UserAudience.user_id == user_id))
    return set(rows.all())


def _with_roles(roles: tuple[str, ...], across: tuple[str, ...], scoped: bool) -> Any:
    """One prebuilt statement per set of roles (roles come from a fixed vocabulary),
    so no expanding IN has to be rendered on every call; ``scoped``: members of the school
    bound as ``school`` only, or holders of a role in ``across``."""
    key = (roles, across, scoped)
    statement = _WITH_ROLES.get(key)
    if statement is None:
        statement = (core_select(_ROLES.c.user_id).distinct()
                     .select_from(_ROLES.join(_USERS, _USERS.c.id == _ROLES.c.user_id))
                     .where(or_(*[_ROLES.c.role == role for role in roles]), _USERS.c.active == true())
                     .order_by(_ROLES.c.user_id))
        if scoped:
            statement = statement.where(or_(
                *[_ROLES.c.role == role for role in across],
                exists().where(_MEMBERS.c.user_id == _ROLES.c.user_id,
                               school_store.members_in(bindparam("school")))))
        _WITH_ROLES[key] = statement
    return statement


def users_with_roles(session: Session, roles: Iterable[str], *, school_id: int | None = None,
                     across: Iterable[str] = ()) -> list[int]:
    """The active holders of any of ``roles``; with ``school_id``, only the people of that
    school — and holders of a role in ``across`` (trust roles act in every school)."""
    key = tuple(sorted(set(roles)))
    if not key:
        return []
    if school_id is None:
        return list(session.connection().execute(_with_roles(key, (), False)).scalars())
    trust = tuple(sorted(set(key) & set(across)))
    return list(session.connection().execute(_with_roles(key, trust, True), {"school": school_id}).scalars())


def audience_members(session: Session, audiences: Iterable[str], *,
                     school_id: int | None = None) -> list[int]:
    """The active members of ``audiences`` (of the school ``school_id``, when given)."""
    query = (
        select(UserAudience.user_id)
        .join(User, col(User.id) == col(UserAudience.user_id))
        .where(col(UserAudience.audience).in_(list(audiences)), col(User.active).is_(True))
        .distinct()
    )
    if school_id is not None:
        query = query.where(exists().where(_MEMBERS.c.user_id == UserAudience.user_id,
                                           school_store.members_in(school_id)))
    return sorted(session.exec(query).all())


class Vote:
    """One decision in a gate round, as guards and notifications read it."""

    __slots__ = ("approver_id", "role", "decision", "acted_by")

    def __init__(self, approver_id: int, role: str, decision: str, acted_by: int | None = None):
        self.approver_id, self.role, self.decision = approver_id, role, decision
        self.acted_by = acted_by  # the substitute who made it in the approver's name


def approvals_in_round(session: Session, change_id: int, gate: str, round_: int) -> list[Vote]:
    rows = session.connection().execute(_ROUND, {"cid": change_id, "gate": gate, "round": round_})
    return [Vote(*row) for row in rows]


def add_approval(session: Session, *, change_id: int, gate: str, round_: int, approver_id: int,
                 role: str, decision: str, comment: str, decided_at: Any,
                 acted_by: int | None = None) -> None:
    # A list of one row: nothing asks for the new id back (no RETURNING on PostgreSQL).
    session.connection().execute(_INSERT_APPROVAL, [{
        "change_id": change_id, "gate": gate, "round": round_, "approver_id": approver_id,
        "role": role, "decision": decision, "comment": comment, "decided_at": decided_at,
        "acted_by": acted_by}])


def deciders_of(session: Session, change_id: int) -> list[int]:
    rows = session.exec(select(Approval.approver_id).where(Approval.change_id == change_id).distinct())
    return sorted(rows.all())


_USERS_T = User.__table__  # type: ignore[attr-defined]
_BY = _USERS_T.alias("by")
_ALL_APPROVALS = (core_select(_APPROVALS.c.gate, _APPROVALS.c.round,
                              func.coalesce(_BY.c.name + " on behalf of " + _USERS_T.c.name,
                                            _USERS_T.c.name).label("approver"),
                              _APPROVALS.c.role, _APPROVALS.c.decision, _APPROVALS.c.comment,
                              _APPROVALS.c.decided_at)
                  .join_from(_APPROVALS, _USERS_T, _USERS_T.c.id == _APPROVALS.c.approver_id)
                  .outerjoin(_BY, _BY.c.id == _APPROVALS.c.acted_by)
                  .where(_APPROVALS.c.change_id == bindparam("cid"))
                  .order_by(_APPROVALS.c.id))


def all_approvals(session: Session, change_id: int) -> list[Any]:
    """Every decision on a change, oldest first: rows of gate, round, approver (their name),
    role, decision, comment and decided_at."""
    return list(session.connection().execute(_ALL_APPROVALS, {"cid": change_id}))


USER_SORTS = {"name": _USERS.c.name, "email": _USERS.c.email}


def contains(text: str) -> str:
    """A LIKE pattern (escape ``\\``) matching ``text`` anywhere, its wildcards taken literally."""
    return "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def user_page(session: Session, *, q: str, limit: int, offset: int,
              sort: str = "name", schools: frozenset[int] | None = None,
              trust_roles: Sequence[str] = ()) -> tuple[list[Any], int]:
    """Users by name (or as ``sort`` says: a key of USER_SORTS, "-" first for descending),
    matching ``q`` in name or email when given, with the total; with ``schools``, only the
    people of those schools and those of none yet, never a holder of one of ``trust_roles``."""
    where = []
    if schools is not None:
        where.append(or_(exists().where(_MEMBERS.c.user_id == _USERS.c.id, _MEMBERS.c.school_id.in_(schools)),
                         ~exists().where(_MEMBERS.c.user_id == _USERS.c.id)))
        if trust_roles:
            where.append(~exists().where(_ROLES.c.user_id == _USERS.c.id,
                                         _ROLES.c.role.in_(list(trust_roles))))
    if q:
        pattern = contains(q)
        where.append(or_(func.lower(_USERS.c.name).like(pattern, escape="\\"),
                         _USERS.c.email.like(pattern, escape="\\")))
    column = USER_SORTS.get(sort.lstrip("-"), _USERS.c.name)
    order = column.desc() if sort.startswith("-") else column.asc()
    connection = session.connection()
    columns = (_USERS.c.id, _USERS.c.name, _USERS.c.email, _USERS.c.active, _USERS.c.totp_enabled_at)
    rows = list(connection.execute(core_select(*columns)
                                   .where(*where).order_by(order, _USERS.c.id)
                                   .limit(limit).offset(offset)))
    total = connection.execute(core_select(func.count()).select_from(_USERS).where(*where)).scalar_one()
    return rows, int(total)


def roles_and_audiences(session: Session,
                        user_ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Roles and audiences of these users (all users when the list is empty)."""
    roles: dict[int, list[str]] = {}
    audiences: dict[int, list[str]] = {}
    role_query = core_select(_ROLES.c.user_id, _ROLES.c.role)
    aud_query = core_select(_AUDIENCES.c.user_id, _AUDIENCES.c.audience)
    if user_ids:
        role_query = role_query.where(_ROLES.c.user_id.in_(user_ids))
        aud_query = aud_query.where(_AUDIENCES.c.user_id.in_(user_ids))
    for uid, role in session.connection().execute(role_query):
        roles.setdefault(uid, []).append(role)
    for uid, audience in session.connection().execute(aud_query):
        audiences.setdefault(uid, []).append(audience)
    return roles, audiences


def save_requirements(session: Session, *, change_id: int, gate: str, round_: int,
                      needed: dict[str, tuple[int, str]], opened_at: Any = None) -> None:
    """Who must approve this round: role → (how many, why)."""
    session.info.get("fitsflow_round_needs", {}).pop((change_id, gate, round_), None)
    session.add_all(GateRequirement(change_id=change_id, gate=gate, round=round_, role=role, needed=n,
                                    why=why[:1000], position=i, opened_at=opened_at)
                    for i, (role, (n, why)) in enumerate(needed.items()))


@dataclass(frozen=True)
class OpenRound:
    """A change standing at a gate, in that gate's current round, with what a reminder needs
    of it and which reminders (``sent``: reminder, escalation) this round has had."""

    ref: str
    change_id: int
    workflow: str
    workflow_version: str | None
    state: str
    school_id: int
    gate: str
    round: int
    opened: Any
    sent: frozenset[str]


def open_rounds(session: Session, at_gates: Sequence[tuple[str, str]]) -> list[OpenRound]:
    """Every round now open: the changes standing at a gate (``at_gates``: its (workflow,
    state) pairs), in that gate's current round. Read from the few changes at a gate, never
    every change whose last round was current (closed ones pile up: 76,000 of 100,000), in
    two statements however many there are (the sweep runs in a server worker every minute)."""
    if not at_gates:
        return []
    at_gate = or_(*[and_(col(Change.workflow) == wf, col(Change.state) == st) for wf, st in at_gates])
    rows: Sequence[Any] = session.connection().execute(
        core_select(col(Change.ref), col(Change.id), col(Change.workflow), col(Change.workflow_version),
                    col(Change.state), col(Change.school_id), col(GateRequirement.gate),
                    col(GateRequirement.round), func.min(GateRequirement.opened_at))
        .join(Change, col(Change.id) == col(GateRequirement.change_id))
        .where(at_gate, col(GateRequirement.round) == col(Change.approval_round),
               col(GateRequirement.opened_at).is_not(None))
        .group_by(col(Change.ref), col(Change.id), col(Change.workflow), col(Change.workflow_version),
                  col(Change.state), col(Change.school_id), col(GateRequirement.gate),
                  col(GateRequirement.round))).all()
    sent: dict[tuple[int, str, int], set[str]] = {}
    if rows:
        for change_id, gate, round_, kind in session.connection().execute(
                core_select(col(GateReminder.change_id), col(GateReminder.gate), col(GateReminder.round),
                            col(GateReminder.kind))
                .join(Change, col(Change.id) == col(GateReminder.change_id))
                .where(at_gate, col(GateReminder.round) == col(Change.approval_round))).all():
            sent.setdefault((change_id, gate, round_), set()).add(kind)
    return [OpenRound(ref, cid, wf, version, state, school, gate, round_, opened,
                      frozenset(sent.get((cid, gate, round_), ())))
            for ref, cid, wf, version, state, school, gate, round_, opened in rows]


_REQ = GateRequirement.__table__  # type: ignore[attr-defined]
# Read on every change page view and decision: built once, run on the connection.
_ROUND_NEEDS = (core_select(_REQ.c.role, _REQ.c.needed, _REQ.c.why)
                .where(_REQ.c.change_id == bindparam("cid"), _REQ.c.gate == bindparam("gate"),
                       _REQ.c.round == bindparam("round"))
                .order_by(_REQ.c.position))


def round_escalated(session: Session, change_id: int, gate: str, round_: int) -> bool:
    """Whether the escalation for this round of the gate has been sent."""
    return session.get(GateReminder, (change_id, gate, round_, "escalation")) is not None


def round_requirements(session: Session, change_id: int, gate: str,
                       round_: int) -> dict[str, tuple[int, str]]:
    """What ``save_requirements`` stored for this round (empty for a round opened before);
    read once per transaction (the subject and the notifications both ask)."""
    if session.new:
        session.flush()
    seen = session.info.setdefault("fitsflow_round_needs", {})
    key = (change_id, gate, round_)
    if key not in seen:
        rows = session.connection().execute(_ROUND_NEEDS, {"cid": change_id, "gate": gate, "round": round_})
        seen[key] = {role: (needed, why) for role, needed, why in rows}
    return dict(seen[key])
