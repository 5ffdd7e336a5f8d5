"""Issue: nothing said how to back up, a plain copy of the file while serving was corrupt or
missed the newest commits (still in the WAL), and after a restore change references were
issued again. Now `fitsflow backup` copies consistently while the server writes and checks
the copy; `fitsflow restore` refuses to replace a newer database, and references are never
issued twice."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitsflow.bootstrap import build_runtime
from fitsflow.cli import cli
from fitsflow.config import load_settings
from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence.migrate import upgrade
from fitsflow.services import audit as audit_service
from fitsflow.services import backups
from fitsflow.services import changes as changes_service
from fitsflow.services.backups import BackupProblem

from . import factories as f
from .conftest import at_test_time, postgres_runtime


def _migrated(path: Path):  # type: ignore[no-untyped-def]
    """A SQLite file made as `fitsflow init` makes it (the migrations, not create_all)."""
    rt = at_test_time(build_runtime(load_settings(environ={}), database_url=f"sqlite:///{path}"))
    upgrade(rt.db)
    return rt


def _raise(rt, school, title="Laptops"):  # type: ignore[no-untyped-def]
    return changes_service.raise_change(rt, actor_id=school.requester, title=title, category="minor").ref


def _refs(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        return {r[0] for r in connection.execute("SELECT ref FROM changes")}


def test_a_backup_taken_while_writing_holds_every_commit_confirmed_before_it(tmp_path):
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    confirmed: list[tuple[float, str]] = []
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            ref = _raise(rt, school)
            confirmed.append((time.monotonic(), ref))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(confirmed) < 20:
            time.sleep(0.01)
        started = time.monotonic()
        result = backups.backup(rt, target=tmp_path / "copy.db")
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
    assert result.integrity == "ok" and result.chain.ok
    before = {ref for at, ref in confirmed if at < started}
    assert before and before <= _refs(result.path)
    assert len(confirmed) > len(before)  # writes went on during and after the copy
    manifest = json.loads(result.manifest.read_text())
    assert manifest["audit_head"] == result.chain.head_hash and manifest["chain_ok"] is True
    assert result.path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(BackupProblem, match="exists already"):
        backups.backup(rt, target=tmp_path / "copy.db")


def test_restoring_an_older_backup_never_issues_a_reference_twice(tmp_path):
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    first = [_raise(rt, school) for _ in range(3)]
    old = backups.backup(rt, target=tmp_path / "old.db")
    later = [_raise(rt, school) for _ in range(2)]  # their references went out in emails
    with pytest.raises(BackupProblem, match="the database is newer"):
        backups.restore(rt, source=old.path)
    result = backups.restore(rt, source=old.path, force=True)
    assert result.restored.count == old.chain.count and result.replaced is not None
    from fitsflow.services import change_search

    everything = change_search.ChangeFilter()
    refs = {v.ref for v in change_search.find(rt, actor_id=school.admin, filters=everything, limit=50).items}
    assert set(first) <= refs and not set(later) & refs  # the later changes are gone …
    again = _raise(rt, school)
    assert again not in first + later  # … and their references are not issued again
    assert int(again.rsplit("-", 1)[1]) == int(later[-1].rsplit("-", 1)[1]) + 1
    assert audit_service.verify(rt).ok
    with rt.db.read() as session:
        from fitsflow.persistence import audit_store

        events = [e for e in audit_store.iter_events(session) if e.event_type == "database.restored"]
    assert len(events) == 1 and json.loads(events[0].payload)["backup"] == "old.db"


def test_when_the_database_is_lost_numbering_continues_after_the_last_reference_sent(tmp_path):
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    sent = [_raise(rt, school) for _ in range(2)]
    old = backups.backup(rt, target=tmp_path / "old.db")
    rt.db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp_path / 'school.db'}{suffix}").unlink(missing_ok=True)
    fresh = _migrated(tmp_path / "school.db")
    year = sent[0].split("-")[1]
    with pytest.raises(InvalidInput, match="CHG-2026-0068"):
        backups.restore(fresh, source=old.path, after_reference="nonsense")
    backups.restore(fresh, source=old.path, after_reference=f"CHG-{year}-0068")
    assert _raise(fresh, school) == f"CHG-{year}-0069"


def test_a_damaged_backup_is_refused_and_nothing_changes(tmp_path):
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    _raise(rt, school)
    copy = backups.backup(rt, target=tmp_path / "copy.db")
    data = bytearray(copy.path.read_bytes())
    # Pages in use wherever the tables happen to lie: the second (the first table's root) and
    # a run through the middle.
    for start in (4096, len(data) // 3, len(data) // 2):
        data[start: start + 4096] = b"\x00" * 4096
    copy.path.write_bytes(bytes(data))
    before = f.counts(rt)
    with pytest.raises(BackupProblem):
        backups.restore(rt, source=copy.path, force=True)
    assert f.counts(rt) == before


def test_keep_deletes_all_but_the_newest_copies(tmp_path):
    rt = _migrated(tmp_path / "school.db")
    made = []
    for _ in range(3):
        made.append(backups.backup(rt, keep=2).path)
        rt.clock.advance(timedelta(seconds=1))  # the default names carry the second
    left = sorted(p.name for p in (tmp_path / "backups").glob("school-*.db"))
    assert left == sorted(p.name for p in made[1:])
    assert not Path(str(made[0]) + ".json").exists()


def test_backup_and_restore_from_the_command_line(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("init")
    run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    out = run("backup", str(tmp_path / "b.db"))
    head = out.split("publish this head (governors, email): ")[1].split()[0]
    assert "integrity: ok" in out and len(head) == 64
    assert "verified:" in run("audit", "verify", "--head", head)
    run("user", "add", "--name", "Ben", "--email", "ben@s.example", "--role", "finance")
    out = run("restore", str(tmp_path / "b.db"), code=1)
    assert "the database is newer" in out
    out = run("restore", str(tmp_path / "b.db"), "--force")
    assert f"head {head}" in out and "recorded in the audit trail" in out
    assert "ben@s.example" not in run("user", "list")


@pytest.mark.postgres
def test_postgresql_backup_and_restore_on_one_snapshot(tmp_path):
    rt = postgres_runtime()
    # The suite's schema is made by create_all: stamp it as migrated, as `fitsflow init` leaves it.
    from alembic import command

    from fitsflow.persistence.migrate import alembic_config

    config = alembic_config(rt.db)
    with rt.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, "head")
    school = f.School(rt)
    kept = _raise(rt, school)
    result = backups.backup(rt, target=tmp_path / "school.pgdump")
    assert result.chain.ok and result.path.stat().st_size > 0
    lost = _raise(rt, school)
    with pytest.raises(BackupProblem, match="newer"):
        backups.restore(rt, source=result.path)
    backups.restore(rt, source=result.path, force=True)
    from fitsflow.services import change_search

    everything = change_search.ChangeFilter()
    refs = {v.ref for v in change_search.find(rt, actor_id=school.admin, filters=everything, limit=50).items}
    assert kept in refs and lost not in refs
    assert _raise(rt, school) != lost
    assert audit_service.verify(rt).ok
    rt.db.dispose()
