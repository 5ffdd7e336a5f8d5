"""The calendar's exceptions, counted: freezes overridden by emergencies, caution periods
accepted with a reason and clashes scheduled over — who, when, why — for the CAB's and
governors' reports. Read from the audit trail, so the report is what the chain proves."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from ..domain import limits
from ..domain.calendar import whole_days
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.roles import may_view_changes
from ..persistence import audit_store
from .common import load_actor
from .queues import Page
from .runtime import Runtime

EXCEPTIONS = {
    "freeze.overridden": "Freeze overridden (emergency)",
    "caution.accepted": "Caution period accepted",
    "clash.accepted": "Clash accepted",
}
_DETAIL_KEYS = {"freeze.overridden": "freezes", "caution.accepted": "periods", "clash.accepted": "clashes"}


@dataclass(frozen=True)
class CalendarException:
    seq: int
    at: datetime
    ref: str
    kind: str  # a key of EXCEPTIONS
    title: str
    actor: str
    reason: str
    details: tuple[str, ...]  # the freezes, periods or clashing changes, described


@dataclass(frozen=True)
class ExceptionReport:
    first: date
    last: date
    counts: dict[str, int]  # every key of EXCEPTIONS, zero included
    page: Page


def calendar_exceptions(rt: Runtime, *, actor_id: int, first: date, last: date, limit: int = 50,
                        offset: int = 0) -> ExceptionReport:
    """Exceptions recorded from ``first`` to ``last`` (local days, inclusive), newest first."""
    problems: dict[str, str] = {}
    for name, day in (("from", first), ("to", last)):
        if not limits.FIRST_YEAR <= day.year <= limits.LAST_YEAR:
            problems[name] = f"must be a day from {limits.FIRST_YEAR} to {limits.LAST_YEAR}"
    if not problems and last < first:
        problems["to"] = "must be on or after the first day"
    if problems:
        raise InvalidInput(problems)
    since, until = whole_days(first, last, rt.timezone)
    with rt.db.read() as session:
        if not may_view_changes(load_actor(rt, session, actor_id).roles):
            raise NotPermitted("the calendar's exceptions are for people who see changes")
        rows, counts = audit_store.of_types(session, tuple(EXCEPTIONS), since=_stamp(since),
                                            until=_stamp(until), limit=limit, offset=offset)
        items = [_exception(rt, e.seq, e.at, e.change_ref, e.event_type, e.actor, json.loads(e.payload))
                 for e in rows]
    return ExceptionReport(first, last, {k: counts.get(k, 0) for k in EXCEPTIONS},
                           Page(items, sum(counts.values()), limit, offset))


def _exception(rt: Runtime, seq: int, at: str, ref: str, kind: str, actor: str,
               payload: dict[str, object]) -> CalendarException:
    details = payload.get(_DETAIL_KEYS[kind], ())
    return CalendarException(seq, datetime.fromisoformat(at).astimezone(rt.timezone), ref, kind,
                             EXCEPTIONS[kind], actor, str(payload.get("reason", "")),
                             tuple(str(d) for d in details) if isinstance(details, list) else ())


def _stamp(moment: datetime) -> str:
    """As the trail stores ``at``: UTC ISO text with microseconds, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
