"""Recurring routine work: a requester agrees a recurrence of a standard-change template
(monthly patching, the termly restore test), and each day it names is raised ahead as its own
standard change — its own audit, reminders, notices and evidence — by the delivery worker's
sweep (``raise_due``) or ``fitsflow recurrence run``. A day that is not a school day is skipped
or moved to the next school day. An occurrence whose window has passed without its release
is missed: it shows on the requester's home and counts in the reports."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session

from ..domain import recurrence as rules
from ..domain.errors import FitsflowError, InvalidInput, NotFound, NotPermitted
from ..domain.roles import REQUESTER
from ..domain.stages import parse_amount
from ..domain.templates import parse_ref, ref_of
from ..domain.vocabulary import PAST_WINDOW_KINDS
from ..persistence import audit_store, recurrence_store, template_store
from ..persistence.models import Recurrence
from . import calendar, changes, common, schools, templates
from .common import unit_of_work
from .runtime import Runtime

_MINUTES = (5, 24 * 60)
log = logging.getLogger("fitsflow.recurrences")
_WARNED: set[tuple[int, int, date]] = set()  # said once a process (per database), not every minute


@dataclass(frozen=True)
class RecurrenceView:
    id: int
    title: str
    rule: str
    template: str
    starts: str
    minutes: int
    on_closed: str
    ahead_days: int
    active: bool
    next_days: tuple[date, ...]  # its next school days (a few)


@dataclass(frozen=True)
class Missed:
    ref: str
    title: str
    happens_on: date
    state_title: str


def _view(rt: Runtime, session: Session, row: Recurrence) -> RecurrenceView:
    assert row.id is not None
    school = calendar.school_calendar(rt, session, row.school_id)
    today = rt.today()
    ahead = [o.on for o in rules.occurrences(row.rule, max(row.first_day, today), today + timedelta(days=120),
                                             school, row.on_closed, row.first_day) if o.on is not None][:3]
    return RecurrenceView(row.id, row.title, row.rule, ref_of(row.template_id), row.starts, row.minutes,
                          row.on_closed, row.ahead_days, row.active, tuple(ahead))


def add(rt: Runtime, *, actor_id: int, template: str, title: str, rule: str, first_day: str, starts: str,
        minutes: int = 60, on_closed: str = "next_school_day", ahead_days: int = 14, cost: str = "",
        school: str = "") -> RecurrenceView:
    """Agree a recurrence (a requester, of a template they may use)."""
    problems: dict[str, str] = {}
    title = " ".join((title or "").split())
    if not title or len(title) > 200:
        problems["title"] = "give it a title of up to 200 characters (e.g. Monthly security updates)"
    try:
        first = date.fromisoformat(first_day.strip())
    except ValueError:
        first = None
        problems["first_day"] = "a day as YYYY-MM-DD"
    if first is not None and (wrong := rules.rule_problem(rule or "", first)):
        problems["rule"] = wrong
    if wrong := rules.time_problem(starts or ""):
        problems["starts"] = wrong
    if not _MINUTES[0] <= minutes <= _MINUTES[1]:
        problems["minutes"] = f"from {_MINUTES[0]} to {_MINUTES[1]}"
    if on_closed not in rules.ON_CLOSED:
        problems["on_closed"] = f"must be one of: {', '.join(rules.ON_CLOSED)}"
    if not 1 <= ahead_days <= rules.MAX_AHEAD:
        problems["ahead_days"] = f"from 1 to {rules.MAX_AHEAD} days"
    template_id = parse_ref(template)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        if REQUESTER not in actor.roles:
            raise NotPermitted("recurring work is agreed by a requester")
        row = template_store.get(session, template_id, schools=actor.schools) if template_id else None
        if row is None:
            problems["template"] = f"no template {str(template)[:40]}"
        amount = parse_amount(cost) if cost else (row.max_cost if row is not None else None)
        if amount is None:
            problems["cost"] = "an amount of money"
        try:
            school_id = schools.for_new_change(rt, session, actor, school or None, several=False)
        except InvalidInput as err:
            problems |= err.problems
        if problems:
            raise InvalidInput(problems)
        assert row is not None and row.id is not None and first is not None and amount is not None
        # Checked as a use of the template now (active, for this person, within its cost and
        # school), so the first occurrence does not fail where the form could have said so.
        templates.check_use(rt, session, actor, ref_of(row.id), [], amount, "", school_id=school_id)
        made = Recurrence(template_id=row.id, title=title, rule=rule.strip(), first_day=first,
                          starts=starts.strip(), minutes=minutes, on_closed=on_closed, ahead_days=ahead_days,
                          cost=Decimal(amount), requester_id=actor.id, school_id=school_id, active=True,
                          created_at=rt.now())
        recurrence_store.add(session, made)
        audit_store.append(session, actor=actor.label, change_ref="", event_type="recurrence.added",
                           payload={"title": title, "rule": made.rule, "template": ref_of(row.id),
                                    "first_day": first.isoformat(), "starts": made.starts})
        return _view(rt, session, made)


def stop(rt: Runtime, *, actor_id: int, recurrence_id: int) -> None:
    """Its requester stops it: no more occurrences are raised (those raised stay)."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = recurrence_store.get(session, recurrence_id)
        if row is None or (row.requester_id != actor.id and (actor.schools is not None
                                                             and row.school_id not in actor.schools)):
            raise NotFound(f"no recurrence {recurrence_id}")
        if row.requester_id != actor.id:
            raise NotPermitted("a recurrence is stopped by its requester")
        row.active = False
        recurrence_store.add(session, row)
        audit_store.append(session, actor=actor.label, change_ref="", event_type="recurrence.stopped",
                           payload={"title": row.title})


