"""Workflow versions: an edited workflow file applies to new changes; live changes finish
on the version they started with, and a state they are in is never dropped from under them."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitsflow.bootstrap import build_runtime
from fitsflow.cli import cli
from fitsflow.config import load_settings
from fitsflow.domain.errors import InvalidInput, WorkflowError
from fitsflow.persistence import audit_store
from fitsflow.services import changes as changes_service
from fitsflow.services import gates as gates_service
from fitsflow.services import queues, workflow_versions
from fitsflow.services.runtime import Runtime
from fitsflow.workflow import shipped_directory

from . import conftest
from . import factories as f
from .web_support import WebSchool, login, make_app

FITS = "fits-change.toml"

Make = Callable[[Path], Runtime]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Make]:
    """Runtimes over one database, each reading the workflows of a folder (as a restart
    after an edit would); the first one creates the schema."""
    if request.param == "postgres":
        conftest.postgres_runtime().db.dispose()  # skips (or fails under CI) without PostgreSQL
        url = conftest.test_schema_url()
    else:
        url = f"sqlite:///{tmp_path / 'fitsflow.db'}"
    made: list[Runtime] = []

    def runtime(folder: Path) -> Runtime:
        settings = load_settings(environ={}).replace(workflows={"dir": str(folder)})
        rt = build_runtime(settings, database_url=url)
        if not made:
            if request.param == "postgres":
                conftest.reset_schema(rt)
            rt.db.create_all()
        made.append(rt)
        return rt

    yield runtime
    for rt in made:
        rt.db.dispose()


def _folder(tmp_path: Path, name: str, edit: Callable[[str], str] | None = None) -> Path:
    folder = tmp_path / name
    shutil.copytree(shipped_directory(), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    if edit is not None:
        path = folder / FITS
        text = path.read_text()
        edited = edit(text)
        assert edited != text
        path.write_text(edited)
    return folder


def _rename(old: str, new: str) -> Callable[[str], str]:
    """Rename a state everywhere the file names it."""
    return lambda text: text.replace(f"[states.{old}]", f"[states.{new}]").replace(f'"{old}"', f'"{new}"')


def _two_cab_approvals(text: str) -> str:
    return text.replace(
        "[gates.implement.approvers]\nminor = { cab = 1 }", "[gates.implement.approvers]\nminor = { cab = 2 }"
    )


def _state(rt: Runtime, school: f.School, ref: str) -> str:
    return changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.state


def test_live_changes_finish_on_their_version_while_new_ones_use_the_new(make: Make, tmp_path: Path) -> None:
    before = make(_folder(tmp_path, "v1"))
    workflow_versions.prepare(before)
    school = WebSchool(before)
    old = f.change_in(before, school, "minor", "release_planning")
    old_version = before.workflows.get("fits-change").definition.version

    after = make(_folder(tmp_path, "v2", _two_cab_approvals))
    readiness = workflow_versions.prepare(after)
    new_version = after.workflows.get("fits-change").definition.version
    assert new_version != old_version and readiness.earlier == {old_version: 1}
    new = f.change_in(after, school, "minor", "release_planning")
    assert (
        changes_service.get_change(after, actor_id=school.requester,
                                   ref=new).change.workflow_version == new_version
    )
    assert (
        changes_service.get_change(after, actor_id=school.requester,
                                   ref=old).change.workflow_version == old_version
    )

    for ref in (old, new):
        f.fill_stages(after, school.requester, ref, ("release_plan",))
        changes_service.fire(after, actor_id=school.requester, ref=ref, trigger="submit_implement")
    # The old change's gate asks what its version asked (one CAB member), the new one two.
    assert changes_service.get_change(after, actor_id=school.requester,
                                      ref=old).gate.requirements == {"cab": 1}
    assert changes_service.get_change(after, actor_id=school.requester,
                                      ref=new).gate.requirements == {"cab": 2}
    # Both wait in a CAB member's queue, whichever version they run on.
    waiting = {v.ref for v in queues.awaiting_decision(after, actor_id=school.cab[0]).items}
    assert {old, new} <= waiting
    for ref in (old, new):
        gates_service.decide(after, actor_id=school.cab[0], ref=ref, decision="approve", role="cab")
    assert _state(after, school, old) == "approved"
    assert _state(after, school, new) == "implement_approval"

    listing = {(v.version, v.current): v.live for v in workflow_versions.versions_in_use(after)}
    assert listing[(old_version, False)] == 1 and listing[(new_version, True)] == 1
    # The administrator sees both versions and how many changes each still has.
    admin = make_app(after, tmp_path).test_client()
    login(admin, school.emails[school.admin])
    page = admin.get("/admin/workflows").get_data(as_text=True)
    assert old_version in page and new_version in page and "earlier" in page


def test_comments_and_layout_do_not_make_a_new_version(tmp_path: Path, make: Make) -> None:
    first = make(_folder(tmp_path, "v1")).workflows.get("fits-change").definition.version
    reworded = make(
        _folder(tmp_path, "v2", lambda t: "# reviewed by the CAB, 2026\n\n" + t.replace(" = ", "  =  "))
    )
    assert reworded.workflows.get("fits-change").definition.version == first


def test_a_renamed_state_in_use_stops_start_up_until_its_changes_are_moved(
    make: Make, tmp_path: Path
) -> None:
    before = make(_folder(tmp_path, "v1"))
    school = f.School(before)
    waiting = [f.change_in(before, school, "minor", "proceed_approval") for _ in range(3)]
    planning = f.change_in(before, school, "minor", "needs_analysis")
    old_version = before.workflows.get("fits-change").definition.version

    folder = _folder(tmp_path, "v2", _rename("proceed_approval", "awaiting_funding"))
    after = make(folder)
    new_version = after.workflows.get("fits-change").definition.version
    with pytest.raises(WorkflowError) as refused:
        workflow_versions.prepare(after)
    message = "\n".join(refused.value.problems)
    assert "states.proceed_approval: 3 live change(s)" in message and str(folder / FITS) in message
    assert f"fitsflow workflow migrate {old_version} {new_version} --map proceed_approval=STATE" in message

    # Without a mapping (or with one naming a state the new version lacks) nothing moves.
    with pytest.raises(InvalidInput, match="proceed_approval"):
        workflow_versions.migrate(after, old=old_version, new="fits-change", mapping={})
    with pytest.raises(InvalidInput, match="no state 'nowhere'"):
        workflow_versions.migrate(
            after, old=old_version, new="fits-change", mapping={"proceed_approval": "nowhere"}
        )
    assert _state(after, school, waiting[0]) == "proceed_approval"

    dry = workflow_versions.migrate(
        after,
        old=old_version[:8],
        new="fits-change",
        mapping={"proceed_approval": "awaiting_funding"},
        dry_run=True,
    )
    assert len(dry.moved) == 4 and _state(after, school, waiting[0]) == "proceed_approval"
    result = workflow_versions.migrate(
        after, old=old_version[:8], new="fits-change", mapping={"proceed_approval": "awaiting_funding"}
    )
    assert {m.ref for m in result.moved} == {*waiting, planning}
    workflow_versions.prepare(after)  # starts now
    for ref in waiting:
        assert _state(after, school, ref) == "awaiting_funding"
    with after.db.read() as session:
        events = [
            e
            for e in audit_store.of_change(session, waiting[0])
            if e.event_type == "change.workflow_migrated"
        ]
        summary = [e for e in audit_store.iter_events(session) if e.event_type == "workflow.migrated"]
    assert len(events) == 1 and '"from":"proceed_approval"' in events[0].payload.replace(" ", "")
    assert new_version in events[0].payload and len(summary) == 1 and '"changes":4' in summary[0].payload
    # The moved changes carry on: the gate at the renamed state still decides.
    f.approve_gate(after, school, waiting[0])
    assert _state(after, school, waiting[0]) == "release_planning"


def test_a_split_state_moves_by_the_mapping_and_opens_the_new_gate(make: Make, tmp_path: Path) -> None:
    before = make(_folder(tmp_path, "v1"))
    school = f.School(before)
    ref = f.change_in(before, school, "minor", "financial_planning")
    old_version = before.workflows.get("fits-change").definition.version

    def split(text: str) -> str:
        # financial_planning becomes costing, then a finance check gate before proceed approval.
        text = _rename("financial_planning", "costing")(text)
        text = text.replace(
            'source = "costing"\ndest = "proceed_approval"', 'source = "costing"\ndest = "finance_check"'
        )
        text = text.replace(
            "[states.proceed_approval]",
            """[states.finance_check]
