"""What waits for whom: an approver's queue, a requester's changes by phase, the audit list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..domain.roles import may_view_changes
from ..persistence import change_store, queries
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

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


def awaiting_decision(rt: Runtime, *, actor_id: int, limit: int = 25, offset: int = 0) -> Page:
    """Changes at a gate this person may decide now (never their own), oldest first counts."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        # Besides their own roles, those of anyone they stand in for today.
        roles = set(actor.roles)
        for absent in absences.standing_in_for(rt, session, actor.id):
            roles |= rt.roles.known(queries.roles_of(session, absent))
        # Every loaded version's gates: a change waits at the gate of the version it runs on.
        gates: dict[tuple[str, str, str], list[str]] = {}
        for wf in rt.workflows.every_version():
            for gate in wf.definition.gates.values():
                cats = gates.setdefault((wf.name, gate.state, gate.name), [])
                cats.extend(c for c in wf.definition.categories
                            if roles.intersection(gate.requirements(c)) and c not in cats)
        # The escalation role is asked at any gate whose round was escalated.
        escalated = rt.settings.reminders.escalation_role in actor.roles
        rows, total = change_store.awaiting(session, gates=[(*k, v) for k, v in gates.items()],
                                            roles=sorted(roles), user_id=actor.id, limit=limit, offset=offset,
                                            escalated=escalated)
        return Page([common.view_of(session, rt, r) for r in rows], total, limit, offset)


def browse(rt: Runtime, *, actor_id: int, state: str | None = None, category: str | None = None,
           requester_id: int | None = None, created_from: datetime | None = None,
           created_to: datetime | None = None, limit: int = 25, offset: int = 0) -> Page:
    """Changes the viewer may see, filtered, newest first."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            return Page([], 0, limit, offset)
        rows, total = change_store.page(session, state=state, category=category,
                                        requester_id=requester_id, created_from=created_from,
                                        created_to=created_to, limit=limit, offset=offset)
        return Page([common.view_of(session, rt, r) for r in rows], total, limit, offset)


def my_changes_by_phase(rt: Runtime, *, actor_id: int, limit: int = 200) -> dict[str, list[ChangeView]]:
    """A requester's own changes, grouped planning / delivery / review."""
    page = browse(rt, actor_id=actor_id, requester_id=actor_id, limit=limit)
    grouped: dict[str, list[ChangeView]] = {"planning": [], "delivery": [], "review": []}
    for view in page.items:
        grouped.setdefault(view.phase, []).append(view)
    return grouped
