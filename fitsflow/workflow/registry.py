"""One shared ``transitions`` machine per workflow definition, built once at load."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from transitions import EventData, Machine

from ..domain.errors import NotFound
from ..domain.guards import GUARDS, GuardSubject
from .definition import Transition, WorkflowDefinition


@dataclass
class FireContext:
    """What a service hands the machine for one trigger: the subject guards read,
    what failed, and the hook that records the transition in the same transaction."""

    subject: GuardSubject
    after: Callable[[Transition, str, str], None]
    missing: list[str] = field(default_factory=list)


class _GuardSet:
    """One machine condition running every guard, so all that is missing is reported."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.guards = [GUARDS[name] for name in names]

    def __call__(self, event: EventData) -> bool:
        ctx: FireContext = event.kwargs["ctx"]
        for check in self.guards:
            ctx.missing.extend(check(ctx.subject))
        return not ctx.missing


class _Record:
    """The ``after`` callback of one transition (transitions' per-transition callbacks): it
    hands the service the transition's own spec, so nothing is attached to the library's
    objects."""

    def __init__(self, spec: Transition):
        self.spec = spec

    def __call__(self, event: EventData) -> None:
        ctx: FireContext = event.kwargs["ctx"]
        fired = event.transition
        assert fired is not None and fired.dest is not None  # an ``after`` runs for a transition made
        ctx.after(self.spec, fired.source, fired.dest)


class Workflow:
    """A validated definition with its shared machine. Never changed after start-up."""

    def __init__(self, definition: WorkflowDefinition):
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            auto_transitions=False,
            model_attribute="state",
            send_event=True,
        )
        # As transitions' README shows: conditions and callbacks given per transition.
        for spec in definition.transitions:
            conditions: list[Any] = [_GuardSet(spec.guards)] if spec.guards else []
            self.machine.add_transition(spec.trigger, list(spec.sources), spec.dest, conditions=conditions,
                                        after=[_Record(spec)])

    @property
    def name(self) -> str:
        return self.definition.name

    def fire(self, row: Any, trigger: str, ctx: FireContext) -> bool:
        """Fire a trigger on a row (anything with a ``state`` attribute): the machine is
        shared, so the row is passed to the event rather than decorated as its model."""
        return bool(self.machine.events[trigger].trigger(row, ctx=ctx))


class WorkflowRegistry:
    """The loaded workflows, by name and by the category each serves, and the earlier
    versions changes still run on (by content hash)."""

    def __init__(self, definitions: Iterable[WorkflowDefinition]):
        self._by_name = {d.name: Workflow(d) for d in definitions}
        self._by_category = {c: w for w in self._by_name.values() for c in w.definition.categories}
        self._by_version = {w.definition.version: w for w in self._by_name.values()}
        # Reads a stored version by hash (set by bootstrap: the registry knows no database).
        self.loader: Callable[[str], WorkflowDefinition | None] | None = None

    def __iter__(self) -> Iterator[Workflow]:
        """The current version of each workflow."""
        return iter(self._by_name.values())

    def every_version(self) -> list[Workflow]:
        """Current and earlier versions loaded for the changes that run on them."""
        return list(self._by_version.values())

    def get(self, name: str) -> Workflow:
        """The current version of a workflow (the one new changes start on)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound(f"no workflow named '{name}'") from None

    def of(self, name: str, version: str | None) -> Workflow:
        """The version a change runs on: its own, or the current one for a change from
        before versions were kept."""
        if version:
            found = self._by_version.get(version)
            if found is None and self.loader is not None:
                definition = self.loader(version)
                if definition is not None:
                    found = self.pin(definition)
            if found is not None:
                return found
        return self.get(name)

    def pin(self, definition: WorkflowDefinition) -> Workflow:
        """Keep an earlier version loaded (changes still run on it)."""
        return self._by_version.setdefault(definition.version, Workflow(definition))

    def is_current(self, version: str) -> bool:
        return any(w.definition.version == version for w in self._by_name.values())

    def for_category(self, category: str) -> Workflow:
        try:
            return self._by_category[category]
        except KeyError:
            served = ", ".join(sorted(self._by_category))
            raise NotFound(f"no workflow serves category '{category}' (served: {served})") from None

    def states_of_kind(self, *kinds: str) -> list[tuple[str, str]]:
        """(workflow, state) of every state, in every loaded version, playing one of these parts."""
        return sorted({(w.name, state) for w in self.every_version()
                       for state in w.definition.states_of_kind(*kinds)})

    def state_names(self) -> list[str]:
        """Every state name of every loaded version (for filters)."""
        return sorted({s for w in self.every_version() for s in w.definition.states})

    def names(self) -> list[str]:
        return sorted(self._by_name)
