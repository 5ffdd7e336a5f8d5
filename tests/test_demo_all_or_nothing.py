"""Issue: a full disk during `fitsflow demo` left half a demo that a rerun would not
finish. The demo is now built in one transaction: a failure part-way leaves the database
as it was, and a rerun builds the whole school."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.engine import Engine

from fitsflow.bootstrap import build_runtime
from fitsflow.cli import cli
from fitsflow.config import load_settings
from fitsflow.persistence import audit_store, change_store, queries

from . import conftest

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    if request.param == "postgres":
        rt = conftest.postgres_runtime()  # skips (or fails under CI) without PostgreSQL
        conftest.reset_schema(rt)
        rt.db.dispose()
        url = conftest.test_schema_url()
    else:
        url = f"sqlite:///{tmp_path / 'demo.db'}"
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", url)
    yield url


def _full_after(writes: int):  # type: ignore[no-untyped-def]
    """Every engine's writes fail as a full disk fails them, after ``writes`` have gone through."""
    seen = {"n": 0}

    def refuse(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            seen["n"] += 1
            if seen["n"] > writes:
                raise OSError(errno.ENOSPC, "No space left on device")

    return refuse


def _contents(url: str) -> tuple[int, int, int]:
    rt = build_runtime(load_settings(environ={}), database_url=url)
    try:
        with rt.db.read() as session:
            users = len(queries.users_with_roles(session, ["requester", "cab", "admin"]))
            return users, change_store.count(session), audit_store.head(session).seq
    finally:
        rt.db.dispose()


def test_a_demo_that_fails_part_way_leaves_nothing_and_a_rerun_finishes_it(database_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    before = _contents(database_url)
    refuse = _full_after(600)
    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        failed = runner.invoke(cli, ["demo"])
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)
    assert failed.exit_code == 3, failed.output
    assert "full" in failed.output.lower() and "Traceback" not in failed.output
    assert _contents(database_url) == before == (0, 0, 0)

    done = runner.invoke(cli, ["demo"])
    assert done.exit_code == 0, done.output
    assert "demo school created" in done.output
    users, changes, events = _contents(database_url)
    assert users >= 5 and changes > 20 and events > 100
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0


def test_the_demo_refuses_a_database_with_real_users(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20.10: `fitsflow demo` on a school's database added an MFA-exempt administrator
    with the published password beside its real people."""
    url = f"sqlite:///{tmp_path / 'school.db'}"
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", url)
    monkeypatch.delenv("FITSFLOW_CONFIG", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"]).exit_code == 0
    added = runner.invoke(cli, ["user", "add", "--name", "Real Head", "--email", "head@real.school",
                                "--role", "head"])
    assert added.exit_code == 0, added.output
    refused = runner.invoke(cli, ["demo"])
    assert refused.exit_code == 1 and "holds 1 real user" in refused.output
    rt = build_runtime(load_settings(environ={"FITSFLOW_DATABASE_URL": url}))
    with rt.db.read() as session:
        assert change_store.count(session) == 0
        assert queries.user_by_email(session, "nat.osei@demo.school") is None
    rt.db.dispose()
