"""Workflows are data even when a school renames every state: the engine finds a
state's meaning through its ``kind``, never its name."""

from __future__ import annotations

import ast
import re
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.delivery.worker import Worker
from fitsflow.domain.errors import WorkflowError
from fitsflow.persistence.models import Change, OutboxMessage, ReleaseNotice
from fitsflow.services import audit, changes, notices
from fitsflow.workflow import load_definition, shipped_directory

from . import factories as f

ROOT = Path(__file__).resolve().parent.parent
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def renamed(name: str) -> str:
    return f"st_{name[::-1]}"


def write_renamed_copies(folder: Path) -> dict[str, str]:
    """Every shipped workflow with every state renamed (and the file's text otherwise
    unchanged); returns new name → old name."""
    back: dict[str, str] = {}
    for path in shipped_directory().glob("*.toml"):
        text = path.read_text()
        states = list(tomllib.loads(text)["states"])
        for state in states:
            back[renamed(state)] = state
        pattern = re.compile(r'(?<![\w-])(' + "|".join(map(re.escape, states)) + r')(?![\w-])')

        def swap(line: str, pattern: re.Pattern[str] = pattern) -> str:
            if line.lstrip().startswith(("[states.", "initial", "source", "dest", "state ")):
                return pattern.sub(lambda m: renamed(m.group(1)), line)
            return line

        (folder / path.name).write_text("\n".join(swap(line) for line in text.splitlines()) + "\n")
    return back


def lifecycle(rt) -> dict:  # type: ignore[no-untyped-def]
    """Drive one change per category through every kind the engine relies on; return
    what happened, with state names as they were in the shipped files."""
    school = f.School(rt)
    for audience in ("staff", "students", "parents"):
        f.user(rt, "", audience)
    outcome: dict = {}
    for category in ("minor", "standard", "emergency"):
        workflow = rt.workflows.for_category(category).definition
        released = workflow.state_of_kind("released")
        ref = f.change_in(rt, school, category, released)
        # Notices are drafted at scheduling (where the workflow schedules) and published when due.
        f.send_held_notices(rt, school, ref)
        notices.publish_due(rt, now=FAR)
        # The review reminder is still due while the change is released.
        worker = Worker(rt, email=None, webhook=None, clock=lambda: rt.now() + timedelta(days=30))
        f.drain(worker)
        closed = workflow.state_of_kind("closed")
        state = changes.get_change(rt, actor_id=school.requester, ref=ref).change.state
        for trigger in _path_between(workflow, state, closed):
            f.fill_stages(rt, school.requester, ref, workflow.states[state].edits)
            if workflow.kind_of(state) == "in_review":  # 360° feedback before the review moves on
                f.give_feedback(rt, ref)
            if trigger in workflow.gate_triggers():  # the emergency's retrospective
                f.approve_gate(rt, school, ref)
            else:
                changes.fire(rt, actor_id=school.requester, ref=ref, trigger=trigger)
            state = workflow.table()[(state, trigger)]
        detail = changes.get_change(rt, actor_id=school.requester, ref=ref)
        with rt.db.read() as session:
            notice_rows = session.execute(
                select(ReleaseNotice.audience, ReleaseNotice.status, ReleaseNotice.recipients)
                .join(Change, Change.id == ReleaseNotice.change_id).where(Change.ref == ref)).all()
            outbox = session.execute(select(OutboxMessage.event, OutboxMessage.status)
                                     .where(OutboxMessage.change_ref == ref)).all()
        events = [(e.event_type, e.payload.get("from"), e.payload.get("to"))
                  for e in audit.timeline(rt, actor_id=school.auditor, ref=ref)]
        outcome[category] = {
            "final": detail.change.state,
            "events": events,
            "outbox": sorted(Counter((e, s) for e, s in outbox).items()),
            "notices": sorted((a, s, n) for a, s, n in notice_rows),
        }
    return outcome


