"""Issue: with the disk full every write, read and sign-in was a generic 500 while /healthz
said 200; a CLI database error printed a 149-line traceback; `audit verify` failed on a
read-only copy. Now storage problems are a 503 with a plain message and Retry-After (pages
and JSON), /healthz is 503 until the write goes through again (no restart), nothing is
half-written, and the CLI says what is wrong in one line with exit status 3."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from fitsflow.cli import cli
from fitsflow.persistence import failures
from fitsflow.services import auth, health

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app


@contextmanager
def disk_full(rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Every write statement fails as SQLite fails when the disk is full, until the block ends."""

    def refuse(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(rt.db.engine, "before_cursor_execute", refuse)
    health.forget_probe(rt)
    try:
        yield
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", refuse)
        health.forget_probe(rt)


def test_storage_problems_are_classified():
    assert failures.classify(sqlite3.OperationalError("database or disk is full")).kind == failures.FULL  # type: ignore[union-attr]
    assert (
        failures.classify(sqlite3.OperationalError("attempt to write a readonly database")).kind
        == "read_only"
    )  # type: ignore[union-attr]
    assert failures.classify(sqlite3.DatabaseError("database disk image is malformed")).kind == "damaged"  # type: ignore[union-attr]
    assert failures.classify(OSError(28, "No space left on device")).kind == failures.FULL  # type: ignore[union-attr]
    assert failures.classify(ValueError("x")) is None
    assert failures.classify(sqlite3.IntegrityError("UNIQUE constraint failed")) is None


def test_a_full_disk_is_a_503_with_retry_after_and_nothing_half_written(sqlite_rt, tmp_path):
    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    requester = app.test_client()
    login(requester, school.emails[school.requester])
    token = auth.create_token(rt, user_id=school.requester, name="t")
    api = app.test_client()
    assert api.get("/healthz").status_code == 200
    form_token = csrf_token(requester, "/changes/new")
    before = f.counts(rt)
    with disk_full(rt):
        r = requester.post(
            "/changes/new", data={"title": "Wifi", "category": "minor", "csrf_token": form_token}
        )
        assert r.status_code == 503 and r.headers["Retry-After"] == "120"
        page = r.get_data(as_text=True)
        assert "disk is full" in page and "Nothing you sent was saved" in page and "Traceback" not in page
        r = api.post(
            "/api/v1/changes",
            json={"title": "Wifi", "category": "minor"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 503 and r.get_json()["code"] == "unavailable"
        assert "Retry-After" in r.headers
        r = api.get("/healthz")
        assert (
            r.status_code == 503 and r.get_json() == {"status": "unavailable"} and "Retry-After" in r.headers
        )
        assert f.counts(rt) == before  # nothing half-written
    # The space is back: no restart needed.
    assert api.get("/healthz").status_code == 200
    r = requester.post("/changes/new", data={"title": "Wifi", "category": "minor", "csrf_token": form_token})
    assert r.status_code == 302


def test_healthz_full_shows_an_administrator_what_is_wrong(file_rt, tmp_path):
    rt = file_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    body = admin.get("/healthz?full").get_json()
    assert body["status"] == "ok" and body["integrity"] == "ok" and body["outbox_parked"] == 0
    assert {
        "disk_free_mb",
        "outbox_pending",
        "oldest_due_seconds",
        "audit_events",
        "audit_head",
        "audit_verified_seq",
        "audit_full_check_at",
    } <= set(body)
    # Anyone else gets only the status — on this machine too (issue 20.10: any local process
    # read everything) — unless it is the monitor with the configured token.
    anonymous = app.test_client()
    assert anonymous.get("/healthz?full", headers={"X-Forwarded-For": "203.0.113.9"}).get_json() == {
        "status": "ok"
    }
    assert anonymous.get("/healthz?full").get_json() == {"status": "ok"}
    watched = make_app(rt, tmp_path, health_token="s3cret-monitor").test_client()
    assert watched.get("/healthz?full", headers={"Authorization": "Bearer wrong"}).get_json() == {
        "status": "ok"}
    seen = watched.get("/healthz?full", headers={"Authorization": "Bearer s3cret-monitor"}).get_json()
    assert seen["integrity"] == "ok" and "outbox_pending" in seen
    with disk_full(rt):
        r = admin.get("/healthz?full")
        assert r.status_code == 503 and any("disk is full" in p for p in r.get_json()["problems"])


def test_low_free_space_fails_the_health_check(file_rt, tmp_path, monkeypatch):
    rt = file_rt
    app = make_app(rt, tmp_path)
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=50 * 1024 * 1024))
    r = app.test_client().get("/healthz")
    assert r.status_code == 503 and r.headers["Retry-After"] == "120"


@pytest.fixture
def cli_run(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    runner = CliRunner()

    def invoke(url: str, *args: str, code: int = 0) -> str:
        monkeypatch.setenv("FITSFLOW_DATABASE_URL", url)
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_the_command_line_says_what_is_wrong_in_one_line(cli_run, tmp_path):
    path = tmp_path / "school.db"
    cli_run(f"sqlite:///{path}", "init")
    cli_run(
        f"sqlite:///{path}", "user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester"
    )
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    out = cli_run(read_only, "user", "add", "--name", "Ben", "--email", "ben@s.example", code=3)
    assert out.count("\n") == 1 and "read-only" in out and "Traceback" not in out
    # Verifying the chain only reads: it works on a read-only copy.
    assert "verified:" in cli_run(read_only, "audit", "verify")
    out = cli_run("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", "user", "list", code=3)
    assert out.count("\n") == 1 and "cannot be reached" in out
