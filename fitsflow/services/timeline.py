"""A change's history in words: what happened, by whom, with before and after for edits —
never an event or trigger name (the audit export keeps those)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..domain import events
from ..workflow.definition import WorkflowDefinition
from .audit import TimelineEvent

DECIDED = {"approve": "Approved", "reject": "Sent back"}


def _title(kind: str) -> str:
    """The declared title (an event a version since retired is named from its kind)."""
    declared = events.EVENTS.get(kind)
    return declared.title if declared else kind.replace(".", " ").replace("_", " ").capitalize()


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    title: str
    details: tuple[str, ...]


def _plain_money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _show(value: Any, money: Callable[[Decimal], str] = _plain_money) -> str:
    if value in (None, "", [], {}):
        return "(empty)"
    if isinstance(value, list) and value and all(isinstance(v, dict) and "amount" in v for v in value):
        total = sum((Decimal(str(v["amount"])) for v in value), Decimal(0))
        return f"{len(value)} cost line{'s' if len(value) != 1 else ''} totalling {money(total)}"
    if isinstance(value, list):
        value = ", ".join(_show(v, money) for v in value)
    elif isinstance(value, dict):
        # Answers as a person reads them ("personal data: new; safeguarding: no"), not JSON.
        value = "; ".join(f"{str(k).replace('_', ' ')}: {_show(v, money)}" for k, v in sorted(value.items()))
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _edits(before: Any, after: Any, money: Callable[[Decimal], str] = _plain_money) -> list[str]:
    """Each field that differs: "field: before → after" (a first edit has no before)."""
    before = {} if before is None and isinstance(after, dict) else before
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [f"{_show(before, money)} → {_show(after, money)}"] if before != after else []
    return [f"{key.replace('_', ' ')}: {_show(before.get(key), money)} → {_show(after.get(key), money)}"
            for key in sorted(set(before) | set(after))
            if _show(before.get(key), money) != _show(after.get(key), money)]


def _state(definition: WorkflowDefinition, name: Any) -> str:
    spec = definition.states.get(str(name))
    return spec.title if spec else str(name).replace("_", " ")


def _gate(definition: WorkflowDefinition, name: Any) -> str:
    gate = definition.gates.get(str(name))
    return gate.title if gate else str(name).replace("_", " ")


def describe(definition: WorkflowDefinition, event: TimelineEvent, label: Any = str,
             money: Callable[[Decimal], str] = _plain_money, names: Mapping[str, str] | None = None) -> Entry:
    """One event in words; ``label`` names a role (the school's own words for it), ``money``
    writes an amount as the pages do, ``names`` gives the person behind an actor's sign-in
    (shown by name, not email, where a name exists)."""
    p: dict[str, Any] = dict(event.payload)
    kind = event.event_type
    details: list[str] = []
    if kind == "transition":
        trigger = str(p.get("trigger", ""))
        gate = next((g for g in definition.gates.values() if trigger in (g.approve, g.reject)), None)
        if gate is not None:
            title = f"{gate.title}: {'passed' if trigger == gate.approve else 'sent back'}"
        else:
            title = definition.trigger_title(trigger)
        details.append(f"{_state(definition, p.get('from'))} → {_state(definition, p.get('to'))}")
        if p.get("reason"):
            details.append(f"Reason: {p['reason']}")
    elif kind == "approval.decided":
        title = f"{DECIDED.get(str(p.get('decision')), 'Decided')} at {_gate(definition, p.get('gate'))}"
        behalf = str(p.get("on_behalf_of") or "")
        details.append(f"as {label(p.get('role'))}" + (f", on behalf of {(names or {}).get(behalf, behalf)}"
                                                         if behalf else ""))
        if p.get("comment"):
            details.append(f"“{p['comment']}”")
    elif kind in ("approval.requested", "approval.reopened"):
        title = f"{_title(kind)}: {_gate(definition, p.get('gate'))}"
        requires = p.get("requires")
        if isinstance(requires, dict) and requires:
            details.append("Needs " + ", ".join(f"{n} × {label(r)}" for r, n in requires.items()))
        details += [str(line) for line in p.get("changes", []) or []]
    elif kind.startswith("stage."):
        title = _title(kind)
        details = _edits(p.get("before"), p.get("after"), money)
    else:
        title = _title(kind)
        for key in ("reason", "comment", "comments"):
            if p.get(key):
                details.append(f"“{p[key]}”" if key != "reason" else f"Reason: {p[key]}")
        for key in ("freezes", "clashes", "periods"):
            if p.get(key):
                details.append("; ".join(str(x) for x in p[key]))
        if kind == "change.recategorised":
            details.insert(0, f"{p.get('from')} → {p.get('to')}")
    return Entry(event.seq, event.at, (names or {}).get(event.actor, event.actor), title, tuple(details))