def _path_between(workflow, start: str, target: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Shortest list of triggers from ``start`` to ``target``, passing gates (never rejecting)."""
    from collections import deque

    queue = deque([(start, [])])
    seen = {start}
    while queue:
        state, path = queue.popleft()
        if state == target:
            return path
        for t in workflow.transitions_from(state):
            if t.dest not in seen and t.trigger not in {g.reject for g in workflow.gates.values()}:
                seen.add(t.dest)
                queue.append((t.dest, [*path, t.trigger]))
    raise AssertionError(f"no way from {start} to {target}")


def _normalise(outcome: dict, back: dict[str, str]) -> dict:
    def name(value):  # type: ignore[no-untyped-def]
        return back.get(value, value)

    return {category: {
        "final": name(o["final"]),
        "events": [(t, name(a), name(b)) for t, a, b in o["events"]],
        "outbox": o["outbox"],
        "notices": o["notices"],
    } for category, o in outcome.items()}


def test_every_shipped_workflow_renamed_runs_the_same_lifecycle(tmp_path):
    back = write_renamed_copies(tmp_path)
    original = build_runtime(load_settings(environ={}), database_url="sqlite://")
    copy = build_runtime(load_settings(environ={"FITSFLOW_WORKFLOWS_DIR": str(tmp_path)}),
                         database_url="sqlite://")
    assert not set(copy.workflows.get("fits-change").definition.states) & set(back.values())
    results = []
    for rt in (original, copy):
        rt.db.create_all()
        results.append(lifecycle(rt))
        rt.db.dispose()
    expected, got = results[0], _normalise(results[1], back)
    assert got == expected
    # The run was a real one: notices were published, and the reminder went out.
    minor = expected["minor"]
    assert {s for _, s, _ in minor["notices"]} == {"published"} and sum(n for *_, n in minor["notices"]) > 5
    assert (("review_due", "delivered"), 1) in minor["outbox"]
    assert minor["final"] == "closed"


def test_a_signal_into_a_state_without_its_kind_is_refused(tmp_path):
    text = (shipped_directory() / "fits-change.toml").read_text()
    path = tmp_path / "wf.toml"
    path.write_text(text.replace('[states.scheduled]\nkind = "scheduled"\n', "[states.scheduled]\n"))
    with pytest.raises(WorkflowError) as err:
        load_definition(path)
    assert f"{path}: states.scheduled.kind: must be 'scheduled'" in err.value.problems[0]


def test_a_final_state_must_say_how_the_change_ended(tmp_path):
    text = (shipped_directory() / "fits-change.toml").read_text()
    path = tmp_path / "wf.toml"
    path.write_text(text.replace('[states.withdrawn]\nkind = "withdrawn"\n', "[states.withdrawn]\n"))
    with pytest.raises(WorkflowError, match="states.withdrawn.kind: a final state must say how"):
        load_definition(path)
    path.write_text(text.replace('kind = "released"', 'kind = "closed"'))
    with pytest.raises(WorkflowError, match="'closed' is already the kind of state"):
        load_definition(path)


def _state_names() -> set[str]:
    names: set[str] = set()
    for path in shipped_directory().glob("*.toml"):
        names |= set(tomllib.loads(path.read_text())["states"])
    return names


def _literals(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [v for elt in node.elts for v in _literals(elt)]
    return []


def test_no_code_compares_with_a_state_name():
    """A comparison with a shipped state's name anywhere in fitsflow/ or web/ (Python or
    templates) would break the first school that renames it."""
    names = _state_names()
    found = []
    for folder in ("fitsflow", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Compare):
                    for side in (node.left, *node.comparators):
                        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {v!r}"
                                  for v in _literals(side) if v in names]
        for path in (ROOT / folder).rglob("*.html"):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                for match in re.finditer(r"""(==|!=|\bin)\s*\(?['"]([a-z_]+)['"]""", line):
                    if match.group(2) in names:
                        found.append(f"{path.relative_to(ROOT)}:{lineno}: {match.group(2)!r}")
    assert found == []


def test_the_literal_check_would_catch_one(tmp_path):
    names = _state_names()
    tree = ast.parse('if change.state in ("scheduled", "x"):\n    pass\nok = state == "nothing"\n')
    hits = [v for node in ast.walk(tree) if isinstance(node, ast.Compare)
            for side in (node.left, *node.comparators) for v in _literals(side) if v in names]
    assert hits == ["scheduled"]
