"""The filtering lifecycle's one shared ``transitions`` machine, built once when the settings
are read (the same shape as a change workflow's: no model, a row passed to each event)."""

from __future__ import annotations

from typing import Any

from transitions import EventData, Machine

from ..domain.filtering import Lifecycle, Step


class _Taken:
    def __init__(self, step: Step):
        self.step = step

    def __call__(self, event: EventData) -> None:
        event.kwargs["taken"].append(self.step)


class FilteringMachine:
    def __init__(self, lifecycle: Lifecycle):
        self.lifecycle = lifecycle
        self.machine = Machine(model=None, states=list(lifecycle.states), initial=lifecycle.initial,
                               auto_transitions=False, model_attribute="state", send_event=True)
        for step in lifecycle.steps:
            self.machine.add_transition(step.trigger, list(step.sources), step.dest, after=[_Taken(step)])

    def fire(self, row: Any, trigger: str) -> Step | None:
        """Take ``trigger`` from the row's state (the row's ``state`` is moved); the step taken,
        or None when the trigger does not leave that state."""
        event = self.machine.events.get(trigger)
        if event is None or self.lifecycle.step(trigger, row.state) is None:
            return None
        taken: list[Step] = []
        event.trigger(row, taken=taken)
        return taken[0] if taken else None
