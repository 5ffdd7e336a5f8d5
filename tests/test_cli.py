"""The ``fitsflow`` command, run as a user would."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitsflow.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_init_is_idempotent(run):
    from alembic.script import ScriptDirectory

    from fitsflow.persistence.migrate import MIGRATIONS

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert f"schema empty → {head}" in run("init")
    assert "up to date" in run("init")


def test_a_change_through_the_command_line(run):
    run("init")
    run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    run("user", "add", "--name", "Ben", "--email", "ben@s.example", "--role", "finance")
    out = run("change", "raise", "--as", "nat@s.example", "--title", "Wifi", "--category", "minor")
    ref = out.split()[0]
    err = run("change", "do", ref, "complete_needs", "--as", "nat@s.example", code=1)
    assert "no needs analysis" in err
    run("change", "needs", ref, "--as", "nat@s.example", "--need", "Coverage", "--stakeholder", "PE",
        "--options", "Mesh or wired", "--screening", "personal_data=none")
    err = run("change", "do", ref, "complete_needs", "--as", "nat@s.example", code=1)
    assert "screening not answered: Filtering, monitoring or safeguarding" in err
    err = run("change", "needs", ref, "--as", "nat@s.example", "--need", "Coverage",
              "--screening", "pets=yes", code=1)
    assert "screening.pets: is not a question of the approval policy" in err
    run("change", "needs", ref, "--as", "nat@s.example", "--need", "Coverage", "--stakeholder", "PE",
        "--options", "Mesh or wired", "--screening", "personal_data=none", "--screening", "safeguarding=no")
    err = run("change", "do", ref, "complete_needs", "--as", "nat@s.example", code=1)
    assert "no success measure" in err
    err = run("change", "needs", ref, "--as", "nat@s.example", "--need", "Coverage", "--stakeholder", "PE",
              "--measure", "Signal in the sports hall", code=2)
    assert "expected 'WHAT | HOW | BY DATE'" in err
    run("change", "needs", ref, "--as", "nat@s.example", "--need", "Coverage", "--stakeholder", "PE",
        "--options", "Mesh or wired", "--screening", "personal_data=none", "--screening", "safeguarding=no",
        "--measure", "Signal in every corner of the sports hall | A walk with a phone | 2027-03-31")
    run("change", "do", ref, "complete_needs", "--as", "nat@s.example")
    lines = ["--line", "1:capital:5000:Capital grant"] + [
        a for y in range(1, 6) for a in ("--line", f"{y}:licence:300:ICT budget")]
    run("change", "costs", ref, "--as", "nat@s.example", *lines)
    err = run("change", "do", ref, "submit_proceed", "--as", "nat@s.example", code=1)
    assert "cannot be minor: it costs £6,500.00 over five years" in err and "must be significant" in err
    lines = ["--line", "1:capital:1000:Capital grant"] + [
        a for y in range(1, 6) for a in ("--line", f"{y}:licence:100:ICT budget")]
    run("change", "costs", ref, "--as", "nat@s.example", *lines)
    run("change", "do", ref, "submit_proceed", "--as", "nat@s.example")
    out = run("change", "decide", ref, "approve", "--as", "ben@s.example")
    assert "gate passed, now in release_planning" in out
    shown = run("change", "show", ref, "--as", "nat@s.example")
    assert "Y1 1,100.00" in shown and "total: 1,500.00" in shown
    assert "submit_implement" in shown and "no back-out plan" in shown
    err = run("change", "do", ref, "release", "--as", "nat@s.example", code=1)
    assert "“Mark as released” is not possible now: the change is at “Release planning”" in err
    assert "Possible now: Submit for approval to implement, Withdraw the change." in err
    assert "actions you can type now: submit_implement, withdraw" in err


def db_first_ref(path) -> str:  # type: ignore[no-untyped-def]
    with closing(sqlite3.connect(path)) as db:
        return str(db.execute("SELECT ref FROM changes ORDER BY id LIMIT 1").fetchone()[0])


def test_demo_then_verify_and_export(run, tmp_path):
    out = run("demo")
    assert "nat.osei@demo.school" in out and "fitsflow-demo" in out
    assert "already present" in run("demo")
    verified = run("audit", "verify")
    assert verified.startswith("verified: ")
    listing = run("change", "list", "--as", "gwen.ellis@demo.school")
    for state in ("needs_analysis", "implement_approval", "backed_out", "closed", "emergency_approval"):
        assert state in listing
    # The first change's reference carries the year it was raised in (the demo's past starts
    # weeks before today, whatever today is).
    first = db_first_ref(tmp_path / "cli.db")
    exported = json.loads(run("audit", "export", "--format", "json", "--change", first))
    assert exported and {e["change_ref"] for e in exported} == {first}
    csv_path = tmp_path / "trail.csv"
    run("audit", "export", "--format", "csv", "--output", str(csv_path))
    assert csv_path.read_text().startswith("seq,at,actor")
    db = sqlite3.connect(tmp_path / "cli.db")
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 40")
    db.commit()
    db.close()
    broken = run("audit", "verify", code=1)
    assert "broken at seq 40" in broken


def test_user_import_reports_lines(run, tmp_path):
    run("init")
    path = tmp_path / "staff.csv"
    path.write_text("name,email,roles,audiences\nA,a@s.example,requester,staff\nB,not-an-email,,staff\n")
    err = run("user", "import", str(path), code=1)
    assert "line 3" in err and "not an email address" in err
    path.write_text("name,email,roles,audiences\nA,a@s.example,requester,staff\n")
    plan = run("user", "import", str(path), "--dry-run")
    assert "A <a@s.example>: new account; roles given: Network manager (raises changes)" in plan
    assert "1 new, 0 changed, 0 unchanged; nothing changed" in plan
    assert "a@s.example" not in run("user", "list")
    assert "1 created, 0 updated" in run("user", "import", str(path))
    assert "a@s.example" in run("user", "list")


def test_workflow_commands(run, tmp_path):
    assert run("workflow", "check").count("ok: ") == 4
    bad = tmp_path / "bad.toml"
    shipped = Path(__file__).resolve().parent.parent / "workflows" / "standard-change.toml"
    bad.write_text(shipped.read_text().replace('dest = "scheduled"', 'dest = "sheduled"'))
    err = run("workflow", "check", str(bad), code=1)
    assert f"{bad}: transitions[0].dest: unknown state 'sheduled'" in err
    diagram = run("workflow", "diagram", "fits-change", "--current", "approved")
    assert diagram.startswith("stateDiagram-v2") and "class approved current" in diagram
    assert "no workflow named" in run("workflow", "diagram", "nope", code=1)


def test_invalid_workflow_folder_stops_the_program(run, tmp_path, monkeypatch):
    folder = tmp_path / "wf"
    folder.mkdir()
    (folder / "x.toml").write_text("name = 'x'\n")
    monkeypatch.setenv("FITSFLOW_WORKFLOWS_DIR", str(folder))
    err = run("init", code=1)
    assert "invalid workflow definition" in err and "x.toml: categories" in err


def test_bad_config_is_reported(run, monkeypatch):
    monkeypatch.setenv("FITSFLOW_PLANNING_HORIZON_YEARS", "lots")
    assert "FITSFLOW_PLANNING_HORIZON_YEARS: must be a whole number" in run("init", code=1)


def test_standard_change_templates_from_the_command_line(run):
    run("init")
    run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    run("user", "add", "--name", "Tom", "--email", "tom@s.example", "--role", "cab")
    run("service", "add", "--name", "Printing")
    out = run("template", "propose", "--as", "nat@s.example", "--title", "Add a printer",
              "--service", "Printing", "--max-cost", "300", "--steps", "Cable it; add the queue",
              "--backout-plan", "Remove the queue", "--screening", "personal_data=none",
              "--screening", "safeguarding=no")
    ref = out.split()[0]
    assert ref == "STD-0001"
    err = run("change", "raise", "--as", "nat@s.example", "--title", "Printer", "--category", "standard",
              "--template", ref, "--cost", "50", code=1)
    assert "not approved yet" in err
    err = run("template", "decide", ref, "approve", "--as", "nat@s.example", code=1)
    assert "templates are approved by" in err
    assert "is now active" in run("template", "decide", ref, "approve", "--as", "tom@s.example")
    out = run("change", "raise", "--as", "nat@s.example", "--title", "Printer", "--category", "standard",
              "--template", ref, "--cost", "50")
    assert "standard-change" in out
    listed = run("template", "list", "--as", "tom@s.example", "--state", "active")
    assert "STD-0001  active" in listed and "uses 1" in listed
    err = run("template", "decide", "nonsense", "retire", "--as", "tom@s.example", "--reason", "x", code=1)
    assert "no template nonsense" in err


def test_help_lists_each_command_with_its_own_short_help() -> None:
    from fitsflow.cli import LAZY_COMMANDS, load_command

    for name, (_, short_help) in LAZY_COMMANDS.items():
        assert load_command(name).get_short_help_str(1000) == short_help, name
    output = CliRunner().invoke(cli, ["--help"]).output
    assert all(f"  {name} " in output for name in [*LAZY_COMMANDS, "init"])


def test_starting_a_command_loads_only_what_it_needs(tmp_path: Path) -> None:
    """Nothing heavy at import: --help loads no database or web library, and audit verify no
    workflows, web framework or password hashing (bench/cli_bench.py measures the time)."""
    import subprocess
    import sys

    probe = ("import sys, runpy; sys.argv = ['fitsflow', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('fitsflow.cli', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = ('sqlalchemy', 'flask', 'transitions', 'werkzeug', 'jinja2')\n"
             "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
             "or m == 'fitsflow.services.changes')))")
    env = {"PATH": "/usr/bin:/bin", "FITSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}

    def loaded(*args: str) -> set[str]:
        result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env,
                                check=True)
        return set(result.stdout.splitlines()[-1].split()) if result.stdout.strip() else set()

    assert loaded("--help") == set()
    verify = loaded("audit", "verify")
    assert any(m.startswith("sqlalchemy") for m in verify)
    assert not {m for m in verify if m.split(".")[0] in ("flask", "transitions", "werkzeug", "jinja2")}
    assert "fitsflow.services.changes" not in verify


def test_the_asset_register_and_providers_from_the_command_line(run, tmp_path):
    run("init")
    run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    run("user", "add", "--name", "Priya", "--email", "priya@s.example", "--role", "cab")
    sheet = tmp_path / "assets.csv"
    sheet.write_text("tag,name,serial,warranty_ends\nSW-1,Core switch,SN1,2027-03-31\n", encoding="utf-8")
    assert "1 assets imported" in run("asset", "import", str(sheet), "--as", "nat@s.example")
    assert "SW-1 Core switch" in run("asset", "list", "--as", "nat@s.example")
    sheet.write_text("tag,name\nSW-1,Again\n", encoding="utf-8")
    refused = run("asset", "import", str(sheet), "--as", "nat@s.example", code=1)
    assert "already has an asset tagged SW-1" in refused
    assert run("asset", "renewals").strip().endswith("raised")
    assert "provider 1 recorded: Acme IT" in run("provider", "add", "Acme IT", "--contract", "SLA-1")
    run("provider", "member", "nat@s.example", "Acme IT")
    assert "nat@s.example" in run("provider", "list")
    err = run("provider", "member", "priya@s.example", "Acme IT", code=1)
    assert "hold only their contract role" in err
