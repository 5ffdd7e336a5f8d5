"""Issue: `restore --force` while the server wrote reissued a change reference already
issued — copy, upgrade, counter bump and audit event were separate steps, and the server
wrote in between — and restoring an older backup sent again the notices delivered since.
A restore now refuses while a server or worker uses the database, makes the copy ready
(migrated, counters carried forward, deliveries since marked, audited) before it replaces
the live database in one write, and says how many notifications it kept from going twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fitsflow.delivery.worker import Worker
from fitsflow.persistence import backup_files, change_store
from fitsflow.persistence.usage import InUse, UsageLock
from fitsflow.services import audit as audit_service
from fitsflow.services import backups
from fitsflow.services.backups import BackupProblem

from . import factories as f
from .test_backup import _migrated


def _stamp_migrated(rt) -> None:  # type: ignore[no-untyped-def]
    """The suite's schema is made by create_all: stamp it as migrated, as `fitsflow init` leaves it."""
    from alembic import command

    from fitsflow.persistence.migrate import alembic_config

    config = alembic_config(rt.db)
    with rt.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, "head")


def _state(rt):  # type: ignore[no-untyped-def]
    """(audit head, changes, the newest reference)."""
    from fitsflow.persistence import audit_store

    with rt.db.read() as session:
        head = audit_store.head(session)
        refs = [r.ref for r in change_store.page(session, limit=1)[0]]
        return head.seq, head.hash, change_store.count(session), refs[0] if refs else ""


def test_a_restore_is_refused_while_a_server_or_worker_holds_the_database(tmp_path: Path) -> None:
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    f.change_in(rt, school, "minor", "needs_analysis")
    copy = backups.backup(rt).path
    before = _state(rt)
    with UsageLock(rt.db).shared():  # as each server worker process and `fitsflow worker` hold it
        with pytest.raises(BackupProblem, match="a fitsflow server or worker is using"):
            backups.restore(rt, source=copy, force=True)
    assert _state(rt) == before
    backups.restore(rt, source=copy, force=True)  # once it has stopped


def test_a_running_worker_process_holds_the_database(tmp_path: Path) -> None:
    db = tmp_path / "school.db"
    rt = _migrated(db)
    copy = backups.backup(rt).path
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSFLOW_")}
    env["FITSFLOW_DATABASE_URL"] = f"sqlite:///{db}"
    worker = subprocess.Popen([sys.executable, "-m", "fitsflow.cli", "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert worker.stdout is not None
        assert "delivering" in worker.stdout.readline()  # it holds the lock before it says so
        with pytest.raises(BackupProblem, match="stop it"):
            backups.restore(rt, source=copy, force=True)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        if worker.stdout is not None:
            worker.stdout.close()
    deadline = time.monotonic() + 10
    while True:  # the lock goes with the process
        try:
            backups.restore(rt, source=copy, force=True)
            break
        except BackupProblem:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_crash_between_the_copy_and_the_counters_leaves_the_live_database_and_a_retry_finishes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    f.change_in(rt, school, "minor", "needs_analysis")
    copy = backups.backup(rt).path
    issued = [f.change_in(rt, school, "minor", "needs_analysis") for _ in range(3)]
    before = _state(rt)
    real = backup_files.bump_counters

    def crash(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("power cut")

    monkeypatch.setattr(backup_files, "bump_counters", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        backups.restore(rt, source=copy, force=True)
    assert _state(rt) == before  # nothing of the backup reached the live database
    monkeypatch.setattr(backup_files, "bump_counters", real)
    result = backups.restore(rt, source=copy, force=True)
    assert result.counters_raised
    fresh = f.change_in(rt, school, "minor", "needs_analysis")
    assert fresh not in issued and fresh > max(issued)  # numbering continues after the last issued
    assert not (tmp_path / "school.db.restoring").exists()


def test_notifications_delivered_after_the_backup_are_not_sent_again(tmp_path: Path) -> None:
    rt = _migrated(tmp_path / "school.db")
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")  # approval requests wait in the outbox
    copy = backups.backup(rt).path
    sent = f.drain(Worker(rt, email=None, webhook=None))
    assert sent > 0
    result = backups.restore(rt, source=copy, force=True)
    assert result.marked_delivered == sent
    assert f.drain(Worker(rt, email=None, webhook=None)) == 0  # nothing goes twice
    assert audit_service.verify(rt).ok


@pytest.mark.postgres
def test_a_damaged_postgresql_archive_is_one_line_in_pg_restores_words_and_changes_nothing(
        pg_rt, tmp_path: Path) -> None:
    rt = pg_rt
    _stamp_migrated(rt)
    school = f.School(rt)
    f.change_in(rt, school, "minor", "needs_analysis")
    good = backups.backup(rt, target=tmp_path / "good.pgdump").path
    before = _state(rt)
    damaged = tmp_path / "damaged.pgdump"
    data = good.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # cut short, as a failed copy leaves it
    with pytest.raises(BackupProblem) as err:
        backups.restore(rt, source=damaged, force=True)
    message = str(err.value)
    assert message.startswith("the backup cannot be read (pg_restore: ") and "\n" not in message
    assert _state(rt) == before
    # The chain is read from the archive's own data before anything is replaced.
    check = backup_files.check_pg_archive(good)
    assert check.chain.ok and check.chain.count == before[0] and check.chain.head_hash == before[1]
    assert backups.restore(rt, source=good, force=True).restored.head_hash == before[1]


def test_the_command_line_says_a_damaged_backup_in_one_line(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fitsflow.cli import cli

    rt = _migrated(tmp_path / "school.db")
    copy = backups.backup(rt).path
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(copy.read_bytes()[:4096])
    for name in list(os.environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'school.db'}")
    result = CliRunner().invoke(cli, ["restore", str(damaged), "--force"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.strip()]) == 1, result.output


@pytest.mark.postgres
def test_installations_in_two_schemas_of_one_database_do_not_hold_each_other(pg_rt) -> None:  # type: ignore[no-untyped-def]
    """The PostgreSQL hold is per schema: a server on another installation in the same
    database does not block this one's restore (it did: one key for the whole database)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from fitsflow.persistence.db import Database

    url = make_url(pg_rt.db.url)
    other_url = url.update_query_dict({"options": "-csearch_path=fitsflow_other_install"})
    other = Database(other_url.render_as_string(hide_password=False))
    with pg_rt.db.engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA IF NOT EXISTS fitsflow_other_install"))
    try:
        with UsageLock(other).shared():
            with UsageLock(pg_rt.db).exclusive():  # not refused
                pass
            with pytest.raises(InUse):
                UsageLock(other).exclusive()
    finally:
        other.dispose()
        with pg_rt.db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS fitsflow_other_install CASCADE"))
