"""Clashes: two changes whose release windows overlap and whose services are the same
or depend on each other (at any depth), among the changes whose window still stands —
from release planning through approval to scheduled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from ..domain.vocabulary import PAST_WINDOW_KINDS
from ..persistence import service_store
from .runtime import Runtime


@dataclass(frozen=True)
class Clash:
    ref: str
    title: str
    state_title: str
    window_start: datetime
    window_end: datetime
    services: tuple[str, ...]  # "Wi-Fi ↔ Core network": this change's service, then the other's

    def describe(self, tz: ZoneInfo) -> str:
        start, end = self.window_start.astimezone(tz), self.window_end.astimezone(tz)
        span = f"{start:%a %d %b %Y %H:%M}–" + (f"{end:%H:%M}" if end.date() == start.date()
                                                  else f"{end:%a %d %b %Y %H:%M}")
        return f"{self.ref} “{self.title}” ({self.state_title}, {span}; {', '.join(self.services)})"


def standing_states(rt: Runtime) -> list[tuple[str, str]]:
    """(workflow, state) where a change's window still stands: not final, not released or
    after (every state of a kind is at or past the release)."""
    return sorted({(wf.name, state.name) for wf in (w.definition for w in rt.workflows.every_version())
                   for state in wf.states.values()
                   if not state.final and state.kind not in PAST_WINDOW_KINDS})


def find(rt: Runtime, session: Session, *, change_id: int, services: list[str], start: datetime,
         end: datetime, schools: tuple[int, ...] = ()) -> list[Clash]:
    """The clashes of a change's window, with the changes of ``schools`` (the ones it
    affects) and the trust-wide changes affecting any of them."""
    if not services:
        return []
    cat = service_store.catalogue(session)
    found = []
    for row in service_store.overlapping_changes(session, change_id=change_id, start=start, end=end,
                                                 states=standing_states(rt), schools=schools):
        ref, title, workflow, state, other_services, other_start, other_end = row
        pairs = cat.related(services, [s for s in (other_services or "").split("\n") if s])
        if pairs:
            definition = rt.workflows.get(workflow).definition
            found.append(Clash(ref, title, definition.state_title(state), other_start, other_end,
                               tuple(a if a == b else f"{a} ↔ {b}" for a, b in pairs)))
    return found
