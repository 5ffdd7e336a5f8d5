"""Web-filtering decisions (issue 25.3): the lifecycle a school ships as data (who decides,
who applies, what is kept of each step) and the rules for a request. Pure: parsing and
checking only; the machine that runs the lifecycle is ``workflow.filtering``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from . import limits
from .errors import InvalidInput
from .text import text_field

# In a transition's roles: the request's own asker.
ASKER = "asker"
# What the engine keeps of a transition when it is taken.
DECISION, APPLIED, REVERTED, WITHDRAWN = "decision", "applied", "reverted", "withdrawn"
RECORDS: tuple[str, ...] = (DECISION, APPLIED, REVERTED, WITHDRAWN)
ALLOW, BLOCK = "allow", "block"
ACTIONS: dict[str, str] = {ALLOW: "Allow (unblock)", BLOCK: "Block"}
WHAT_MAX = 300          # a site's address or a category's name
FOR_WHOM_MAX = 300
UNTIL_DAYS_MAX = 366 * 2  # a time-limited request ends within two years


class FilteringFileError(ValueError):
    """A bad lifecycle file; the message names the file and the key."""


@dataclass(frozen=True)
class Step:
    trigger: str
    title: str
    sources: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    records: str | None = None
    reason: bool = False


@dataclass(frozen=True)
class Lifecycle:
    title: str
    initial: str
    states: Mapping[str, str]  # name → title
    finals: frozenset[str]
    steps: tuple[Step, ...]
    readers: tuple[str, ...]
    source: str = ""

    def state_title(self, state: str) -> str:
        return self.states.get(state, state)

    def steps_from(self, state: str) -> list[Step]:
        return [s for s in self.steps if state in s.sources]

    def step(self, trigger: str, state: str) -> Step | None:
        return next((s for s in self.steps if s.trigger == trigger and state in s.sources), None)

    def roles_acting(self) -> frozenset[str]:
        """Every school role some step grants (the asker aside)."""
        return frozenset(r for s in self.steps for r in s.roles if r != ASKER)

    def states_for(self, roles: Collection[str]) -> tuple[str, ...]:
        """The states in which someone holding ``roles`` has a step to take (their queue; a
        withdrawal is not work waiting for them)."""
        held = set(roles)
        return tuple(state for state in self.states
                     if any(set(s.roles) & held and s.records != WITHDRAWN for s in self.steps_from(state)))

    def states_recording(self, record: str) -> tuple[str, ...]:
        """The states a step that keeps ``record`` leads to."""
        return tuple(dict.fromkeys(s.dest for s in self.steps if s.records == record))

    def open_states(self) -> tuple[str, ...]:
        return tuple(s for s in self.states if s not in self.finals)


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise FilteringFileError(f"{key}: a name or a list of names")
    return tuple(value)


def parse_lifecycle(raw: Mapping[str, Any], where: str, *, roles: Iterable[str]) -> Lifecycle:
    """The lifecycle file, checked whole: every state reached, every role known, each step's
    keys; a FilteringFileError names ``where`` and the key at fault."""
    known = set(roles)
    extra = set(raw) - {"title", "initial", "readers", "states", "transitions"}
    if extra:
        raise FilteringFileError(f"{where}: {sorted(extra)[0]}: not a key of a filtering lifecycle "
                                 "(title, initial, readers, states, transitions)")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise FilteringFileError(f"{where}: title: must be text")
    states_raw = raw.get("states")
    if not isinstance(states_raw, dict) or not states_raw:
        raise FilteringFileError(f"{where}: states: must hold [states.NAME] tables")
    states: dict[str, str] = {}
    finals: set[str] = set()
    for name, body in states_raw.items():
        key = f"{where}: states.{name}"
        if not isinstance(body, dict) or set(body) - {"title", "final"} or not isinstance(body.get("title"),
                                                                                          str):
            raise FilteringFileError(f"{key}: a table of title and (optionally) final")
        if len(name) > 30:
            raise FilteringFileError(f"{key}: a state's name is at most 30 characters")
        states[name] = body["title"].strip() or name
        if body.get("final") is True:
            finals.add(name)
    initial = raw.get("initial")
    if initial not in states:
        raise FilteringFileError(f"{where}: initial: must name a state ({', '.join(states)})")
    readers = _strings(raw.get("readers", ["requester"]), f"{where}: readers")
    for role in readers:
        if role not in known:
            raise FilteringFileError(f"{where}: readers: unknown role '{role}'")
    steps_raw = raw.get("transitions")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise FilteringFileError(f"{where}: transitions: must hold [[transitions]] tables")
    steps: list[Step] = []
    for index, body in enumerate(steps_raw):
        key = f"{where}: transitions[{index}]"
        if not isinstance(body, dict):
            raise FilteringFileError(f"{key}: must be a table")
        unknown = set(body) - {"trigger", "title", "source", "dest", "roles", "records", "reason"}
        if unknown:
            raise FilteringFileError(f"{key}.{sorted(unknown)[0]}: not a key of a transition")
        trigger = body.get("trigger")
        if not isinstance(trigger, str) or not trigger.isidentifier() or len(trigger) > 40:
            raise FilteringFileError(f"{key}.trigger: a name of letters, digits and '_'")
        sources = _strings(body.get("source"), f"{key}.source")
        for state in (*sources, body.get("dest")):
            if state not in states:
                raise FilteringFileError(f"{key}: unknown state '{state}' ({', '.join(states)})")
        finals_left = [s for s in sources if s in finals]
        if finals_left:
            raise FilteringFileError(f"{key}.source: '{finals_left[0]}' is final: nothing leaves it")
        step_roles = _strings(body.get("roles"), f"{key}.roles")
        for role in step_roles:
            if role != ASKER and role not in known:
                raise FilteringFileError(f"{key}.roles: unknown role '{role}' (known: asker, "
                                         f"{', '.join(sorted(known))})")
        records = body.get("records")
        if records is not None and records not in RECORDS:
            raise FilteringFileError(f"{key}.records: one of {', '.join(RECORDS)}")
        reason = body.get("reason", False)
        if not isinstance(reason, bool):
            raise FilteringFileError(f"{key}.reason: true or false")
        title_given = body.get("title", "")
        if not isinstance(title_given, str):
            raise FilteringFileError(f"{key}.title: must be text")
        if any(s.trigger == trigger and set(s.sources) & set(sources) for s in steps):
            raise FilteringFileError(f"{key}.trigger: '{trigger}' leaves the same state twice")
        steps.append(Step(trigger, title_given.strip() or trigger.replace("_", " ").capitalize(), sources,
                          str(body["dest"]), step_roles, records, reason))
    if not any(s.records == DECISION for s in steps):
        raise FilteringFileError(f"{where}: transitions: no step records the decision "
                                 '(records = "decision")')
    reached = {initial} | {s.dest for s in steps}
    unreached = [s for s in states if s not in reached]
    if unreached:
        raise FilteringFileError(f"{where}: states.{unreached[0]}: no transition leads to it")
    return Lifecycle(title.strip(), str(initial), states, frozenset(finals), tuple(steps), readers, where)


@dataclass(frozen=True)
class Ask:
    what: str
    action: str
    why: str
    for_whom: str
    until: date | None


def parse_ask(data: Mapping[str, Any], today: date) -> Ask:
    """A request: the site or category, allow or block, why, for whom, and until when (none:
    for good). Every problem named at once."""
    problems: dict[str, str] = {}
    what = text_field(data, "what", problems, required=True, maximum=WHAT_MAX)
    action = str(data.get("action") or "")
    if action not in ACTIONS:
        problems["action"] = f"must be one of: {', '.join(ACTIONS)}"
    why = text_field(data, "why", problems, required=True, maximum=limits.TEXT, lines=True)
    for_whom = text_field(data, "for_whom", problems, required=True, maximum=FOR_WHOM_MAX)
    until: date | None = None
    raw = str(data.get("until") or "").strip()
    if raw:
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            problems["until"] = "must be a date (YYYY-MM-DD), or empty for good"
        else:
            if until < today:
                problems["until"] = "is in the past: give a day from today, or leave it empty for good"
            elif (until - today).days > UNTIL_DAYS_MAX:
                problems["until"] = "is more than two years away: leave it empty for good"
    if problems:
        raise InvalidInput(problems)
    return Ask(what, action, why, for_whom, until)
