"""Issue: unbounded input filled the disk and held the write lock (10 PUTs wrote 37.6 MB of
audit rows; a 20,000-line plan held SQLite for 10 s). Now every list and text has a
maximum, audit payloads are capped, and API writes are rate-limited per person across
every server process."""

from __future__ import annotations

import dataclasses

from fitsflow.web import create_app

from fitsflow.persistence import audit_store
from fitsflow.services import audit, auth, stages

from . import factories as f
from .web_support import WebSchool, make_app


def test_big_texts_are_capped_in_the_audit_trail(sqlite_rt):
    school = f.School(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "needs_analysis")
    big = "x" * 19_990
    for i in range(3):
        stages.record_needs(sqlite_rt, actor_id=school.requester, ref=ref,
                                data={**f.NEEDS, "need": big + str(i), "options_considered": big})
    with sqlite_rt.db.read() as session:
        payloads = [e.payload for e in audit_store.iter_events(session, change_ref=ref)
                    if e.event_type == "stage.needs"]
    assert all(len(p) < 12_000 for p in payloads)
    assert "19991 characters in all, sha256" in payloads[-1]
    assert audit.verify(sqlite_rt).ok


def test_api_writes_are_limited_per_person_across_server_processes(sqlite_rt, tmp_path):
    app = make_app(sqlite_rt, tmp_path, web={"api_writes_per_minute": 3})
    school = WebSchool(sqlite_rt)
    # A second "worker": another app on the same database, as gunicorn runs several.
    other = create_app(dataclasses.replace(sqlite_rt, settings=app.extensions["fitsflow"].settings),
                       {"TESTING": True})
    token = auth.create_token(sqlite_rt, user_id=school.requester, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    body = {"title": "Printer", "category": "minor"}
    assert app.test_client().post("/api/v1/changes", json=body, headers=headers).status_code == 201
    assert other.test_client().post("/api/v1/changes", json=body, headers=headers).status_code == 201
    assert app.test_client().post("/api/v1/changes", json=body, headers=headers).status_code == 201
    limited = other.test_client().post("/api/v1/changes", json=body, headers=headers)
    assert limited.status_code == 429 and limited.get_json()["code"] == "too_many"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert app.test_client().get("/api/v1/changes", headers=headers).status_code == 200  # reads go on
    other_token = auth.create_token(sqlite_rt, user_id=school.other_requester, name="t")
    someone_else = {"Authorization": f"Bearer {other_token}"}
    assert app.test_client().post("/api/v1/changes", json=body, headers=someone_else).status_code == 201