phase = "planning"
title = "Finance check"

[states.proceed_approval]""",
        )
        return text.replace(
            """[gates.implement]""",
            """[gates.finance_check]
state = "finance_check"
title = "Finance check"
approve = "finance_ok"
reject = "finance_not_ok"

[gates.finance_check.approvers]
minor = { finance = 1 }
significant = { finance = 1 }
major = { finance = 1 }

[[transitions]]
trigger = "finance_ok"
roles = ["finance"]
source = "finance_check"
dest = "proceed_approval"
guards = ["gate_quorum"]

[[transitions]]
trigger = "finance_not_ok"
roles = ["finance"]
source = "finance_check"
dest = "costing"

[gates.implement]""",
        )

    after = make(_folder(tmp_path, "v2", split))
    with pytest.raises(WorkflowError, match="states.financial_planning: 1 live change"):
        workflow_versions.prepare(after)
    workflow_versions.migrate(
        after, old=old_version, new="fits-change", mapping={"financial_planning": "finance_check"}
    )
    workflow_versions.prepare(after)
    detail = changes_service.get_change(after, actor_id=school.requester, ref=ref)
    assert detail.change.state == "finance_check" and detail.gate is not None
    assert detail.gate.requirements == {"finance": 1}
    gates_service.decide(after, actor_id=school.finance, ref=ref, decision="approve", role="finance")
    assert _state(after, school, ref) == "proceed_approval"


def test_a_removed_state_without_live_changes_is_no_obstacle(make: Make, tmp_path: Path) -> None:
    before = make(_folder(tmp_path, "v1"))
    school = f.School(before)
    f.change_in(before, school, "minor", "needs_analysis")
    closed = f.change_in(before, school, "minor", "withdrawn")

    def drop_withdrawn(text: str) -> str:
        start = text.index("[states.withdrawn]")
        text = text[:start] + text[text.index("\n[", start + 1) + 1 :]
        start = text.index('trigger = "withdraw"')
        start = text.rindex("[[transitions]]", 0, start)
        end = text.index("\n[", text.index("dest", start)) + 1
        return text[:start] + text[end:]

    after = make(_folder(tmp_path, "v2", drop_withdrawn))
    workflow_versions.prepare(after)  # a withdrawn change is final: nothing strands it
    assert _state(after, school, closed) == "withdrawn"
    assert changes_service.get_change(after, actor_id=school.requester,
                                      ref=closed).change.state_title == "Withdrawn"


def test_changes_from_before_versions_are_adopted(make: Make, tmp_path: Path) -> None:
    rt = make(_folder(tmp_path, "v1"))
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    with rt.db.transaction() as session:
        from sqlalchemy import text

        session.connection().execute(text("UPDATE changes SET workflow_version = NULL"))
    readiness = workflow_versions.prepare(rt)
    assert readiness.adopted == {"fits-change": 1}
    assert (
        changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.workflow_version
        == rt.workflows.get("fits-change").definition.version
    )


def test_the_command_line_refuses_then_migrates(tmp_path: Path) -> None:
    db = tmp_path / "school.db"
    config = tmp_path / "fitsflow.toml"
    v1, v2 = _folder(tmp_path, "v1"), _folder(tmp_path, "v2", _rename("proceed_approval", "awaiting_funding"))

    def run(folder: Path, *args: str) -> tuple[int, str]:
        config.write_text(f'[database]\nurl = "sqlite:///{db}"\n[workflows]\ndir = "{folder}"\n')
        result = CliRunner().invoke(cli, ["--config", str(config), *args])
        return result.exit_code, result.output

    assert run(v1, "init")[0] == 0
    rt = build_runtime(load_settings(str(config)))
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    rt.db.dispose()
    # `workflow check` alone says the renamed file is a valid workflow; with --database it
    # says what start-up will say, before anyone restarts the server on it.
    assert run(v1, "workflow", "check", str(v2 / FITS))[0] == 0
    code, out = run(v1, "workflow", "check", "--database", str(v2 / FITS))
    assert code == 1 and "states.proceed_approval: 1 live change(s)" in out
    code, out = run(v1, "workflow", "check", "--database")
    assert code == 0 and "can run on these files" in out
    code, out = run(v2, "init")
    assert code == 1 and "states.proceed_approval: 1 live change(s)" in out
    old = next(
        line.split()[1] for line in run(v2, "workflow", "versions")[1].splitlines() if "earlier" in line
    )
    code, out = run(
        v2, "workflow", "migrate", old, "fits-change", "--map", "proceed_approval=awaiting_funding"
    )
    assert code == 0 and "moved 1 live change(s)" in out and "proceed_approval → awaiting_funding" in out
    assert run(v2, "init")[0] == 0
    code, out = run(v2, "workflow", "migrate", old, "fits-change", "--map", "nowhere")
    assert code == 1 and "is not OLD_STATE=NEW_STATE" in out


def test_a_stored_version_altered_in_the_database_is_refused(make: Make, tmp_path: Path) -> None:
    before = make(_folder(tmp_path, "v1"))
    school = f.School(before)
    f.change_in(before, school, "minor", "needs_analysis")
    old_version = before.workflows.get("fits-change").definition.version
    with before.db.transaction() as session:
        from sqlalchemy import text

        session.connection().execute(
            text("UPDATE workflow_versions SET body = replace(body, 'cab = 1', 'cab = 2')")
        )
    after = make(_folder(tmp_path, "v2", _two_cab_approvals))
    with pytest.raises(WorkflowError, match=f"stored version {old_version}.*altered"):
        workflow_versions.prepare(after)
