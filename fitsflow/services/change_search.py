"""Finding changes: full-text search and the filters of the changes list, the register and
the API, one set of rules for all of them (what each filter accepts and what it says when
it does not)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from ..domain import limits
from ..domain.errors import InvalidInput
from ..domain.roles import may_view_changes
from ..domain.sorting import sort_problem
from ..domain.stages import amount_problem, parse_amount
from ..domain.vocabulary import CATEGORIES, PHASES
from ..persistence import change_store, search_store
from . import common
from .queues import Page
from .runtime import Runtime
from .views import ChangeView

# relevance: the best match first (with words to search for; without, the most recently updated)
SORT_KEYS = ("relevance", "updated", "created", "ref", "title", "state", "category", "cost")
MAX_QUERY = 200


@dataclass(frozen=True)
class Found:
    change: ChangeView
    five_year_cost: Decimal

    @property
    def ref(self) -> str:
        return self.change.ref


@dataclass(frozen=True)
class ChangeFilter:
    """What a person asked for; empty means "any"."""

    q: str = ""
    state: str = ""
    category: str = ""
    phase: str = ""
    cost_min: Decimal | None = None
    cost_max: Decimal | None = None
    created_from: date | None = None
    created_to: date | None = None
    requester_id: int | None = None
    service: str = ""
    sort: str = "-updated"

    def args(self) -> dict[str, str]:
        """The filter as URL arguments (for links that keep it: pages, sorting, export)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in (None, "") and not (f.name == "sort" and value == default_sort(self.q)):
                out["requester" if f.name == "requester_id" else f.name] = str(value)
        return out

    @property
    def active(self) -> bool:
        return bool({k for k in self.args() if k != "sort"})


def default_sort(q: str) -> str:
    """A search on words lists the best match first; a list without words, the most
    recently updated first."""
    return change_store.RELEVANCE if search_store.words(q) else "-updated"


def _date(raw: str, key: str, problems: dict[str, str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        problems[key] = "must be a date as YYYY-MM-DD"
        return None


def _amount(raw: str, key: str, problems: dict[str, str]) -> Decimal | None:
    if not raw:
        return None
    value = parse_amount(raw)
    if value is None:
        problems[key] = amount_problem(raw) or "must be an amount of money"
        return None
    return value


def parse(rt: Runtime, raw: Mapping[str, Any]) -> ChangeFilter:
    """A filter from URL or API arguments; InvalidInput names each one that is wrong and
    nothing is searched."""
    def text(key: str, maximum: int) -> str:
        value = str(raw.get(key) or "").strip()
        if len(value) > maximum:
            problems[key] = f"is longer than {maximum} characters"
            return ""
        return value

    problems: dict[str, str] = {}
    q = text("q", MAX_QUERY)
    state = text("state", 60)
    if state and state not in rt.workflows.state_names():
        problems["state"] = "is not a state of any workflow"
    category = text("category", 20)
    if category and category not in CATEGORIES:
        problems["category"] = f"must be one of: {', '.join(CATEGORIES)}"
    phase = text("phase", 20)
    if phase and phase not in PHASES:
        problems["phase"] = f"must be one of: {', '.join(PHASES)}"
    cost_min = _amount(text("cost_min", 20), "cost_min", problems)
    cost_max = _amount(text("cost_max", 20), "cost_max", problems)
    if cost_min is not None and cost_max is not None and cost_min > cost_max:
        problems["cost_max"] = "is less than the lowest cost asked for"
    created_from = _date(text("created_from", 10), "created_from", problems)
    created_to = _date(text("created_to", 10), "created_to", problems)
    if created_from and created_to and created_from > created_to:
        problems["created_to"] = "is before the start of the range"
    requester_raw = text("requester", 40)
    requester_id = None
    if requester_raw:
        if requester_raw.isascii() and requester_raw.isdigit() and 0 < int(requester_raw) <= limits.ID_MAX:
            requester_id = int(requester_raw)
        else:
            problems["requester"] = "must be a user's number"
    service = text("service", limits.SERVICE)
    sort = text("sort", 20) or default_sort(q)
    wrong = sort_problem(sort, SORT_KEYS)
    if wrong:
        problems["sort"] = wrong
    if problems:
        raise InvalidInput(problems)
    return ChangeFilter(q, state, category, phase, cost_min, cost_max, created_from, created_to, requester_id,
                        service, sort)


def _bounds(rt: Runtime, start: date | None, end: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in the school's time zone, the last one included."""
    zone = rt.timezone
    low = datetime.combine(start, time.min, zone) if start else None
    high = datetime.combine(end + timedelta(days=1), time.min, zone) if end else None
    return low, high


def records(rt: Runtime, session: Session, filters: ChangeFilter, *, limit: int, offset: int,
            after: str = "", before: str = "") -> change_store.Listed:
    """The matching changes as records (for the services that show more of each); ``after`` /
    ``before``: the position a page starts after or ends before (Page.next_after/prev_before)."""
    pairs = _phase_pairs(rt, filters.phase) if filters.phase else None
    low, high = _bounds(rt, filters.created_from, filters.created_to)
    return change_store.filtered(
        session, q=filters.q, pairs=pairs, cost_min=filters.cost_min, cost_max=filters.cost_max,
        service=filters.service, sort=filters.sort, state=filters.state or None,
        category=filters.category or None, requester_id=filters.requester_id, created_from=low,
        created_to=high, limit=limit, offset=offset, after=after, before=before)


def paged(listed: change_store.Listed, items: list[Any], limit: int) -> Page:
    """A page of ``items`` made from ``listed``'s rows, with the positions either side."""
    return Page(items, listed.total, limit, listed.offset,
                next_after=listed.last.text() if listed.last else "",
                prev_before=listed.first.text() if listed.first and listed.offset else "")


def mine_by_phase(rt: Runtime, *, actor_id: int, per_phase: int = 5) -> dict[str, Page]:
    """A requester's home: the newest few of their changes in each phase, with how many in
    all (the rest are one link away, on the changes list filtered the same way): a few rows
    per state from its stretch of an index, merged, and the counts in one grouped read of
    the person's stretch of an index."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            return {phase: Page([], 0, per_phase, 0) for phase in PHASES}
        found = change_store.newest_in(session, requester_id=actor_id,
                                       groups={phase: _phase_pairs(rt, phase) for phase in PHASES},
                                       limit=per_phase)
        return {phase: Page([Found(common.view_of(session, rt, r), r.planned_cost) for r in rows], total,
                            per_phase, 0) for phase, (rows, total) in found.items()}


def _phase_pairs(rt: Runtime, phase: str) -> list[tuple[str, str]]:
    """The (workflow, state) pairs of every loaded workflow version in ``phase``."""
    return sorted({(wf.name, s.name) for wf in rt.workflows.every_version()
                   for s in wf.definition.states.values() if s.phase == phase})


def find(rt: Runtime, *, actor_id: int, filters: ChangeFilter, limit: int = 25, offset: int = 0,
         after: str = "", before: str = "") -> Page:
    """A page of the changes this person may see that match, with how many match in all;
    ``after`` / ``before`` a position from the page either side (its cost does not grow with
    how deep in the list it is)."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            return Page([], 0, limit, offset)
        listed = records(rt, session, filters, limit=limit, offset=offset, after=after, before=before)
        found = [Found(common.view_of(session, rt, r), r.planned_cost) for r in listed.rows]
        return paged(listed, found, limit)
