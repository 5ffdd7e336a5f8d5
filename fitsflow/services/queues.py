"""What waits for whom: an approver's queue, a requester's changes by phase, the audit list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound
from ..domain.sorting import sort_problem
from ..persistence import change_store, queue_store
from ..persistence.change_store import ChangeRecord
from . import absences, common
from .runtime import Runtime
from .views import ChangeView


@dataclass(frozen=True)
class Page:
    """One page of any list (changes, calendar periods, services) and how many in all."""

    items: list[Any]
    total: int
    limit: int
    offset: int
    next_after: str = ""   # where the next page starts, for lists that keep positions (domain.cursor)
    prev_before: str = ""  # where the page before ends

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total or self.more

    @property
    def more(self) -> bool:
        """Whether ``total`` is a lower bound (persistence.counting: there are more)."""
        return bool(getattr(self.total, "more", False))


@dataclass(frozen=True)
class QueueItem:
    """A change in an approver's queue with what they decide on: the gate, the money, the
    risk, the window and how long it has waited."""

    change: ChangeView
    gate: str
    emergency: bool
    five_year_cost: Decimal
    first_year_cost: Decimal
    risk: str
    window_start: datetime | None
    window_end: datetime | None
    waiting_since: datetime | None

    @property
    def ref(self) -> str:
        return self.change.ref


@dataclass(frozen=True)
class _Awaiting:
    gates: list[tuple[str, str, str, list[str]]]
    roles: list[str]
    escalated: bool
    first: list[str]


def _awaiting(rt: Runtime, session: Session, actor: Actor) -> _Awaiting:
    """Where this person's decisions are needed: every gate of every loaded workflow version
    they (or anyone they stand in for today) may decide at."""
    roles = set(actor.roles)
    for delegated in absences.delegated_roles(rt, session, actor.id).values():
        roles |= delegated
    gates: dict[tuple[str, str, str], list[str]] = {}
    for wf in rt.workflows.every_version():
        for gate in wf.definition.gates.values():
            cats = gates.setdefault((wf.name, gate.state, gate.name), [])
            cats.extend(c for c in wf.definition.categories
                        if roles.intersection(gate.requirements(c)) and c not in cats)
    emergency = sorted({wf.name for wf in rt.workflows.every_version() if wf.definition.emergency})
    # The escalation role is asked at any gate whose round was escalated.
    return _Awaiting([(*k, v) for k, v in gates.items()], sorted(roles),
                     rt.settings.reminders.escalation_role in actor.roles, emergency)


def _awaiting_records(rt: Runtime, session: Session, actor_id: int, limit: int,
                      offset: int, sort: str = "waiting") -> tuple[list[ChangeRecord], int]:
    wrong = sort_problem(sort, change_store.AWAITING_SORTS)
    if wrong:
        raise InvalidInput({"sort": wrong})
    actor = common.load_actor(rt, session, actor_id)
    where = _awaiting(rt, session, actor)
    total = sum(_counts(rt, session, actor, where).values())
    return change_store.awaiting(session, gates=where.gates, roles=where.roles, user_id=actor.id,
                                 limit=limit, offset=offset, escalated=where.escalated, first=where.first,
                                 sort=sort, total=total)


def _counts(rt: Runtime, session: Session, actor: Actor, where: _Awaiting) -> dict[tuple[str, str], int]:
    """How many wait for the person at each (workflow, state): read once a request (the page's
    total and the navigation's counts are the same numbers)."""
    return rt.db.remembered(("awaiting", actor.id), lambda: change_store.awaiting_counts(
        session, gates=where.gates, roles=where.roles, user_id=actor.id, escalated=where.escalated))


def awaiting_decision(rt: Runtime, *, actor_id: int, limit: int = 25, offset: int = 0) -> Page:
    """Changes at a gate this person may decide now (never their own): emergencies first,
    then the longest waiting."""
    with rt.db.read() as session:
        rows, total = _awaiting_records(rt, session, actor_id, limit, offset)
        return Page([common.view_of(session, rt, r) for r in rows], total, limit, offset)


def approval_queue(rt: Runtime, *, actor_id: int, limit: int = 25, offset: int = 0,
                   sort: str = "waiting") -> Page:
    """``awaiting_decision`` with the facts each decision turns on (QueueItem), sorted by
    one of change_store.AWAITING_SORTS (emergencies stay first whatever the sort)."""
    with rt.db.read() as session:
        rows, total = _awaiting_records(rt, session, actor_id, limit, offset, sort)
        facts = queue_store.facts(session, [r.id for r in rows])
        items = []
        for r in rows:
            definition = common.workflow_of(rt, r).definition
            gate = definition.gate_at(r.state)
            known = facts[r.id]
            items.append(QueueItem(
                change=common.view_of(session, rt, r), gate=gate.title if gate else "",
                emergency=definition.emergency, five_year_cost=sum(known.cost_by_year.values(), Decimal(0)),
                first_year_cost=known.cost_by_year.get(0, Decimal(0)), risk=known.risk,
                window_start=known.window_start, window_end=known.window_end,
                waiting_since=known.waiting_since))
        return Page(items, total, limit, offset)


def waiting_by_gate(rt: Runtime, *, actor_id: int) -> list[tuple[str, int]]:
    """How many changes wait for this person at each gate (by the gate's title), for the
    navigation."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        counts = _counts(rt, session, actor, _awaiting(rt, session, actor))
    by_title: dict[str, int] = {}
    for (workflow, state), n in counts.items():
        try:
            gate = rt.workflows.get(workflow).definition.gate_at(state)
        except NotFound:
            gate = None
        title = gate.title if gate else state
        by_title[title] = by_title.get(title, 0) + n
    return sorted(by_title.items())
