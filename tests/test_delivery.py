"""Delivery: a real SMTP server receives and parses the mails; 421/451/554 replies and
time-outs give the documented retries and parking; a webhook; a worker killed
mid-delivery loses nothing; two workers on PostgreSQL never send a row twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.delivery.worker import Worker
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import outbox

from . import factories as f
from .conftest import at_test_time, postgres_runtime
from .smtp_support import SmtpServer


class Clock:
    def __init__(self, rt) -> None:  # type: ignore[no-untyped-def]
        self.now = rt.now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


_OPENED: list = []


def runtime(url: str = "sqlite://", **sections):  # type: ignore[no-untyped-def]
    settings = load_settings(environ={}).replace(**sections)
    rt = at_test_time(build_runtime(settings, database_url=url))
    rt.db.create_all()
    _OPENED.append(rt)
    return rt


@pytest.fixture(autouse=True)
def _dispose():  # type: ignore[no-untyped-def]
    yield
    while _OPENED:
        _OPENED.pop().db.dispose()


def rows(rt):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        found = list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())
        session.expunge_all()
        return found


def row(rt, row_id):  # type: ignore[no-untyped-def]
    return [r for r in rows(rt) if r.id == row_id][0]


def only_pending(rt, keep_id):  # type: ignore[no-untyped-def]
    """Mark every other row delivered, so a test follows one row."""
    with rt.db.transaction() as session:
        for other in session.execute(select(OutboxMessage).where(OutboxMessage.id != keep_id)).scalars():
            other.status = "delivered"


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with SmtpServer() as server:
        yield server


def test_mails_arrive_with_text_html_reference_and_link(smtp):
    rt = runtime(smtp=smtp.settings(), delivery={"base_url": "https://changes.school.example"})
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")
    clock = Clock(rt)
    worker = Worker.from_runtime(rt)
    worker.clock = clock
    assert worker.run_once() >= 2
    mails = {m["To"]: m for m in smtp.recorder.messages}
    finance = [m for to, m in mails.items() if "Finance" in to][0]
    assert finance["Subject"] == f"[{ref}] Approval needed: Test change"
    assert finance.is_multipart()
    text = finance.get_body(preferencelist=("plain",)).get_content()
    html = finance.get_body(preferencelist=("html",)).get_content()
    # An approval request links to the decision card and carries the facts it shows.
    assert f"https://changes.school.example/changes/{ref}#decide" in text
    assert f'href="https://changes.school.example/changes/{ref}#decide"' in html
    assert "Your decision is needed at: Approval to proceed" in text
    assert "Five-year cost: £1,700.00 (year 1: £1,300.00)" in text and "Risk: not assessed yet" in text
    assert "Open: /changes/" not in text  # no relative path as plain text
    assert all(r.status == "delivered" and r.delivered_at is not None for r in rows(rt))


@pytest.mark.parametrize("reply", ["421 Service not available, closing", "451 Try again later"])
def test_temporary_replies_retry_with_backoff(smtp, reply):
    rt = runtime(smtp=smtp.settings(), delivery={"backoff_seconds": 30, "batch_size": 1})
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")  # one mail: to finance
    worker, clock = Worker.from_runtime(rt), Clock(rt)
    worker.clock = clock
    target = [r for r in rows(rt) if r.change_ref == ref and r.event == "submitted"][0]
    only_pending(rt, target.id)
    smtp.recorder.replies = [reply, reply]
    assert worker.run_once() == 1
    first = row(rt, target.id)
    assert first.status == "pending" and first.attempts == 1 and reply[:3] in first.last_error
    assert abs((first.available_at - clock.now).total_seconds() - 30) < 1
    assert worker.run_once() == 0  # not due yet
    clock.advance(31)
    assert worker.run_once() == 1
    second = row(rt, target.id)
    assert second.attempts == 2 and abs((second.available_at - clock.now).total_seconds() - 60) < 1
    clock.advance(61)
    assert worker.run_once() == 1
    assert row(rt, target.id).status == "delivered" and row(rt, target.id).attempts == 3
    assert smtp.recorder.ids() == [str(target.id)]


def test_permanent_reply_parks_and_an_admin_can_retry(smtp):
    rt = runtime(smtp=smtp.settings())
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    pending = [r for r in rows(rt) if r.status == "pending"]
    smtp.recorder.replies = ["554 Transaction failed"] * len(pending)
    worker = Worker.from_runtime(rt)
    f.drain(worker)
    parked = outbox.parked(rt)
    assert len(parked) == len(pending) and all("554" in p.last_error for p in parked)
    assert all(p.last_error.startswith("permanent failure") for p in parked)
    assert outbox.retry(rt, row_ids=[parked[0].id], actor_label="admin@test") == 1
    f.drain(worker)
    assert [r.status for r in rows(rt) if r.id == parked[0].id] == ["delivered"]
    assert outbox.status_counts(rt).get("parked", 0) == len(pending) - 1


def test_timeouts_are_temporary_then_parked_after_max_attempts(smtp):
    rt = runtime(smtp=smtp.settings(timeout=1), delivery={"max_attempts": 2, "batch_size": 1})
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    target = [r for r in rows(rt) if r.event == "submitted"][0]
    only_pending(rt, target.id)
    smtp.recorder.delay = 1.5
    worker, clock = Worker.from_runtime(rt), Clock(rt)
    worker.clock = clock
    worker.run_once()
    assert row(rt, target.id).status == "pending"
    assert "timed out" in row(rt, target.id).last_error.lower()
    clock.advance(10_000)
    worker.run_once()
    assert row(rt, target.id).status == "parked"
    assert row(rt, target.id).last_error.startswith("gave up after 2 attempts")


def test_refused_connection_is_temporary():
    rt = runtime(smtp={"enabled": True, "host": "127.0.0.1", "port": 1, "security": "none"})
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    Worker.from_runtime(rt).run_once()
    assert all(r.status == "pending" and "refused" in r.last_error.lower() for r in rows(rt))


def test_without_smtp_notices_are_delivered_in_app():
    rt = runtime()
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    f.drain(Worker.from_runtime(rt))
    assert rows(rt) and all(r.status == "delivered" for r in rows(rt))


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(type(self).status)
        self.end_headers()
        if type(self).status == 200:
            type(self).received.append(json.loads(body))

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_gets_one_post_per_event_and_retries_server_errors():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        rt = runtime(webhook={"url": url, "events": "submitted,decided", "secret": "a test secret of 16+"})
        school = f.School(rt)
        ref = f.change_in(rt, school, "minor", "release_planning")  # submitted + decided
        hooks = [r for r in rows(rt) if r.channel == "webhook"]
        assert sorted(r.event for r in hooks) == ["decided", "submitted"]
        _Hook.status = 503
        worker, clock = Worker.from_runtime(rt), Clock(rt)
        worker.clock = clock
        f.drain(worker)
        hooks = [r for r in rows(rt) if r.channel == "webhook"]
        assert all(r.status == "pending" and "503" in r.last_error for r in hooks)
        _Hook.status = 200
        clock.advance(3600)
        f.drain(worker)
        assert sorted(p["event"] for p in _Hook.received) == ["decided", "submitted"]
        links = {p["event"]: p["link"] for p in _Hook.received}
        assert all(p["ref"] == ref for p in _Hook.received)
        assert links["submitted"].endswith(f"/changes/{ref}#decide")
        assert links["decided"].endswith(f"/changes/{ref}")
    finally:
        server.shutdown()
        server.server_close()


def test_a_worker_killed_mid_delivery_loses_nothing(smtp, tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    rt = runtime(url)
    rt.clock.follow_system()  # the worker processes below run on the machine's clock: so do its rows
    school = f.School(rt)
    for _ in range(6):
        f.change_in(rt, school, "significant", "implement_approval")
    expected = {str(r.id) for r in rows(rt)}
    assert len(expected) >= 30
    env = {**os.environ, "FITSFLOW_DATABASE_URL": url, "FITSFLOW_SMTP_ENABLED": "true",
           "FITSFLOW_SMTP_HOST": "127.0.0.1", "FITSFLOW_SMTP_PORT": str(smtp.port),
           "FITSFLOW_SMTP_SECURITY": "none", "FITSFLOW_DELIVERY_LEASE_SECONDS": "2",
           "FITSFLOW_SMTP_TIMEOUT_SECONDS": "1",
           "FITSFLOW_DELIVERY_BATCH_SIZE": "5", "FITSFLOW_DELIVERY_POLL_SECONDS": "1"}
    env.pop("FITSFLOW_CONFIG", None)
    smtp.recorder.delay = 0.05
    kills = 0
    for fraction in (1 / 3, 2 / 3):
        proc = subprocess.Popen([sys.executable, "-m", "fitsflow.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(set(smtp.recorder.ids())) < len(expected) * fraction and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    # The dead workers' rows come back as their leases (2 s) run out: run a worker until
    # every row is marked delivered (a bounded number of rounds, a fraction of a second apart).
    # Not "until every message arrived": a killed worker's last batch can have arrived
    # without being marked, and is only sent again (and marked) once its lease is out.
    for _ in range(50):
        done = subprocess.run([sys.executable, "-m", "fitsflow.cli", "worker", "--once"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        if all(r.status == "delivered" for r in rows(rt)):
            break
        time.sleep(0.2)
    received = smtp.recorder.ids()
    assert set(received) == expected
    # Outcomes are committed a batch at a time: a kill can resend at most the batch it was
    # sending, and a resent message has the same Message-ID, so mail systems drop it.
    assert len(received) - len(set(received)) <= kills * 5
    ids_of: dict[str, set[str]] = {}
    for m in smtp.recorder.messages:
        ids_of.setdefault(m["X-Fitsflow-Outbox-Id"], set()).add(m["Message-ID"])
    assert all(len(found) == 1 for found in ids_of.values())
    assert all(r.status == "delivered" for r in rows(rt))


@pytest.mark.postgres
def test_two_workers_on_postgres_never_send_a_row_twice(smtp):
    rt = postgres_runtime(smtp=smtp.settings(), delivery={"batch_size": 3})
    _OPENED.append(rt)
    school = f.School(rt)
    for _ in range(6):
        f.change_in(rt, school, "significant", "implement_approval")
    expected = {str(r.id) for r in rows(rt)}
    smtp.recorder.delay = 0.01
    workers = [Worker.from_runtime(rt) for _ in range(2)]
    threads = [threading.Thread(target=lambda w=w: [None for _ in iter(w.run_once, 0)]) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    received = smtp.recorder.ids()
    assert sorted(received) == sorted(expected)  # every row once, none twice
    assert all(r.status == "delivered" for r in rows(rt))


def test_every_mail_is_well_formed_for_real_mail_systems(smtp):
    from email.utils import parsedate_to_datetime

    from fitsflow.delivery.channels import build_email

    rt = runtime(smtp=smtp.settings())
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    Worker.from_runtime(rt).run_once()
    assert smtp.recorder.messages
    for mail in smtp.recorder.messages:
        assert parsedate_to_datetime(mail["Date"]).tzinfo is not None
        assert mail["Message-ID"].endswith("@test.school>")  # the From address's domain
        assert mail["Auto-Submitted"] == "auto-generated"
        assert mail["Subject"].startswith(f"[{ref}]")
    # The Message-ID is the row's, whichever attempt sends it.
    with rt.db.transaction() as session:
        from fitsflow.persistence import outbox_store

        session.execute(OutboxMessage.__table__.update().values(status="pending", lease_until=None))  # type: ignore[attr-defined]
        again = outbox_store.claim(session, now=rt.now() + timedelta(days=1),
                                   lease=timedelta(seconds=5), limit=1)[0]
    first = next(m for m in smtp.recorder.messages if m["X-Fitsflow-Outbox-Id"] == str(again.id))
    rebuilt = build_email(again, sender="fitsflow@test.school", base_url="x")
    assert rebuilt["Message-ID"] == first["Message-ID"]


def test_a_notice_subject_always_carries_the_change_reference():
    from fitsflow.delivery.channels import subject_of
    from fitsflow.persistence.outbox_store import Claimed

    def row(subject: str) -> Claimed:
        return Claimed(1, "person", "notice", "CHG-2026-0007", subject, "b", "{}", 1, 2, "Sarah",
                       "s@x.example")

    assert subject_of(row("Wi-Fi upgrade on Friday")) == "[CHG-2026-0007] Wi-Fi upgrade on Friday"
    assert subject_of(row("[CHG-2026-0007] Approval needed")) == "[CHG-2026-0007] Approval needed"


def test_a_batch_slower_than_its_lease_is_not_sent_twice_by_a_second_worker(smtp, tmp_path):
    """Slow SMTP (0.3 s a message), a 2-second lease and a batch of 12: the leases are renewed
    while the batch is sent, so a second worker (two slots) finds nothing to take."""
    rt = runtime(f"sqlite:///{tmp_path / 'slow.db'}", smtp=smtp.settings(timeout=1),
                 delivery={"lease_seconds": 2, "batch_size": 12, "workers": 2, "poll_seconds": 1})
    school = f.School(rt)
    for _ in range(2):
        f.change_in(rt, school, "significant", "implement_approval")
    expected = {str(r.id) for r in rows(rt) if r.channel == "person"}
    smtp.recorder.delay = 0.3
    workers = [Worker.from_runtime(rt) for _ in range(2)]
    workers[1].holder += "-second"  # another process, as far as the slots are concerned
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while set(smtp.recorder.ids()) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    received = smtp.recorder.ids()
    assert set(received) >= expected and len(received) == len(set(received))


def test_one_process_delivers_however_many_serve():
    rt = runtime("sqlite://")
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    first, second = Worker(rt, email=None, webhook=None), Worker(rt, email=None, webhook=None)
    second.holder += "-other-process"
    assert second.run_once() > 0  # it took the one slot …
    f.change_in(rt, school, "minor", "proceed_approval")
    assert first.run_once() == 0  # … so this process waits
    second.release()  # a clean stop frees it at once
    assert first.run_once() > 0
