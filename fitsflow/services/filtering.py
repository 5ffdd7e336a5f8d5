"""Web-filtering decisions (issue 25.3): a member of staff asks for a site or a category to be
allowed or blocked — what, why, for whom, until when; the designated safeguarding lead (or a
deputy) decides, with the reason; the network manager records when it was applied on the filter
and, for a time-limited request, when it was put back. The lifecycle is the school's data
(``fitsflow/filtering.toml``, or the file ``filtering.workflow`` names): who may take each step,
and what is kept of it. Each step, its audit event and whom it tells commit together; the log
is searchable and exports for the annual filtering review."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlmodel import Session

from ..config import filtering_lifecycle
from ..domain import filtering as rules
from ..domain import limits
from ..domain.actor import Actor
from ..domain.calendar import local_midnight
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.notices import BRIEF
from ..domain.text import text_field
from ..persistence import audit_store, filtering_store, outbox_store, queries
from ..workflow.filtering import FilteringMachine
from . import common, schools
from .audit import spreadsheet_safe
from .common import unit_of_work
from .queues import Page
from .runtime import Runtime

MINE, TODO, ALL = "mine", "todo", "all"
VIEWS: dict[str, str] = {TODO: "Waiting for me", MINE: "Asked by me", ALL: "Every request"}


@lru_cache(maxsize=8)
def _machine(path: str, roles: tuple[str, ...]) -> FilteringMachine:
    return FilteringMachine(filtering_lifecycle(path, roles))


def machine(rt: Runtime) -> FilteringMachine:
    """The school's lifecycle and its machine (checked when the settings were read)."""
    return _machine(rt.settings.filtering.workflow, rt.roles.names)


def lifecycle(rt: Runtime) -> rules.Lifecycle:
    return machine(rt).lifecycle


@dataclass(frozen=True)
class StepView:
    trigger: str
    title: str
    reason: bool  # a reason is asked for
    decision: bool


@dataclass(frozen=True)
class RequestView:
    id: int
    school: str
    what: str
    action: str
    why: str
    for_whom: str
    until: date | None
    asker_id: int
    asker_name: str
    created_at: datetime
    state: str
    state_title: str
    final: bool
    version: int
    decision: str          # the step that decided ("agree", "refuse"), "" until decided
    decision_title: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    applied_by: str | None
    applied_at: datetime | None
    reverted_by: str | None
    reverted_at: datetime | None
    withdrawn_reason: str
    overdue: bool          # applied for a time that is over, and not yet put back
    steps: tuple[StepView, ...] = ()  # what the viewer may do now

    @property
    def action_title(self) -> str:
        return rules.ACTIONS.get(self.action, self.action)


def _view(rt: Runtime, row: Any, actor: Actor | None = None, today: date | None = None) -> RequestView:
    life = lifecycle(rt)
    today = today or rt.today()
    decided = next((s for s in life.steps if s.trigger == row.decision), None)
    overdue = bool(row.until and row.until < today and row.state in life.states_recording(rules.APPLIED)
                   and any(s.records == rules.REVERTED for s in life.steps_from(row.state)))
    steps = tuple(StepView(s.trigger, s.title, s.reason, s.records == rules.DECISION)
                  for s in life.steps_from(row.state)
                  if actor is not None and _may_take(actor, s, row) is None)
    return RequestView(
        row.id, row.school_name, row.what, row.action, row.why, row.for_whom, row.until, row.asker_id,
        row.asker_name, row.created_at, row.state, life.state_title(row.state), row.state in life.finals,
        row.version, row.decision, decided.title if decided else row.decision, row.decided_by_name,
        row.decided_at, row.reason, row.applied_by_name, row.applied_at, row.reverted_by_name,
        row.reverted_at, row.withdrawn_reason, overdue, steps)


def _may_take(actor: Actor, step: rules.Step, row: Any) -> str | None:
    """Why ``actor`` may not take ``step`` on the request, or None when they may."""
    own = row.asker_id == actor.id
    if not (set(step.roles) & actor.roles or (rules.ASKER in step.roles and own)):
        return f"“{step.title}” is for: {', '.join(step.roles)}"
    if step.records == rules.DECISION and own:
        return "nobody decides their own request"
    return None


