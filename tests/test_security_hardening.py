"""Hardening found missing by the assessment: caching, HSTS, a public /healthz that says
only ok, safe download names, spreadsheet-safe CSV, a private database file, names of
who acknowledged kept to those who need them, a security log, odd numerals."""

from __future__ import annotations

import csv
import io
import logging
import os
import stat
from datetime import UTC, datetime

import pytest

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.domain.errors import NotFound
from fitsflow.services import auth, notices
from fitsflow.services import changes as changes_service
from fitsflow.services import users as users_service

from . import factories as f
from .web_support import WebSchool, login, make_app


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    return make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)


def test_signed_in_pages_api_and_exports_are_not_cached(site):
    app, school = site
    client = app.test_client()
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(client, school.emails[school.auditor])
    for path in ("/", "/changes", "/audit", "/audit/export.csv"):
        with client.get(path) as response:
            assert response.headers["Cache-Control"] == "no-store", path
    token = auth.create_token(app.extensions["fitsflow"], user_id=school.auditor, name="t")
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.headers["Cache-Control"] == "no-store"


def test_hsts_only_over_https(site):
    app, _ = site
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://changes.school.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_healthz_tells_the_public_only_ok(site):
    app, school = site
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}
    auditor = app.test_client()
    login(auditor, school.emails[school.auditor])
    assert set(auditor.get("/healthz").get_json()) == {"status", "audit_events", "audit_head"}


def test_export_names_and_cells_are_safe(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    sly = users_service.add_user(rt, name="Sly", email="=1+2@evil.example", roles="requester")
    changes_service.raise_change(rt, actor_id=sly, title="=HYPERLINK(\"http://evil.example\")",
                                 category="minor")
    client = app.test_client()
    login(client, school.emails[school.auditor])
    with client.get('/audit/export.csv?change=CHG"; filename=evil.sh') as response:
        disposition = response.headers["Content-Disposition"]
        assert disposition.count('"') == 2 and ";" not in disposition.split("filename=")[1]
    with client.get("/audit/export.csv") as response:
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    actors = {r["actor"] for r in rows}
    assert "'=1+2@evil.example" in actors and "=1+2@evil.example" not in actors


def test_the_sqlite_file_is_private(tmp_path):
    path = tmp_path / "school.db"
    rt = build_runtime(load_settings(environ={}), database_url=f"sqlite:///{path}")
    rt.db.create_all()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    rt.db.dispose()


def test_names_of_who_acknowledged_are_for_the_requester_slt_and_auditors(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    ref = f.change_in(rt, school, "minor", "scheduled")
    notices.publish_due(rt, now=datetime(2100, 1, 1, tzinfo=UTC))
    staff_notice = [n for n in notices.notices_for(rt, actor_id=school.requester, ref=ref)
                    if n.audience == "staff"][0]
    assert staff_notice.names_visible
    for uid in (school.requester, school.slt, school.auditor):
        _, waiting, _ = notices.acknowledgements(rt, actor_id=uid, ref=ref, notice_id=staff_notice.id,
                                                 waiting=True)
        assert waiting == ["Teacher"]
    cab = [n for n in notices.notices_for(rt, actor_id=school.cab[0], ref=ref) if n.audience == "staff"][0]
    assert cab.waiting_count == 1 and not cab.names_visible
    with pytest.raises(NotFound):  # the names stay hidden from the CAB
        notices.acknowledgements(rt, actor_id=school.cab[0], ref=ref, notice_id=staff_notice.id,
                                 waiting=True)
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    assert "Teacher" not in client.get(f"/changes/{ref}").get_data(as_text=True)
    token = auth.create_token(rt, user_id=school.cab[0], name="t")
    r = app.test_client().get(f"/api/v1/changes/{ref}/notices/{staff_notice.id}/acknowledgements",
                              headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, dict]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append((record.getMessage(), getattr(record, "fields", {})))


def test_sign_ins_and_bad_tokens_reach_the_security_log_and_the_audit(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    collect = _Collect()
    logging.getLogger("fitsflow.security").addHandler(collect)
    try:
        email = school.emails[school.finance]
        login(app.test_client(), email, "wrong password")
        login(app.test_client(), email)
        app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer ff_forged"})
    finally:
        logging.getLogger("fitsflow.security").removeHandler(collect)
    names = [name for name, _ in collect.events]
    assert names[:3] == ["sign_in.failed", "sign_in.ok", "token.refused"]
    assert collect.events[0][1]["email"] == email
    from fitsflow.persistence import audit_store

    with rt.db.read() as session:
        events = [e.event_type for e in audit_store.iter_events(session)]
    assert "auth.sign_in_failed" in events and "auth.signed_in" in events


@pytest.mark.parametrize("path", ["/changes?page=²", "/changes?page=" + "9" * 30, "/approvals?page=-1"])
def test_odd_numerals_in_pages_are_not_errors(site, path):
    app, school = site
    client = app.test_client()
    login(client, school.emails[school.admin])
    assert client.get(path).status_code in (200, 403)


@pytest.mark.parametrize("path", ["/audit?person=²", "/audit?person=" + "9" * 30, "/changes?requester=²"])
def test_odd_numerals_in_filters_are_named_not_errors(site, path):
    app, school = site
    client = app.test_client()
    login(client, school.emails[school.admin])
    answer = client.get(path)
    assert answer.status_code == 400 and "must be a user&#39;s number" in answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/notices/" + "9" * 30, "/changes/CHG-1/notices/" + "9" * 30,
                                  "/api/v1/users/" + "9" * 30, "/api/v1/notices/" + "9" * 20 + "/read"])
def test_ids_too_large_for_the_database_are_not_found(site, path):
    app, school = site
    client = app.test_client()
    login(client, school.emails[school.admin])
    token = auth.create_token(app.extensions["fitsflow"], user_id=school.admin, name="t", scope="admin")
    method = "POST" if path.endswith("/read") else "GET"
    assert client.open(path, method=method, headers={"Authorization": f"Bearer {token}"}).status_code == 404
