"""Workflow versions: a change runs on the definition it started with.

A definition is identified by a hash of its content (``WorkflowDefinition.version``) and
stored the first time a change uses it. Editing a workflow file makes a new version for new
changes; live changes finish on theirs. An edit that drops a state live changes are in is
refused at start-up (``prepare``) until they are moved with ``migrate``, which is audited.
"""

from __future__ import annotations

import getpass
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sqlmodel import Session

from ..domain.errors import InvalidInput, NotFound, WorkflowError
from ..domain.roles import RoleBook
from ..persistence import audit_store, change_store, workflow_store
from ..persistence.db import Database
from ..persistence.db_hooks import clock_now
from ..workflow.definition import WorkflowDefinition
from ..workflow.loader import parse_text
from . import common
from .runtime import Runtime
from .subject import ChangeSubject


def stored_loader(db: Database, roles: RoleBook) -> Callable[[str], WorkflowDefinition | None]:
    """What the registry calls to read a version it has not loaded (None if not stored)."""

    def load(version: str) -> WorkflowDefinition | None:
        with db.read() as session:
            stored = workflow_store.get(session, version)
        return _definition(stored, roles) if stored else None

    return load


def _definition(stored: workflow_store.StoredVersion, roles: RoleBook) -> WorkflowDefinition:
    source = f"{stored.source} (stored version {stored.version})"
    definition = parse_text(stored.body, source, roles)
    if definition.version != stored.version:
        raise WorkflowError([f"{source}: the stored text hashes to {definition.version}: it was altered"])
    return definition


def record(session: Session, definition: WorkflowDefinition) -> None:
    """Store the version a change is about to use (nothing if it is stored already)."""
    workflow_store.record(session, version=definition.version, name=definition.name,
                          source=definition.source, body=definition.body, at=clock_now(session))


@dataclass(frozen=True)
class Readiness:
    """What ``prepare`` found: changes adopted onto a version, earlier versions in use."""

    adopted: dict[str, int]
    earlier: dict[str, int]  # version → live changes on it


def _is_live(definition: WorkflowDefinition, state: str) -> bool:
    spec = definition.states.get(state)
    return spec is None or not spec.final


def prepare(rt: Runtime) -> Readiness:
    """At start-up: put changes from before versions on the current version, load the
    earlier versions live changes run on, and refuse (WorkflowError, naming the file, the
    state and how many changes) when a state live changes are in has gone from the file."""
    adopted: dict[str, int] = {}
    with rt.db.transaction() as session:
        for wf in rt.workflows:
            record(session, wf.definition)
            moved = workflow_store.adopt(session, workflow=wf.name, version=wf.definition.version)
            if moved:
                adopted[wf.name] = moved
    problems, earlier = _review(rt, {wf.name: wf.definition for wf in rt.workflows})
    if problems:
        raise WorkflowError(problems)
    return Readiness(adopted, dict(earlier))


def problems_with(rt: Runtime, files: Iterable[WorkflowDefinition]) -> list[str]:
    """What start-up would refuse if these were the workflow files, given the changes in the
    database (``fitsflow workflow check --database``). Reads only."""
    return _review(rt, {d.name: d for d in files})[0]


def _review(rt: Runtime, current: Mapping[str, WorkflowDefinition]) -> tuple[list[str], Counter[str]]:
    """The live changes against ``current`` (the files): the problems that stop start-up,
    and how many live changes run on each earlier version."""
    problems: list[str] = []
    earlier: Counter[str] = Counter()
    with rt.db.read() as session:
        in_use = workflow_store.in_use(session)
    for row in in_use:
        now = current.get(row.workflow)
        if now is not None and row.version in (None, now.version):
            on = now  # changes from before versions are adopted onto the file's version
        else:
            try:
                on = rt.workflows.of(row.workflow, row.version).definition
            except NotFound:
                problems.append(f"workflow '{row.workflow}': {row.count} change(s) in state '{row.state}' "
                                f"run on a workflow that is no longer loaded")
                continue
            except WorkflowError as err:
                problems.extend(err.problems)
                continue
        if not _is_live(on, row.state):
            continue
        if now is None:
            problems.append(f"workflow '{row.workflow}': {row.count} live change(s) in state '{row.state}' "
                            f"(version {row.version}), but no workflow file defines '{row.workflow}' now; "
                            f"restore the file, or move them to another workflow's version with "
                            f"'fitsflow workflow migrate'")
            continue
        if on.version != now.version:
            earlier[on.version] += row.count
        if row.state not in now.states:
            problems.append(
                f"{now.source}: states.{row.state}: {row.count} live change(s) of workflow "
                f"'{row.workflow}' are in this state (version {on.version}) but the file no longer has "
                f"it; move them: fitsflow workflow migrate {on.version} {now.version} "
                f"--map {row.state}=STATE")
    return problems, earlier


@dataclass(frozen=True)
class Moved:
    ref: str
    from_state: str
    to_state: str


@dataclass(frozen=True)
class Migration:
    workflow: str
    old: str
    new: str
    moved: tuple[Moved, ...]


