"""Nothing stalls when an approver is away: they (or an admin for them) record an absence
with a substitute and dates; meanwhile the substitute receives their approval requests and
may make their decisions, recorded as "X on behalf of Y"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN, is_approver
from ..domain.text import one_line_problem
from ..persistence import absence_store, audit_store, queries
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
        if not is_approver(rt.roles.known(queries.roles_of(session, away.id)), rt.roles):
            raise InvalidInput({"user_email": "only approvers need a substitute"})
        sub = _user(session, substitute_email, "substitute_email")
        if sub.id == away.id:
            raise InvalidInput({"substitute_email": "choose someone else to stand in"})
        assert sub.id is not None
        row = absence_store.add(
            session,
            user_id=away.id,
            substitute_id=sub.id,
            first_day=first,
            last_day=last,
            reason=reason,
            created_by=actor.label,
            at=rt.now(),
        )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="absence.recorded",
            payload={
                "user": away.email,
                "substitute": sub.email,
                "first_day": first.isoformat(),
                "last_day": last.isoformat(),
                "reason": reason,
            },
        )
        account_notices.tell(
            session,
            [sub.id],
            at=rt.now(),
            event="absence",
            subject=f"You stand in for {away.name} from {first:%d %b} to {last:%d %b %Y}",
            body=f"{away.name} is away from {first:%A %d %B} to {last:%A %d %B %Y}. Meanwhile "
            "you receive their approval requests and may decide on their behalf "
            "(Approvals).",
            link="/approvals",
        )
        return AbsenceView(row.id or 0, away.name, sub.name, first, last, reason, False)


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
            )
            for r in rows
        ]


def standing_in_for(rt: Runtime, session: Session, substitute_id: int) -> dict[int, str]:
    """Today: the people ``substitute_id`` stands in for → name."""
    return absence_store.standing_in(session, substitute_id, today(rt))
