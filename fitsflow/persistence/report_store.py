"""The reads behind the report for SLT and governors (services.reports), each a grouped or
bounded read: changes raised in a range, the audit trail of a range, feedback, notices,
measures, committed spend, refresh dates and proposals."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from . import school_scope
from .models import (
    Approval,
    AuditEvent,
    CalendarPeriod,
    Change,
    CostLine,
    NoticeReceipt,
    Proposal,
    ReleaseNotice,
    ReleasePlan,
    Review,
    ReviewFeedback,
    SuccessMeasure,
)

_CHANGES = Change.__table__  # type: ignore[attr-defined]
_REVIEWS = Review.__table__  # type: ignore[attr-defined]
_EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
_PLANS = ReleasePlan.__table__  # type: ignore[attr-defined]
_COSTS = CostLine.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]
_FEEDBACK = ReviewFeedback.__table__  # type: ignore[attr-defined]
_NOTICES = ReleaseNotice.__table__  # type: ignore[attr-defined]
_RECEIPTS = NoticeReceipt.__table__  # type: ignore[attr-defined]
_MEASURES = SuccessMeasure.__table__  # type: ignore[attr-defined]
_PROPOSALS = Proposal.__table__  # type: ignore[attr-defined]
_PERIODS = CalendarPeriod.__table__  # type: ignore[attr-defined]

CHUNK = 2000  # references per statement (PostgreSQL takes at most 65,535 parameters)
QUESTIONS = ("meets_need", "disruption", "training", "communication")


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield list(values[start : start + CHUNK])


def term(session: Session, term_id: int) -> Any:
    return (
        session.connection()
        .execute(select(_PERIODS).where(_PERIODS.c.id == term_id, _PERIODS.c.kind == "term"))
        .first()
    )


def terms(session: Session, limit: int = 60) -> Sequence[Any]:
    return (
        session.connection()
        .execute(
            select(_PERIODS.c.id, _PERIODS.c.title, _PERIODS.c.starts_at)
            .where(_PERIODS.c.kind == "term")
            .order_by(_PERIODS.c.starts_at.desc())
            .limit(limit)
        )
        .all()
    )


def _raised(since: datetime, until: datetime) -> Any:
    return and_(_CHANGES.c.created_at >= since, _CHANGES.c.created_at < until)


def raised(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """Changes raised in the range: reference, category, workflow, state, review outcome, school."""
    return (
        session.connection()
        .execute(
            select(
                _CHANGES.c.ref, _CHANGES.c.category, _CHANGES.c.workflow, _CHANGES.c.state,
                _REVIEWS.c.outcome, _CHANGES.c.school_id,
            )
            .outerjoin(_REVIEWS, _REVIEWS.c.change_id == _CHANGES.c.id)
            .where(_raised(since, until))
        )
        .all()
    )


def moved(session: Session, at_since: str, at_until: str) -> list[str]:
    """The changes with a transition in the range of the trail's ``at`` texts."""
    return sorted(
        session.connection()
        .execute(
            select(_EVENTS.c.change_ref)
            .where(_EVENTS.c.at >= at_since, _EVENTS.c.at < at_until, _EVENTS.c.event_type == "transition",
                   *school_scope.seen(session, _EVENTS.c.change_ref))
            .distinct()
        )
        .scalars()
    )


def events_of(session: Session, types: Sequence[str], at_since: str, at_until: str) -> Sequence[Any]:
    """Events of these kinds in the range, in order: at, change, kind, payload."""
    return (
        session.connection()
        .execute(
            select(_EVENTS.c.at, _EVENTS.c.change_ref, _EVENTS.c.event_type, _EVENTS.c.payload)
            .where(_EVENTS.c.at >= at_since, _EVENTS.c.at < at_until, _EVENTS.c.event_type.in_(list(types)),
                   *school_scope.seen(session, _EVENTS.c.change_ref))
            .order_by(_EVENTS.c.seq)
        )
        .all()
    )


