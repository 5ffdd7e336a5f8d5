"""Issue: a write whose connection was reset could not be retried safely. Now an API write
with an Idempotency-Key runs once: a retry gets the first answer again, a different request
with the same key is 422, and a key expires after web.idempotency_hours."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from fitsflow.persistence.models import IdempotencyKey
from fitsflow.services import auth

from . import factories as f
from .web_support import WebSchool, make_app


def _client(rt, tmp_path):  # type: ignore[no-untyped-def]
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    client = app.test_client()
    token = auth.create_token(rt, user_id=school.requester, name="t")

    def call(method, path, body=None, key=None):  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return client.open(f"/api/v1{path}", method=method, json=body, headers=headers)

    return call


def test_a_retried_write_runs_once_and_gets_the_first_answer(rt, tmp_path):
    call = _client(rt, tmp_path)
    before = f.counts(rt)
    first = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1")
    assert first.status_code == 201
    after_first = f.counts(rt)
    again = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1")
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert (
        again.headers["Idempotent-Replayed"] == "true"
        and again.headers["Location"] == first.headers["Location"]
    )
    assert f.counts(rt) == after_first != before  # nothing ran twice
    other = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-2")
    assert other.get_json()["ref"] != first.get_json()["ref"]


def test_the_same_key_for_another_request_is_refused(rt, tmp_path):
    call = _client(rt, tmp_path)
    assert call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1").status_code == 201
    r = call("POST", "/changes", {"title": "Printers", "category": "minor"}, key="k-1")
    assert r.status_code == 422 and r.get_json()["code"] == "idempotency_key_reused"
    r = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="has space")
    assert r.status_code == 400 and "Idempotency-Key" in r.get_json()["problems"]


def test_a_failed_request_frees_its_key_and_keys_expire(rt, tmp_path):
    call = _client(rt, tmp_path)
    r = call("POST", "/changes", {"title": "Wi-Fi", "category": "emergency"}, key="k-1")
    assert r.status_code == 400  # no urgency given: nothing written …
    r = call(
        "POST", "/changes", {"title": "Wi-Fi", "category": "emergency", "urgency": "Broken now",
                             "emergency_purpose": "restore"}, key="k-1"
    )
    assert r.status_code == 201  # … so the key could be used again
    first = r.get_json()["ref"]
    with rt.db.transaction() as session:
        session.execute(update(IdempotencyKey).values(created_at=rt.now() - timedelta(hours=25)))
    r = call(
        "POST", "/changes", {"title": "Wi-Fi", "category": "emergency", "urgency": "Broken now",
                             "emergency_purpose": "restore"}, key="k-1"
    )
    assert r.status_code == 201 and r.get_json()["ref"] != first and "Idempotent-Replayed" not in r.headers


def test_a_first_request_still_running_is_not_run_again(rt, tmp_path):
    call = _client(rt, tmp_path)
    assert call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1").status_code == 201
    with rt.db.transaction() as session:  # as if the first request had not answered yet
        session.execute(update(IdempotencyKey).values(status=None))
    r = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1")
    assert r.status_code == 409 and r.get_json()["code"] == "in_progress"
    # A request's writes and its answer commit together, so an unanswered one committed
    # nothing: once its process is known to be gone (here: on another machine, unheard of
    # for ten minutes), a retry runs it.
    with rt.db.transaction() as session:
        session.execute(update(IdempotencyKey).values(created_at=rt.now() - timedelta(minutes=10),
                                                      holder="elsewhere:1:x"))
    r = call("POST", "/changes", {"title": "Wi-Fi", "category": "minor"}, key="k-1")
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers
