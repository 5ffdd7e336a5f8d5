"""A workflow definition as plain, immutable data."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from fitsflow.domain.errors import NotAllowed


@dataclass(frozen=True)
class State:
    name: str
    phase: str
    title: str
    edits: tuple[str, ...] = ()
    final: bool = False
    kind: str | None = None


@dataclass(frozen=True)
class Transition:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    signal: str | None = None
    title: str = ""


@dataclass(frozen=True)
class Gate:
    name: str
    state: str
    title: str
    approve: str
    reject: str
    approvers: dict[str, dict[str, int]] = field(default_factory=dict)

    def requirements(self, category: str) -> dict[str, int]:
        """Approvals needed per role for a change of this category."""
        return dict(self.approvers.get(category, {}))


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    title: str
    description: str
    categories: tuple[str, ...]
    initial: str
    states: dict[str, State]
    transitions: tuple[Transition, ...]
    gates: dict[str, Gate]
    source: str = ""
    # An emergency workflow may go ahead in a freeze (with a recorded reason) and at short
    # notice (its notices are sent at once).
    emergency: bool = False
    # A change of this workflow is raised only from an approved standard-change template,
    # within its limits (the CAB approved the template, so the change has no gate).
    from_template: bool = False
    # Who is asked for 360° feedback when a review opens (notify rules: requester, deciders,
    # a role, audience:NAME); empty: review.feedback_from.
    feedback_from: tuple[str, ...] = ()
    # The content hash of the parsed file (comments and layout aside) and the file's text:
    # a change runs on the version it started with (services.workflow_versions).
    version: str = ""
    body: str = field(default="", repr=False, compare=False)

    def state_title(self, state: str) -> str:
        """The state's title for people; its name when this version has no such state (a change
        on an older version, at a state since renamed or removed)."""
        spec = self.states.get(state)
        return spec.title if spec else state

    def kind_of(self, state: str) -> str | None:
        """What the state means to the engine (see vocabulary.STATE_KINDS), if anything."""
        spec = self.states.get(state)
        return spec.kind if spec else None

    def state_of_kind(self, kind: str) -> str | None:
        """The state playing this part in this workflow, if it has one."""
        for state in self.states.values():
            if state.kind == kind:
                return state.name
        return None

    def states_of_kind(self, *kinds: str) -> tuple[str, ...]:
        return tuple(s.name for s in self.states.values() if s.kind in kinds)

    def gate_at(self, state: str) -> Gate | None:
        """The gate collecting decisions in this state, if any."""
        for gate in self.gates.values():
            if gate.state == state:
                return gate
        return None

    def gate_triggers(self) -> set[str]:
        return {t for g in self.gates.values() for t in (g.approve, g.reject)}

    def transitions_from(self, state: str) -> list[Transition]:
        return [t for t in self.transitions if state in t.sources]

    def transition(self, trigger: str, state: str) -> Transition | None:
        for t in self.transitions:
            if t.trigger == trigger and state in t.sources:
                return t
        return None

    def trigger_title(self, trigger: str) -> str:
        """What a person calls the action (its title in the file), for messages."""
        return next((t.title for t in self.transitions if t.trigger == trigger and t.title),
                    trigger.replace("_", " ").capitalize())

    def not_allowed(self, trigger: str, state: str, allowed: Iterable[str] = (), *,
                    action: str = "", possible: Iterable[str] | None = None) -> NotAllowed:
        """The refusal in the file's words: what was asked (``action``, or the trigger's
        title), the state the change is at, and what is possible from there (the titles of
        ``allowed``, or ``possible`` as given). The machine's names stay on the error."""
        allowed = sorted(allowed)
        spec = self.states.get(state)
        words = (f"“{action or self.trigger_title(trigger)}” is not possible now: the change is at "
                 f"“{spec.title if spec else state.replace('_', ' ')}”.")
        titles = list(possible) if possible is not None else [self.trigger_title(t) for t in allowed]
        if titles:
            words += f" Possible now: {', '.join(titles)}."
        return NotAllowed(trigger, state, allowed, words=words)

    def triggers(self) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return list(seen)

    def path(self, target: str, avoid: frozenset[str] = frozenset()) -> list[str]:
        """The shortest list of triggers from the initial state to ``target``."""
        queue: deque[tuple[str, list[str]]] = deque([(self.initial, [])])
        seen = {self.initial}
        while queue:
            state, triggers = queue.popleft()
            if state == target:
                return triggers
            for t in self.transitions_from(state):
                if t.dest not in seen and t.trigger not in avoid:
                    seen.add(t.dest)
                    queue.append((t.dest, [*triggers, t.trigger]))
        raise ValueError(f"state '{target}' is unreachable in workflow '{self.name}'")

    def table(self) -> dict[tuple[str, str], str]:
        """The plain transition table: (source, trigger) → destination."""
        return {(s, t.trigger): t.dest for t in self.transitions for s in t.sources}