def resolve(rt: Runtime, text: str) -> WorkflowDefinition:
    """A version from what a person typed: a workflow's name (its current version), or a
    hash or its first few characters (at least 6)."""
    text = text.strip()
    try:
        return rt.workflows.get(text).definition
    except NotFound:
        pass
    if len(text) < 6 or any(c not in "0123456789abcdef" for c in text):
        names = ", ".join(rt.workflows.names())
        raise InvalidInput({"version": f"'{text[:40]}' is neither a workflow name ({names}) "
                                       "nor a version hash (at least 6 of its characters)"})
    for wf in rt.workflows.every_version():
        if wf.definition.version.startswith(text):
            return wf.definition
    with rt.db.read() as session:
        found = workflow_store.find(session, text)
    if not found:
        raise NotFound(f"no stored workflow version {text}")
    if len(found) > 1:
        raise InvalidInput({"version": f"'{text}' matches {len(found)} versions: give more characters"})
    return rt.workflows.of(found[0].name, found[0].version).definition


def parse_map(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise InvalidInput({"map": f"'{item[:80]}' is not OLD_STATE=NEW_STATE"})
        mapping[old.strip()] = new.strip()
    return mapping


def migrate(rt: Runtime, *, old: str, new: str, mapping: Mapping[str, str], actor: str = "",
            dry_run: bool = False) -> Migration:
    """Move every live change on version ``old`` to version ``new`` of the same workflow,
    renaming states by ``mapping`` (a state not mapped keeps its name, which ``new`` must
    have). All or nothing; each move is in the change's audit trail. A change moved into a
    gate it was not at opens a new round there (with the approvers the policy asks for)."""
    source, target = resolve(rt, old), resolve(rt, new)
    if source.name != target.name:
        raise InvalidInput({"new": f"{target.version} is workflow '{target.name}', not '{source.name}'"})
    problems = {f"map.{k}": f"version {source.version} of '{source.name}' has no state '{k}'"
                for k in mapping if k not in source.states}
    problems |= {f"map.{k}": f"version {target.version} of '{target.name}' has no state '{v}' "
                             f"(it has: {', '.join(target.states)})"
                 for k, v in mapping.items() if v not in target.states}
    if problems:
        raise InvalidInput(problems)
    actor = actor or f"{getpass.getuser()} (fitsflow workflow migrate)"
    moved: list[Moved] = []
    with rt.db.transaction() as session:
        live = [r for r in workflow_store.in_use(session)
                if r.workflow == source.name and r.version == source.version and _is_live(source, r.state)]
        unmapped = {r.state: r.count for r in live if mapping.get(r.state, r.state) not in target.states}
        if unmapped:
            raise InvalidInput({f"map.{state}": f"{count} live change(s) are in '{state}', which version "
                                                f"{target.version} does not have: map it to one of "
                                                f"{', '.join(target.states)}"
                                for state, count in unmapped.items()})
        refs = workflow_store.refs_on(session, workflow=source.name, version=source.version,
                                      states=[r.state for r in live])
        if source.version == target.version and all(mapping.get(r.state, r.state) == r.state for r in live):
            refs = []  # nothing would change
        for ref in refs:
            change = change_store.load(session, ref)
            assert change is not None
            to_state = mapping.get(change.state, change.state)
            moved.append(Moved(ref, change.state, to_state))
            if dry_run:
                continue
            _move(rt, session, change, source, target, to_state, actor)
        if moved and not dry_run:
            audit_store.append(session, actor=actor, change_ref="", event_type="workflow.migrated",
                               payload={"workflow": source.name, "from_version": source.version,
                                        "to_version": target.version, "map": dict(mapping),
                                        "changes": len(moved)})
        if dry_run:
            session.rollback()
    return Migration(source.name, source.version, target.version, tuple(moved))


def _move(rt: Runtime, session: Session, change: change_store.ChangeRecord, source: WorkflowDefinition,
          target: WorkflowDefinition, to_state: str, actor: str) -> None:
    from_state = change.state
    change.state = to_state
    change.workflow_version = target.version
    common.touch(rt, change)
    audit_store.append(session, actor=actor, change_ref=change.ref, event_type="change.workflow_migrated",
                       payload={"workflow": target.name, "from_version": source.version,
                                "to_version": target.version, "from": from_state, "to": to_state})
    gate = target.gate_at(to_state)
    before = source.gate_at(from_state)
    if gate is not None and (before is None or before.name != gate.name):
        needed = ChangeSubject(rt, session, change, target).requirements_for(gate)
        common.open_round(rt, session, change, gate, needed, actor)


@dataclass(frozen=True)
class VersionInUse:
    workflow: str
    version: str
    current: bool
    live: int
    total: int
    source: str


def versions_in_use(rt: Runtime) -> list[VersionInUse]:
    """Each workflow's current version and every version changes are on, with counts."""
    with rt.db.read() as session:
        in_use = workflow_store.in_use(session)
    live: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    sources: dict[tuple[str, str], str] = {}
    for wf in rt.workflows:
        key = (wf.name, wf.definition.version)
        total[key] += 0
        sources[key] = wf.definition.source
    for row in in_use:
        try:
            definition = rt.workflows.of(row.workflow, row.version).definition
        except (NotFound, WorkflowError):
            continue
        key = (row.workflow, definition.version)
        sources.setdefault(key, definition.source)
        total[key] += row.count
        if _is_live(definition, row.state):
            live[key] += row.count
    return [VersionInUse(name, version, rt.workflows.is_current(version), live[(name, version)],
                         total[(name, version)], sources[(name, version)])
            for name, version in sorted(total, key=lambda k: (k[0], not rt.workflows.is_current(k[1]), k[1]))]
