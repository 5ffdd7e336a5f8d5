"""Nothing stalls when an approver is away: they (or an admin for them) record an absence
with a substitute and dates; meanwhile the substitute receives their approval requests and
may make their decisions, recorded as "X on behalf of Y".

Delegation needs authority: the roles a substitute decides in are given for the absence by
the person away themselves, or by administrators — and an absence one administrator records
for someone else waits for a second to confirm it (when the school has two), like a role
grant. The substitute must be a member of staff (hold a role); the person away is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN, may_view_changes
from ..domain.text import one_line_problem
from ..persistence import absence_store, audit_store, provider_store, queries, school_store, user_store
from ..persistence.models import User
from . import account_notices, common
from .common import unit_of_work
from .runtime import Runtime


@dataclass(frozen=True)
class AbsenceView:
    id: int
    user: str
    substitute: str
    first_day: date
    last_day: date
    reason: str
    cancelled: bool
    confirmed: bool = True  # False while a second administrator has still to confirm it


def today(rt: Runtime) -> date:
    return rt.now().astimezone(rt.timezone).date()


def _day(value: str | date, field: str, problems: dict[str, str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        problems[field] = "must be a day as YYYY-MM-DD"
        return None


def record(
    rt: Runtime,
    *,
    actor_id: int,
    substitute_email: str,
    first_day: str | date,
    last_day: str | date,
    reason: str = "",
    user_email: str = "",
) -> AbsenceView:
    """An approver's absence (``user_email`` empty: the actor's own; an admin may record one
    for anyone)."""
    problems: dict[str, str] = {}
    first, last = _day(first_day, "first_day", problems), _day(last_day, "last_day", problems)
    if first and last and last < first:
        problems["last_day"] = "must be on or after the first day"
    if first and last and (last - first).days > 366:
        problems["last_day"] = "an absence is at most a year"
    reason = (reason or "").strip()
    if reason and one_line_problem(reason, 500):
        problems["reason"] = one_line_problem(reason, 500) or ""
    if problems:
        raise InvalidInput(problems)
    assert first is not None and last is not None
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        away = _user(session, user_email, "user_email") if user_email else session.get(User, actor.id)
        assert away is not None and away.id is not None
        if away.id != actor.id and ADMIN not in actor.roles:
            raise NotPermitted("an absence is recorded by the person away, or by an administrator")
        granted = sorted(set(rt.roles.known(queries.roles_of(session, away.id))) & set(rt.roles.approvers))
        if not granted:
            raise InvalidInput({"user_email": "only approvers need a substitute"})
        sub = _user(session, substitute_email, "substitute_email")
        if sub.id == away.id:
            raise InvalidInput({"substitute_email": "choose someone else to stand in"})
        assert sub.id is not None
        if not school_store.share_a_school(session, away.id, sub.id):
            raise InvalidInput({"substitute_email": "a substitute works at a school of the person away (or "
                                                    "for the whole trust)"})
        if not may_view_changes(rt.roles.known(queries.roles_of(session, sub.id))):
            raise InvalidInput({"substitute_email": "a substitute must be a member of staff who works on "
                                                    "changes (holds a role), not a student, parent or "
                                                    "notice reader"})
        if provider_store.provider_of(session, sub.id) is not None:
            raise InvalidInput({"substitute_email": "a person of an external IT provider decides nothing "
                                                    "for anyone: they hold their contract role (requester) "
                                                    "alone"})
        # Someone else's absence is a privileged act: a second administrator confirms it.
        waits = away.id != actor.id and rt.settings.accounts.confirm_privileged_grants \
            and user_store.active_admin_count(session) >= 2
        row = absence_store.add(session, user_id=away.id, substitute_id=sub.id, first_day=first,
                                last_day=last, reason=reason, created_by=actor.label, at=rt.now(),
                                roles=" ".join(granted), confirmed=not waits)
        assert row.id is not None
        if waits:
            user_store.add_grant(session, user_id=away.id, role="", requested_by=actor.id, at=rt.now(),
                                 act="absence", absence_id=row.id)
        audit_store.append(session, actor=actor.label, change_ref="", event_type="absence.recorded",
                           payload={"user": away.email, "substitute": sub.email,
                                    "first_day": first.isoformat(), "last_day": last.isoformat(),
                                    "reason": reason, "roles": granted, "waits_for_second_admin": waits})
        span = f"from {first:%A %d %B} to {last:%A %d %B %Y}"
        as_roles = ", ".join(rt.roles.label(r) for r in granted)
        pending = " once a second administrator confirms it" if waits else ""
        account_notices.tell(session, [sub.id], at=rt.now(), event="absence",
                             subject=f"You stand in for {away.name} from {first:%d %b} to {last:%d %b %Y}",
                             body=f"{away.name} is away {span}. Meanwhile{pending} you receive their "
                                  f"approval requests and may decide on their behalf as {as_roles} "
                                  "(Approvals).",
                             link="/approvals")
        if away.id != actor.id:
            account_notices.tell(session, [away.id], at=rt.now(), event="absence",
                                 subject=f"{actor.name} recorded you as away: {sub.name} stands in",
                                 body=f"{actor.name} recorded you as away {span}, with {sub.name} "
                                      f"deciding on your behalf as {as_roles}{pending}. If this is wrong, "
                                      "cancel it (My account → Absences and substitutes) and tell your "
                                      "head teacher.",
                                 link="/account")
        return AbsenceView(row.id, away.name, sub.name, first, last, reason, False, not waits)


def _user(session: Session, email: str, field: str) -> User:
    user = queries.user_by_email(session, email or "")
    if user is None or not user.active or user.id is None:
        raise InvalidInput({field: "no active user with this email"})
    return user


def cancel(rt: Runtime, *, actor_id: int, absence_id: int) -> None:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = absence_store.get(session, absence_id)
        if row is None or (row.user_id != actor.id and ADMIN not in actor.roles):
            raise NotFound("no such absence")
        row.cancelled_at = rt.now()
        session.add(row)
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="absence.cancelled",
            payload={"absence": absence_id},
        )


def list_for(rt: Runtime, *, actor_id: int) -> list[AbsenceView]:
    """The actor's absences and those they stand in for."""
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        rows = absence_store.of_user(session, actor_id)
        names = {
            u.id: u.name
            for u in (
                session.get(User, i) for i in {r.user_id for r in rows} | {r.substitute_id for r in rows}
            )
            if u
        }
        return [
            AbsenceView(
                r.id or 0,
                names.get(r.user_id, "?"),
                names.get(r.substitute_id, "?"),
                r.first_day,
                r.last_day,
                r.reason,
                r.cancelled_at is not None,
                r.confirmed_at is not None,
            )
            for r in rows
        ]


