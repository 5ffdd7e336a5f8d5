"""Read workflow TOML files and validate them, naming the file and key of each problem."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from ..domain.errors import WorkflowError
from ..domain.guards import GUARDS, IMPLIED, IMPLIED_LEAVING
from ..domain.roles import RoleBook, shipped_book
from ..domain.vocabulary import (
    CATEGORIES,
    FINAL_KINDS,
    PHASES,
    SIGNAL_KINDS,
    SIGNAL_NAMES,
    STAGES,
    STATE_KINDS,
    WITHDRAWN,
)
from .definition import Gate, State, Transition, WorkflowDefinition

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_TOP_KEYS = {"name", "title", "description", "categories", "initial", "states", "transitions", "gates",
             "emergency", "from_template", "feedback_from"}
_STATE_KEYS = {"phase", "title", "edits", "final", "kind"}
_TRANSITION_KEYS = {"trigger", "source", "dest", "roles", "guards", "signal", "title"}
_GATE_KEYS = {"state", "title", "approve", "reject", "approvers"}


def shipped_directory() -> Path:
    """The folder of workflow files that ship with fitsflow."""
    return Path(str(resources.files("fitsflow.workflows")))


class _Problems:
    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{self.source}: {key}: {message}")


def _str_list(value: Any, key: str, problems: _Problems) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(key, "must be a list of names")
        return ()
    return tuple(value)


def _unknown_keys(table: dict[str, Any], allowed: set[str], key: str, problems: _Problems) -> None:
    for extra in sorted(set(table) - allowed):
        problems.add(f"{key}.{extra}" if key else extra, "unknown key")


def _parse_states(raw: Any, problems: _Problems) -> dict[str, State]:
    states: dict[str, State] = {}
    if not isinstance(raw, dict) or not raw:
        problems.add("states", "must be a table with at least one state")
        return states
    for name, body in raw.items():
        key = f"states.{name}"
        if not _NAME.match(name):
            problems.add(key, "state names use lower-case letters, digits, '_' and '-'")
        if not isinstance(body, dict):
            problems.add(key, "must be a table")
            continue
        _unknown_keys(body, _STATE_KEYS, key, problems)
        phase = body.get("phase")
        if phase not in PHASES:
            problems.add(f"{key}.phase", f"must be one of: {', '.join(PHASES)}")
        edits = _str_list(body.get("edits", []), f"{key}.edits", problems)
        for stage in edits:
            if stage not in STAGES:
                problems.add(f"{key}.edits", f"unknown stage '{stage}' (known: {', '.join(STAGES)})")
        final = body.get("final", False)
        if not isinstance(final, bool):
            problems.add(f"{key}.final", "must be true or false")
        kind = body.get("kind")
        if kind is not None and kind not in STATE_KINDS:
            problems.add(f"{key}.kind", f"unknown kind '{kind}' (known: {', '.join(STATE_KINDS)})")
        title = body.get("title", name.replace("_", " ").capitalize())
        states[name] = State(name, str(phase), str(title), edits, bool(final),
                             str(kind) if kind is not None else None)
    return states


def _parse_transition(
    index: int, body: Any, states: dict[str, State], roles_book: RoleBook, problems: _Problems
) -> Transition | None:
    key = f"transitions[{index}]"
    if not isinstance(body, dict):
        problems.add(key, "must be a table")
        return None
    _unknown_keys(body, _TRANSITION_KEYS, key, problems)
    trigger = body.get("trigger")
    if not isinstance(trigger, str) or not _NAME.match(trigger):
        problems.add(f"{key}.trigger", "must be a lower-case name")
        trigger = ""
    sources = _str_list(body.get("source", []), f"{key}.source", problems)
    if not sources:
        problems.add(f"{key}.source", "names no state")
    for source in sources:
        if source not in states:
            problems.add(f"{key}.source", f"unknown state '{source}'")
    dest = body.get("dest")
    if dest not in states:
        problems.add(f"{key}.dest", f"unknown state '{dest}'")
    roles = _str_list(body.get("roles", []), f"{key}.roles", problems)
    if not roles:
        problems.add(f"{key}.roles", "grants no role (a transition nobody may fire is never taken)")
    for role in roles:
        if role not in roles_book.labels:
            problems.add(f"{key}.roles", f"unknown role '{role}' (known: {', '.join(roles_book.names)})")
    guards = _str_list(body.get("guards", []), f"{key}.guards", problems)
    for name in guards:
        if name not in GUARDS:
            problems.add(f"{key}.guards", f"unknown guard '{name}' (known: {', '.join(sorted(GUARDS))})")
    if dest in states:
        guards += tuple(g for g in IMPLIED.get(states[str(dest)].kind or "", ()) if g not in guards)
        if states[str(dest)].kind != WITHDRAWN:
            for source in (s for s in sources if s in states):
                leaving = IMPLIED_LEAVING.get(states[source].kind or "", ())
                guards += tuple(g for g in leaving if g not in guards)
    signal = body.get("signal")
    if signal is not None and signal not in SIGNAL_NAMES:
        problems.add(f"{key}.signal", f"unknown signal '{signal}' (known: {', '.join(SIGNAL_NAMES)})")
    elif signal in SIGNAL_KINDS and dest in states and states[str(dest)].kind != SIGNAL_KINDS[signal]:
        problems.add(f"states.{dest}.kind", f"must be '{SIGNAL_KINDS[signal]}': transitions[{index}] "
                                            f"sends '{signal}' on entering it")
    title = str(body.get("title", str(trigger).replace("_", " ").capitalize()))
    return Transition(str(trigger), sources, str(dest), roles, guards, signal, title)


def _parse_gate(
    name: str,
    body: Any,
    categories: tuple[str, ...],
    transitions: tuple[Transition, ...],
    states: dict[str, State],
    roles_book: RoleBook,
    problems: _Problems,
) -> Gate | None:
    key = f"gates.{name}"
    if not isinstance(body, dict):
        problems.add(key, "must be a table")
        return None
    _unknown_keys(body, _GATE_KEYS, key, problems)
    state = body.get("state")
    if state not in states:
        problems.add(f"{key}.state", f"unknown state '{state}'")
    for action in ("approve", "reject"):
        trigger = body.get(action)
        match = [t for t in transitions if t.trigger == trigger and state in t.sources]
        if not match:
            problems.add(f"{key}.{action}", f"no transition '{trigger}' leaves state '{state}'")
        elif action == "approve" and "gate_quorum" not in match[0].guards:
            problems.add(f"{key}.approve", f"transition '{trigger}' must use the guard 'gate_quorum'")
    approvers: dict[str, dict[str, int]] = {}
    raw = body.get("approvers", {})
    if not isinstance(raw, dict):
        problems.add(f"{key}.approvers", "must be a table of category = { role = count }")
        raw = {}
    for category in categories:
        needs = raw.get(category)
        if not isinstance(needs, dict) or not needs:
            problems.add(f"{key}.approvers.{category}", "gate has no approvers for this category")
            continue
        approvers[category] = {}
        for role, count in needs.items():
            if role not in roles_book.approvers:
                problems.add(
                    f"{key}.approvers.{category}.{role}",
                    f"not an approver role (approver roles: {', '.join(roles_book.approvers)})",
                )
            elif not isinstance(count, int) or isinstance(count, bool) or count < 1:
                problems.add(f"{key}.approvers.{category}.{role}", "must be a whole number of 1 or more")
            else:
                approvers[category][role] = count
    for category in sorted(set(raw) - set(categories)):
        problems.add(f"{key}.approvers.{category}", "category is not one this workflow serves")
    title = str(body.get("title", name.replace("_", " ").capitalize()))
    return Gate(name, str(state), title, str(body.get("approve")), str(body.get("reject")), approvers)


def _check_graph(definition: WorkflowDefinition, problems: _Problems) -> None:
    seen: set[tuple[str, str]] = set()
    for index, t in enumerate(definition.transitions):
        for source in t.sources:
            if (t.trigger, source) in seen:
                problems.add(
                    f"transitions[{index}]",
                    f"duplicate trigger '{t.trigger}' from state '{source}'",
                )
            seen.add((t.trigger, source))
    reachable = {definition.initial}
    frontier = [definition.initial]
    while frontier:
        state = frontier.pop()
        for t in definition.transitions_from(state):
            if t.dest not in reachable:
                reachable.add(t.dest)
                frontier.append(t.dest)
    for name, spec in definition.states.items():
        if name not in reachable:
            problems.add(f"states.{name}", f"unreachable from the initial state '{definition.initial}'")
        elif not spec.final and not definition.transitions_from(name):
            problems.add(f"states.{name}", "no transition leaves this state and it is not final")
        elif spec.final and definition.transitions_from(name):
            problems.add(f"states.{name}", "a final state cannot have transitions leaving it")
    gate_states = [g.state for g in definition.gates.values()]
    for gate_state in set(gate_states):
        if gate_states.count(gate_state) > 1:
            problems.add("gates", f"more than one gate collects decisions in state '{gate_state}'")


def _check_kinds(states: dict[str, State], problems: _Problems) -> None:
    seen: dict[str, str] = {}
    for name, spec in states.items():
        if spec.kind is not None:
            if spec.kind in seen:
                problems.add(f"states.{name}.kind", f"'{spec.kind}' is already the kind of state "
                                                    f"'{seen[spec.kind]}'")
            seen.setdefault(spec.kind, name)
        if spec.final and spec.kind not in FINAL_KINDS:
            problems.add(f"states.{name}.kind", f"a final state must say how the change ended: "
                                                f"kind = {' or '.join(repr(k) for k in FINAL_KINDS)}")
        elif spec.kind in FINAL_KINDS and not spec.final:
            problems.add(f"states.{name}.final", f"a state of kind '{spec.kind}' must be final")


def parse_definition(data: dict[str, Any], source: str, roles: RoleBook | None = None, *,
                     text: str = "") -> WorkflowDefinition:
    """Build a definition from parsed TOML; raise WorkflowError listing every problem."""
    roles_book = roles or shipped_book()
    problems = _Problems(source)
    _unknown_keys(data, _TOP_KEYS, "", problems)
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        problems.add("name", "must be a lower-case name such as 'fits-change'")
        name = ""
    categories = _str_list(data.get("categories", []), "categories", problems)
    if not categories:
        problems.add("categories", "must name at least one category")
    for category in categories:
        if category not in CATEGORIES:
            problems.add("categories", f"unknown category '{category}' (known: {', '.join(CATEGORIES)})")
    states = _parse_states(data.get("states"), problems)
    _check_kinds(states, problems)
    initial = data.get("initial")
    if initial not in states:
        problems.add("initial", f"unknown state '{initial}'")
    raw_transitions = data.get("transitions", [])
    if not isinstance(raw_transitions, list) or not raw_transitions:
        problems.add("transitions", "must be a list of [[transitions]] tables")
        raw_transitions = []
    parsed = [_parse_transition(i, body, states, roles_book, problems)
              for i, body in enumerate(raw_transitions)]
    transitions = tuple(t for t in parsed if t is not None)
    raw_gates = data.get("gates", {})
    if not isinstance(raw_gates, dict):
        problems.add("gates", "must be a table of gates")
        raw_gates = {}
    gates = {}
    for gate_name, body in raw_gates.items():
        gate = _parse_gate(gate_name, body, categories, transitions, states, roles_book, problems)
        if gate is not None:
            gates[gate_name] = gate
    gate_triggers = {t for g in gates.values() for t in (g.approve, g.reject)}
    for index, t in enumerate(transitions):
        if "gate_quorum" in t.guards and t.trigger not in gate_triggers:
            problems.add(f"transitions[{index}].guards", "'gate_quorum' is only for a gate's approve trigger")
    emergency = data.get("emergency", False)
    if not isinstance(emergency, bool):
        problems.add("emergency", "must be true or false")
    from_template = data.get("from_template", False)
    if not isinstance(from_template, bool):
        problems.add("from_template", "must be true or false")
    feedback_from = _str_list(data.get("feedback_from", []), "feedback_from", problems)
    for rule in feedback_from:
        audience = rule.removeprefix("audience:")
        if rule not in ("requester", "deciders") and rule not in roles_book.labels and not (
                rule.startswith("audience:") and audience in roles_book.audience_names):
            problems.add("feedback_from", f"unknown group '{rule}' (requester, deciders, a role such as "
                                          f"{', '.join(roles_book.names[:3])}, or audience:NAME)")
    if problems.items:
        raise WorkflowError(problems.items)
    definition = WorkflowDefinition(
        name=name,
        title=str(data.get("title", name)),
        description=str(data.get("description", "")),
        categories=categories,
        initial=str(initial),
        states=states,
        transitions=transitions,
        gates=gates,
        source=source,
        emergency=bool(emergency),
        from_template=bool(from_template),
        feedback_from=feedback_from,
        version=content_version(data),
        body=text,
    )
    _check_graph(definition, problems)
    if problems.items:
        raise WorkflowError(problems.items)
    return definition


def load_definition(path: Path, roles: RoleBook | None = None) -> WorkflowDefinition:
    """Read and validate one workflow file."""
    source = str(path)
    try:
        body = path.read_text(encoding="utf-8")
    except OSError as err:
        raise WorkflowError([f"{source}: cannot be read: {err.strerror}"]) from err
    except UnicodeDecodeError as err:
        raise WorkflowError([f"{source}: not UTF-8 text: {err.reason}"]) from err
    return parse_text(body, source, roles)


def parse_text(body: str, source: str, roles: RoleBook | None = None) -> WorkflowDefinition:
    """Validate a workflow given as TOML text (a file's, or a stored version's)."""
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as err:
        raise WorkflowError([f"{source}: not valid TOML: {err}"]) from err
    return parse_definition(data, source, roles, text=body)


def content_version(data: dict[str, Any]) -> str:
    """What identifies a definition: a hash of its parsed content, so comments and layout
    do not make a new version."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_directory(*folders: Path, roles: RoleBook | None = None) -> list[WorkflowDefinition]:
    """Load every ``*.toml`` in the folders; report all problems of all files together."""
    definitions: list[WorkflowDefinition] = []
    problems: list[str] = []
    for folder in folders:
        files = sorted(folder.glob("*.toml"))
        if not files:
            problems.append(f"{folder}: no workflow files (*.toml) found")
        for path in files:
            try:
                definitions.append(load_definition(path, roles))
            except WorkflowError as err:
                problems.extend(err.problems)
    problems.extend(check_set(definitions))
    if problems:
        raise WorkflowError(problems)
    return definitions


def check_set(definitions: list[WorkflowDefinition]) -> list[str]:
    """Problems between files: duplicate names, a category served twice."""
    problems: list[str] = []
    names: dict[str, str] = {}
    categories: dict[str, str] = {}
    for d in definitions:
        if d.name in names:
            problems.append(f"{d.source}: name: '{d.name}' is already defined in {names[d.name]}")
        names.setdefault(d.name, d.source)
        for category in d.categories:
            if category in categories and categories[category] != d.source:
                problems.append(
                    f"{d.source}: categories: '{category}' is already served by {categories[category]}"
                )
            categories.setdefault(category, d.source)
    return problems