def workflows(session: Session, refs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(refs):
        found.update(
            session.connection()
            .execute(select(_CHANGES.c.ref, _CHANGES.c.workflow).where(_CHANGES.c.ref.in_(chunk)))
            .all()
        )
    return found


def transitions(session: Session, refs: Sequence[str], at_until: str) -> Iterator[Any]:
    """Every transition of these changes before ``at_until``, change by change, in order."""
    for chunk in _chunks(refs):
        yield from session.connection().execute(
            select(_EVENTS.c.at, _EVENTS.c.change_ref, _EVENTS.c.payload)
            .where(
                _EVENTS.c.change_ref.in_(chunk), _EVENTS.c.event_type == "transition", _EVENTS.c.at < at_until
            )
            .order_by(_EVENTS.c.change_ref, _EVENTS.c.seq)
        )


def window_sequences(session: Session, refs: Sequence[str]) -> list[int | None]:
    """How many times each of these changes' windows was set (1: never moved)."""
    found: list[int | None] = []
    for chunk in _chunks(refs):
        found += (
            session.connection()
            .execute(
                select(_PLANS.c.window_sequence)
                .join(_CHANGES, _CHANGES.c.id == _PLANS.c.change_id)
                .where(_CHANGES.c.ref.in_(chunk))
            )
            .scalars()
            .all()
        )
    return found


def feedback_averages(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """(group, average of each question) for the answered feedback of changes raised in range."""
    return (
        session.connection()
        .execute(
            select(_FEEDBACK.c.grp, *[func.avg(_FEEDBACK.c[q]) for q in QUESTIONS])
            .join(_CHANGES, _CHANGES.c.id == _FEEDBACK.c.change_id)
            .where(_raised(since, until), _FEEDBACK.c.answered_at.is_not(None))
            .group_by(_FEEDBACK.c.grp)
        )
        .all()
    )


def acknowledgements(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """(audience, copies received, acknowledged) of the notices published in the range: of
    the changes the session sees, each school's own notices (a trust-wide change's other
    schools' are theirs)."""
    scope = school_scope.scope_of(session)
    query = (select(_NOTICES.c.audience, func.count(_RECEIPTS.c.id), func.count(_RECEIPTS.c.acknowledged_at))
             .join(_RECEIPTS, _RECEIPTS.c.notice_id == _NOTICES.c.id)
             .join(_CHANGES, _CHANGES.c.id == _NOTICES.c.change_id)
             .where(_NOTICES.c.published_at >= since, _NOTICES.c.published_at < until)
             .group_by(_NOTICES.c.audience))
    if scope is not None:
        query = query.where(_NOTICES.c.school_id.in_(scope))
    return session.connection().execute(query).all()


def measures(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """(result, how many) of the success measures of changes raised in the range."""
    return (
        session.connection()
        .execute(
            select(_MEASURES.c.result, func.count())
            .join(_CHANGES, _CHANGES.c.id == _MEASURES.c.change_id)
            .where(_raised(since, until))
            .group_by(_MEASURES.c.result)
        )
        .all()
    )


def committed_costs(
    session: Session, withdrawn: Sequence[str], capital_kinds: Sequence[str]
) -> Sequence[Any]:
    """(raised at, plan year, capital 1/0, funding source, actual, sum) for every change with an
    approval whose "workflow\\nstate" is not one of ``withdrawn``."""
    approved = select(_APPROVALS.c.change_id).where(_APPROVALS.c.decision == "approve").distinct().subquery()
    capital = case((_COSTS.c.kind.in_(list(capital_kinds)), 1), else_=0)
    return (
        session.connection()
        .execute(
            select(
                _CHANGES.c.created_at,
                _COSTS.c.year_offset,
                capital,
                _COSTS.c.funding_source,
                _COSTS.c.actual,
                func.sum(_COSTS.c.amount),
            )
            .join(_COSTS, _COSTS.c.change_id == _CHANGES.c.id)
            .join(approved, approved.c.change_id == _CHANGES.c.id)
            .where((_CHANGES.c.workflow + "\n" + _CHANGES.c.state).not_in(list(withdrawn)))
            .group_by(
                _CHANGES.c.created_at, _COSTS.c.year_offset, capital, _COSTS.c.funding_source, _COSTS.c.actual
            )
        )
        .all()
    )


def refresh_due(session: Session, before: date, limit: int = 200) -> Sequence[Any]:
    """(change, title, refresh on) of what needs refreshing before ``before``, soonest first."""
    return (
        session.connection()
        .execute(
            select(_CHANGES.c.ref, _CHANGES.c.title, _REVIEWS.c.refresh_on)
            .join(_REVIEWS, _REVIEWS.c.change_id == _CHANGES.c.id)
            .where(_REVIEWS.c.refresh_on.is_not(None), _REVIEWS.c.refresh_on < before)
            .order_by(_REVIEWS.c.refresh_on)
            .limit(limit)
        )
        .all()
    )


def proposals(session: Session, since: datetime, until: datetime) -> Sequence[Any]:
    """(status, how many) of the needs proposed in the range (to the schools the session sees)."""
    scope = school_scope.scope_of(session)
    query = (select(_PROPOSALS.c.status, func.count())
             .where(_PROPOSALS.c.created_at >= since, _PROPOSALS.c.created_at < until)
             .group_by(_PROPOSALS.c.status))
    if scope is not None:
        query = query.where(_PROPOSALS.c.school_id.in_(scope))
    return session.connection().execute(query).all()


def occurrences(session: Session, first: date, until: date) -> list[tuple[str, str]]:
    """(workflow, state) of the change of each occurrence of recurring work whose day is in
    [first, until): of the changes the session sees."""
    from .models import RecurrenceOccurrence

    occurred = RecurrenceOccurrence.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(_CHANGES.c.workflow, _CHANGES.c.state)
        .join(occurred, occurred.c.change_id == _CHANGES.c.id)
        .where(occurred.c.happens_on >= first, occurred.c.happens_on < until))
    return [(r.workflow, r.state) for r in rows]


def tagged_since(session: Session, since: datetime) -> list[tuple[str, str, str, str, date | None]]:
    """(change, workflow, state, tags, its vendor's release day) of every change with evidence
    tags saved since ``since`` (a change released since then was saved since then; of the
    changes the session sees)."""
    from .models import ChangeEvidence

    held = ChangeEvidence.__table__  # type: ignore[attr-defined]
    rows = session.connection().execute(
        select(_CHANGES.c.ref, _CHANGES.c.workflow, _CHANGES.c.state, held.c.tags, held.c.vendor_released_on)
        .join(held, held.c.change_id == _CHANGES.c.id)
        .where(_CHANGES.c.updated_at >= since, held.c.tags != ""))
    return [(r.ref, r.workflow, r.state, r.tags, r.vendor_released_on) for r in rows]


def review_outcomes(session: Session, refs: Sequence[str]) -> dict[str, str]:
    """Change → its review's outcome ("" while not recorded), of these changes."""
    out: dict[str, str] = {}
    for chunk in _chunks(list(refs)):
        rows = session.connection().execute(
            select(_CHANGES.c.ref, _REVIEWS.c.outcome).join(_REVIEWS, _REVIEWS.c.change_id == _CHANGES.c.id)
            .where(_CHANGES.c.ref.in_(chunk)))
        out.update({r.ref: r.outcome or "" for r in rows})
    return out


def filtering(session: Session, since: datetime, until: datetime) -> tuple[int, list[tuple[str, int]], int]:
    """Web-filtering requests of the range (of the schools the session sees): how many were
    asked, how many decided by each decision, how many applied."""
    from .models import FilterRequest

    requests = FilterRequest.__table__  # type: ignore[attr-defined]
    scope = school_scope.scope_of(session)
    mine = [] if scope is None else [requests.c.school_id.in_(scope)]
    connection = session.connection()

    def between(column: Any) -> list[Any]:
        return [*mine, column >= since, column < until]

    asked = connection.execute(select(func.count()).where(*between(requests.c.created_at))).scalar_one()
    decided = connection.execute(select(requests.c.decision, func.count()).where(
        *between(requests.c.decided_at)).group_by(requests.c.decision).order_by(requests.c.decision)).all()
    applied = connection.execute(select(func.count()).where(*between(requests.c.applied_at))).scalar_one()
    return int(asked), [(d, int(n)) for d, n in decided], int(applied)


def handled_by(session: Session, people: Sequence[int], since: datetime, until: datetime,
               moved_refs: Sequence[str]) -> list[tuple[str, int, datetime, str]]:
    """(change, requester, raised at, workflow) of the changes these people raised in the range or
    that moved in it (of the changes the session sees)."""
    if not people:
        return []
    columns = (_CHANGES.c.ref, _CHANGES.c.requester_id, _CHANGES.c.created_at, _CHANGES.c.workflow)
    mine = _CHANGES.c.requester_id.in_(list(people))
    connection = session.connection()
    found = {r.ref: r for r in connection.execute(select(*columns).where(mine, _raised(since, until)))}
    for chunk in _chunks(list(moved_refs)):
        found.update({r.ref: r for r in session.connection().execute(
            select(*columns).where(mine, _CHANGES.c.ref.in_(chunk)))})
    return [(r.ref, int(r.requester_id), r.created_at, r.workflow) for r in found.values()]