def settle_waiting(rt: Runtime, session: Session, absence_id: int, *, confirmed: bool) -> None:
    """A second administrator's word on an absence another recorded: it starts, or it is
    cancelled; the person away and the substitute are told by the caller."""
    row = absence_store.get(session, absence_id)
    if row is None or row.cancelled_at is not None:
        return
    if confirmed:
        row.confirmed_at = rt.now()
    else:
        row.cancelled_at = rt.now()
    session.add(row)
    account_notices.tell(session, [row.substitute_id], at=rt.now(), event="absence",
                         subject="Your stand-in " + ("starts" if confirmed else "was refused"),
                         body="A second administrator " + ("confirmed" if confirmed else "refused")
                              + f" the absence from {row.first_day:%d %b} to {row.last_day:%d %b %Y} "
                                "you were named substitute for.", link="/approvals")


def delegated_roles(rt: Runtime, session: Session, substitute_id: int) -> dict[int, frozenset[str]]:
    """Today: the people ``substitute_id`` stands in for → the roles they may decide in for
    them (given for the absence, and still held by the person away)."""
    found = absence_store.delegated(session, substitute_id, today(rt))
    if found and provider_store.provider_of(session, substitute_id) is not None:
        return {}  # made a provider's person since: their contract role alone, on every route
    return {uid: roles & rt.roles.known(queries.roles_of(session, uid)) for uid, (_, roles) in found.items()}


def standing_in_for(rt: Runtime, session: Session, substitute_id: int) -> dict[int, str]:
    """Today: the people ``substitute_id`` stands in for → name."""
    return absence_store.standing_in(session, substitute_id, today(rt))
