"""Workflow files: the shipped ones are valid; a bad one names its file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.domain.errors import WorkflowError
from fitsflow.workflow import load_definition, load_directory, shipped_directory
from fitsflow.workflow.diagram import mermaid

GOOD = (shipped_directory() / "emergency-change.toml").read_text()


def write(tmp_path: Path, text: str, name: str = "wf.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(WorkflowError) as err:
        load_definition(path)
    assert all(p.startswith(str(path) + ":") for p in err.value.problems)
    return [p.split(": ", 1)[1] for p in err.value.problems]


def test_shipped_workflows_are_valid_and_cover_every_category():
    definitions = load_directory(shipped_directory())
    assert {d.name for d in definitions} == {"fits-change", "standard-change", "emergency-change", "pilot"}
    assert sorted(c for d in definitions for c in d.categories) == sorted(
        ["standard", "minor", "significant", "major", "emergency", "pilot"])


@pytest.mark.parametrize("old,new,expected", [
    ('dest = "approved"', 'dest = "aproved"', "transitions[1].dest: unknown state 'aproved'"),
    ('roles = ["slt", "head"]\n\n[[transitions]]\ntrigger = "reject"',
     'roles = ["slt", "bursar"]\n\n[[transitions]]\ntrigger = "reject"',
     "transitions[1].roles: unknown role 'bursar'"),
    ('guards = ["backout_plan_recorded", "window_timely", "window_clear_of_freezes"]',
     'guards = ["os.system"]',
     "transitions[0].guards: unknown guard 'os.system'"),
    ('emergency = { slt = 1 }', 'emergency = { }',
     "gates.emergency.approvers.emergency: gate has no approvers"),
    ('phase = "planning"\ntitle = "Emergency assessment"',
     'phase = "thinking"\ntitle = "Emergency assessment"',
     "states.assessment.phase: must be one of"),
    ('signal = "released"', 'signal = "exploded"', "transitions[3].signal: unknown signal 'exploded'"),
    ('[states.closed]', '[states.orphan]\nphase = "review"\n\n[states.closed]',
     "states.orphan: unreachable from the initial state 'assessment'"),
    ('trigger = "back_out"', 'trigger = "open_review"',
     "transitions[5]: duplicate trigger 'open_review' from state 'released'"),
    ('initial = "assessment"', 'initial = "start"', "initial: unknown state 'start'"),
    ('title = "Emergency change"', 'title = "Emergency change"\ncolour = "red"', "colour: unknown key"),
])
def test_each_kind_of_mistake_is_named(tmp_path, old, new, expected):
    assert old in GOOD
    found = problems_of(tmp_path, GOOD.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found


def test_not_toml_is_reported_with_the_file(tmp_path):
    path = write(tmp_path, "name = [")
    with pytest.raises(WorkflowError, match="not valid TOML") as err:
        load_definition(path)
    assert str(path) in err.value.problems[0]


def test_two_files_serving_one_category_conflict(tmp_path):
    write(tmp_path, GOOD, "a.toml")
    write(tmp_path, GOOD.replace('name = "emergency-change"', 'name = "other"'), "b.toml")
    with pytest.raises(WorkflowError, match="'emergency' is already served by"):
        load_directory(tmp_path)


def test_the_program_refuses_to_start_on_an_invalid_definition(tmp_path):
    write(tmp_path, GOOD.replace('dest = "approved"', 'dest = "nowhere"'))
    settings = load_settings(environ={"FITSFLOW_WORKFLOWS_DIR": str(tmp_path)})
    with pytest.raises(WorkflowError, match="unknown state 'nowhere'"):
        build_runtime(settings, database_url="sqlite://")


def test_mermaid_marks_phases_gates_and_the_current_state():
    definition = load_definition(shipped_directory() / "fits-change.toml")
    text = mermaid(definition, current="scheduled")
    assert text.startswith("stateDiagram-v2")
    assert "state planning {" in text and "state review {" in text
    assert "financial_planning --> proceed_approval : submit_proceed" in text
    assert "class implement_approval,proceed_approval gate" in text
    assert "class scheduled current" in text


def test_a_state_title_is_its_name_when_the_version_has_no_such_state():
    """One rule for a state's title: a change on an older version, at a state since renamed or
    removed, shows its name (the missed-recurrences list raised KeyError, a 500 on home)."""
    definition = load_definition(shipped_directory() / "fits-change.toml")
    title = definition.states["needs_analysis"].title
    assert definition.state_title("needs_analysis") == title and title != "needs_analysis"
    assert definition.state_title("retired_state") == "retired_state"