def _reads_all(rt: Runtime, actor: Actor) -> bool:
    """Readers of the log, and whoever may act on requests, see every request of their schools."""
    life = lifecycle(rt)
    return bool(actor.roles & (set(life.readers) | life.roles_acting()))


def _staff(rt: Runtime, session: Session, actor: Actor) -> bool:
    """Asking is for the school's staff (as proposing a need is): not for someone who only
    reads brief notices (students, parents)."""
    tiers = rt.roles.tiers()
    return bool(actor.roles) or any(tiers.get(a) != BRIEF for a in queries.audiences_of(session, actor.id))


def _tell(session: Session, rt: Runtime, people: list[int], *, event: str, subject: str, body: str,
          request_id: int) -> None:
    outbox_store.tell(session, people, event=event, subject=subject, body=body,
                      link=f"/filtering/{request_id}", now=rt.now())


def _who_acts(rt: Runtime, session: Session, state: str, school_id: int, but: int) -> list[int]:
    """The school's holders of a role with work at ``state`` (a withdrawal is nobody's work)."""
    roles = {r for s in lifecycle(rt).steps_from(state) if s.records != rules.WITHDRAWN
             for r in s.roles if r != rules.ASKER}
    return [uid for uid in queries.users_with_roles(session, roles, school_id=school_id,
                                                    across=rt.roles.trust_roles) if uid != but]


def ask(rt: Runtime, *, actor_id: int, data: Mapping[str, Any]) -> RequestView:
    """A member of staff asks for a site or category to be allowed or blocked; whoever decides
    is told."""
    life = lifecycle(rt)
    asked = rules.parse_ask(data, rt.today())
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        if not _staff(rt, session, actor):
            raise NotPermitted("asking for a filtering change is for the school's staff")
        school_id = schools.for_new_change(rt, session, actor, str(data.get("school") or "") or None,
                                           several=False)
        new_id = filtering_store.add(session, school_id=school_id, asker_id=actor.id, now=rt.now(),
                                     what=asked.what, action=asked.action, why=asked.why,
                                     for_whom=asked.for_whom, until=asked.until, state=life.initial)
        audit_store.append(session, actor=actor.label, change_ref="", event_type="filtering.asked",
                           payload={"request": new_id, "what": asked.what, "action": asked.action})
        verb = rules.ACTIONS[asked.action].split(" ")[0].lower()
        _tell(session, rt, _who_acts(rt, session, life.initial, school_id, actor.id), event="filtering_asked",
              subject=f"[Filtering {new_id}] Asked to {verb}: {asked.what}",
              body=f"{actor.name} asks to {verb} {asked.what} for {asked.for_whom}"
                   + (f" until {asked.until:%d %B %Y}" if asked.until else "") + f".\n\nWhy: {asked.why}",
              request_id=new_id)
        return _view(rt, filtering_store.one(session, new_id), actor)


def _visible(rt: Runtime, session: Session, actor: Actor, request_id: int) -> Any:
    if not 0 < request_id <= limits.ID_MAX:
        raise NotFound(f"no filtering request {request_id} for you")
    row = filtering_store.one(session, request_id, schools=actor.schools)
    if row is None or not (row.asker_id == actor.id or _reads_all(rt, actor)):
        raise NotFound(f"no filtering request {request_id} for you")
    return row