def mine(rt: Runtime, *, actor_id: int) -> list[RecurrenceView]:
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        return [_view(rt, session, r) for r in recurrence_store.of_requester(session, actor.id)]


def raise_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Raise every occurrence due within its recurrence's days ahead (each in its own
    transaction, each day once however many workers sweep); return how many were raised."""
    now = now or rt.now()
    today = now.astimezone(rt.timezone).date()
    with rt.db.read() as session:
        ids = recurrence_store.active_ids(session)
    raised = 0
    for recurrence_id in ids:
        raised += _raise_for(rt, recurrence_id, today)
    return raised


def _raise_for(rt: Runtime, recurrence_id: int, today: date) -> int:
    with rt.db.read() as session:
        row = recurrence_store.get(session, recurrence_id)
        assert row is not None
        school = calendar.school_calendar(rt, session, row.school_id)
        done = recurrence_store.days_recorded(session, recurrence_id)
        due = [o for o in rules.occurrences(row.rule, max(row.first_day, today),
                                            today + timedelta(days=row.ahead_days), school, row.on_closed,
                                            row.first_day)
               if o.planned not in done and (o.on is None or o.on >= today)]
    raised = 0
    for occurrence in due:
        try:
            raised += _occur(rt, recurrence_id, occurrence)
        except recurrence_store.AlreadyClaimed:
            continue  # another sweep recorded this day first
        except FitsflowError as err:
            # Its requester switched off, its template retired…: nothing is raised or recorded
            # (the next sweep tries again, once it is put right), and the sweep goes on.
            said = (id(rt.db), recurrence_id, occurrence.planned)
            if said not in _WARNED:
                _WARNED.add(said)
                log.warning("recurrence %s could not raise %s: %s", recurrence_id, occurrence.planned, err)
    return raised


def _occur(rt: Runtime, recurrence_id: int, occurrence: rules.Occurrence) -> int:
    """One day of a recurrence, in one transaction: recorded (the claim), then raised."""
    with unit_of_work(rt) as session:
        row = recurrence_store.get(session, recurrence_id)
        assert row is not None
        # The day is claimed before anything is raised (AlreadyClaimed rolls this back).
        recurrence_store.claim(session, recurrence_id=recurrence_id, planned_on=occurrence.planned,
                               happens_on=occurrence.on, at=rt.now())
        if occurrence.on is None:
            audit_store.append(session, actor="recurrence", change_ref="", event_type="recurrence.skipped",
                               payload={"recurrence": recurrence_id, "title": row.title,
                                        "planned": occurrence.planned.isoformat()})
            return 0
        actor = common.load_actor(rt, session, row.requester_id)
        hour, minute = map(int, row.starts.split(":"))
        start = datetime.combine(occurrence.on, time(hour, minute), rt.timezone)
        change = changes.insert_from_template(
            session, rt, actor, template=ref_of(row.template_id), cost=row.cost, school_id=row.school_id,
            title=f"{row.title} ({occurrence.on:%a %d %b %Y})"[:200],
            window=(start, start + timedelta(minutes=row.minutes)))
        recurrence_store.set_change(session, recurrence_id=recurrence_id, planned_on=occurrence.planned,
                                    change_id=change.id)
        audit_store.append(session, actor="recurrence", change_ref=change.ref,
                           event_type="recurrence.occurred",
                           payload={"recurrence": recurrence_id, "planned": occurrence.planned.isoformat(),
                                    "on": occurrence.on.isoformat()})
        return 1


def missed(rt: Runtime, *, actor_id: int, limit: int = 20) -> list[Missed]:
    """This person's occurrences whose day has passed without their release: the routine work
    that did not happen (newest first)."""
    today = rt.today()
    past = rt.workflows.states_of_kind(*PAST_WINDOW_KINDS)
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        rows = recurrence_store.passed_of_requester(session, actor.id, today)
    out = []
    for ref, title, workflow, state, on in rows:
        if (workflow, state) in past:
            continue
        definition = rt.workflows.get(workflow).definition
        out.append(Missed(ref, title, on, definition.state_title(state)))
        if len(out) == limit:
            break
    return out