def get(rt: Runtime, *, actor_id: int, request_id: int) -> RequestView:
    """A request: for its asker, the log's readers and whoever may act on it."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        return _view(rt, _visible(rt, session, actor, request_id), actor)


def default_view(rt: Runtime, actor: Actor) -> str:
    if lifecycle(rt).states_for(actor.roles):
        return TODO
    return ALL if _reads_all(rt, actor) else MINE


def views_for(rt: Runtime, actor: Actor) -> dict[str, str]:
    """The lists this person may open: theirs always, the queue when a step is theirs, every
    request when they read them all."""
    queue = may_act(rt, actor.roles)
    return {k: v for k, v in VIEWS.items()
            if k == MINE or (k == TODO and queue) or (k == ALL and _reads_all(rt, actor))}


def may_act(rt: Runtime, roles: Collection[str]) -> bool:
    """Whether someone holding ``roles`` ever has a request waiting for them (a navigation that
    asks nothing of the database otherwise)."""
    return bool(lifecycle(rt).states_for(roles))


def listing(rt: Runtime, *, actor_id: int, view: str = "", state: str = "", q: str = "", action: str = "",
            limit: int = 25, offset: int = 0) -> Page:
    """Requests newest first: waiting for me, asked by me or (the log's readers) every one of my
    schools', narrowed by state, allow/block and text."""
    life = lifecycle(rt)
    problems: dict[str, str] = {}
    if view and view not in VIEWS:
        problems["view"] = f"must be one of: {', '.join(VIEWS)}"
    if state and state not in life.states:
        problems["state"] = f"must be one of: {', '.join(life.states)}"
    if action and action not in rules.ACTIONS:
        problems["action"] = f"must be one of: {', '.join(rules.ACTIONS)}"
    q = text_field({"q": q}, "q", problems, required=False, maximum=limits.SEARCH)
    if problems:
        raise InvalidInput(problems)
    today = rt.today()
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        view = view or default_view(rt, actor)
        if view == ALL and not _reads_all(rt, actor):
            raise NotPermitted("every request is for the safeguarding leads, the ICT team and the log's "
                               "readers")
        states: list[str] | None = [state] if state else None
        not_own: tuple[str, ...] = ()
        when_over: tuple[str, ...] = ()
        if view == TODO:
            states, not_own, when_over = _todo(life, actor, states)
        rows, total = filtering_store.page(session, schools=actor.schools, states=states,
                                           asker_id=actor.id if view == MINE else None, q=q, action=action,
                                           not_asked_by=(actor.id, not_own), over_by=(when_over, today),
                                           limit=limit, offset=offset)
        items = [_view(rt, r, None, today) for r in rows]
        return Page(items, total, limit, offset)


def _todo(life: rules.Lifecycle, actor: Actor,
          narrowed: list[str] | None) -> tuple[list[str], tuple[str, ...], tuple[str, ...]]:
    """The states of the requests waiting for ``actor`` (within ``narrowed``); those of them
    where a request of their own is not theirs (only a decision is theirs to take there); and
    those where putting it back is their only step (a request waits there once its time is over)."""
    mine = life.states_for(actor.roles)
    states = [s for s in (narrowed or mine) if s in mine]

    def theirs(state: str) -> list[rules.Step]:
        return [step for step in life.steps_from(state)
                if step.records != rules.WITHDRAWN and set(step.roles) & actor.roles]

    not_own = tuple(s for s in states if all(step.records == rules.DECISION for step in theirs(s)))
    when_over = tuple(s for s in states if all(step.records == rules.REVERTED for step in theirs(s)))
    return states, not_own, when_over


def waiting_count(rt: Runtime, *, actor_id: int) -> int:
    """How many requests wait for a step the person may take (the navigation's count)."""
    life = lifecycle(rt)
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not life.states_for(actor.roles):
            return 0
        states, not_own, when_over = _todo(life, actor, None)
        return int(filtering_store.count(session, schools=actor.schools, states=states,
                                         not_asked_by=(actor.id, not_own), over_by=(when_over, rt.today())))


def act(rt: Runtime, *, actor_id: int, request_id: int, trigger: str, reason: str = "",
        expected_version: int | None = None) -> RequestView:
    """Take a step of the lifecycle: decide (with the reason), record it applied or put back,
    withdraw. The asker and whoever has the next step are told, in the same transaction."""
    life = lifecycle(rt)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = _visible(rt, session, actor, request_id)
        step = life.step(trigger, row.state)
        if step is None:
            possible = [s.title for s in life.steps_from(row.state) if _may_take(actor, s, row) is None]
            said = f"“{trigger[:40]}” is not possible at “{life.state_title(row.state)}”"
            raise InvalidInput({"trigger": said + (f"; you may: {', '.join(possible)}" if possible
                                                   else "; nothing is yours to do")})
        refusal = _may_take(actor, step, row)
        if refusal:
            raise NotPermitted(refusal)
        if expected_version is not None and expected_version != row.version:
            raise InvalidInput({"version": "someone moved this request on since you opened it: "
                                           "look again before you act"})
        problems: dict[str, str] = {}
        said = text_field({"reason": reason}, "reason", problems, required=step.reason,
                          maximum=limits.REASON, lines=True)
        if problems:
            raise InvalidInput(problems)
        moving = SimpleNamespace(state=row.state)
        taken = machine(rt).fire(moving, trigger)
        assert taken is step and moving.state == step.dest  # the machine is built from the same steps
        now = rt.now()
        kept: dict[str, dict[str, Any]] = {
            rules.DECISION: {"decision": step.trigger, "decided_by": actor.id, "decided_at": now,
                             "reason": said},
            rules.APPLIED: {"applied_by": actor.id, "applied_at": now},
            rules.REVERTED: {"reverted_by": actor.id, "reverted_at": now},
            rules.WITHDRAWN: {"withdrawn_reason": said},
        }
        values = kept.get(step.records or "", {})
        if not filtering_store.move(session, row.id, version=row.version, state=step.dest, now=now, **values):
            raise InvalidInput({"version": "someone moved this request on first: look again"})
        audit_store.append(session, actor=actor.label, change_ref="", event_type="filtering.moved",
                           payload={"request": row.id, "trigger": step.trigger, "before": row.state,
                                    "after": step.dest, "reason": said})
        title = life.state_title(step.dest)
        asked = rules.ACTIONS.get(row.action, row.action)
        body = (f"{actor.name}: {step.title.lower()} — “{row.what}” ({asked} for {row.for_whom}).\n"
                f"Now: {title}." + (f"\nReason: {said}" if said else ""))
        told = [row.asker_id] if row.asker_id != actor.id else []
        _tell(session, rt, told + _who_acts(rt, session, step.dest, row.school_id, actor.id),
              event="filtering_moved", subject=f"[Filtering {row.id}] {title}: {row.what}", body=body,
              request_id=row.id)
        return _view(rt, filtering_store.one(session, row.id), actor)


LOG_COLUMNS = ("request", "school", "asked_on", "asked_by", "action", "what", "for_whom", "until", "why",
               "decision", "decided_by", "decided_on", "reason", "applied_on", "applied_by", "put_back_on",
               "state")


def log(rt: Runtime, *, actor_id: int, start: date, end: date) -> list[tuple[Any, ...]]:
    """The decisions made from ``start`` to ``end`` (both days, the school's dates), one row each
    (LOG_COLUMNS), oldest first: the annual filtering review's log. For the log's readers."""
    for key, given in (("from", start), ("to", end)):
        if not limits.FIRST_YEAR <= given.year <= limits.LAST_YEAR:
            raise InvalidInput({key: f"must be in the years {limits.FIRST_YEAR} to {limits.LAST_YEAR}"})
    if end < start:
        raise InvalidInput({"to": "must not be before the first day"})
    if (end - start).days > 366 * 5:
        raise InvalidInput({"to": "a log covers at most five years"})
    life = lifecycle(rt)
    zone = rt.settings.timezone
    lo, hi = local_midnight(start, zone), local_midnight(end + timedelta(days=1), zone)

    def day(at: datetime | None) -> str:
        return at.astimezone(zone).date().isoformat() if at else ""

    out: list[tuple[Any, ...]] = []
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_read_log(rt, actor):
            raise NotPermitted("the filtering log is for: "
                               + ", ".join(rt.roles.label(r) for r in life.readers))
        for row in filtering_store.decided_between(session, schools=actor.schools, start=lo, end=hi):
            view = _view(rt, row)
            out.append((view.id, view.school, day(view.created_at), view.asker_name, view.action, view.what,
                   view.for_whom, view.until.isoformat() if view.until else "", view.why, view.decision_title,
                   view.decided_by or "", day(view.decided_at), view.reason, day(view.applied_at),
                        view.applied_by or "", day(view.reverted_at), view.state_title))
    return out


def may_read_log(rt: Runtime, actor: Actor) -> bool:
    return bool(actor.roles & set(lifecycle(rt).readers))


def log_csv(rows: list[tuple[Any, ...]]) -> str:
    """The log as CSV, safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in [LOG_COLUMNS, *rows]:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def log_xlsx(rows: list[tuple[Any, ...]]) -> bytes:
    """The log as a workbook: a bold, frozen header."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Filtering decisions"
    sheet.append(list(LOG_COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([spreadsheet_safe(cell) for cell in row])
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
