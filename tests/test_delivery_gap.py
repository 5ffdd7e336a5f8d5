"""Issue: after every reload, graceful stop or crash of `fitsflow serve`, notices stopped for
about two minutes: the in-process delivery thread never gave its slot up, and the next
process waited out the 120 s lease. A worker process now gives the slot up as it exits
(gunicorn's worker_exit), a holder on this machine whose process is gone is replaced at
once, and one elsewhere once it misses its heartbeat (a few poll intervals, not a lease).
This test measures the gap — from a notification being queued to its delivery — after a
SIGHUP and after kill -9 of the whole server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.persistence.models import OutboxMessage

from . import factories as f
from .test_serve_signals import _free_port, _get

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

LEASE = 120  # seconds: the shipped default, which the gap must not wait out
POLL = 1


class Server:
    def __init__(self, tmp_path: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "fitsflow.toml"
        self.db = tmp_path / "school.db"
        self.config.write_text(f"""
[database]
url = "sqlite:///{self.db}"
[web]
secret_key_file = "{tmp_path / "secret.key"}"
secure_cookies = false
[server]
bind = "127.0.0.1:{self.port}"
workers = 1
threads = 2
graceful_timeout = 10
[delivery]
in_process = true
lease_seconds = {LEASE}
poll_seconds = {POLL}
""")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FITSFLOW_")}
        self.log = (tmp_path / "serve.log").open("a")
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run([sys.executable, "-m", "fitsflow.cli", "--config", str(self.config), "init"],
                       env=self.env, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fitsflow.cli", "--config", str(self.config), "serve"],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if _get(self.base + "/healthz", timeout=1)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        pytest.fail("fitsflow serve did not start")

    def kill_hard(self) -> None:
        """kill -9 the master and its workers: nothing runs a hook."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    served = Server(tmp_path)
    try:
        yield served
    finally:
        served.stop()


def _pending(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(OutboxMessage)
                                   .where(OutboxMessage.status == "pending")).scalar_one())


def _gap(rt, school) -> float:  # type: ignore[no-untyped-def]
    """Seconds from queuing an approval request to the server having delivered it."""
    started = time.monotonic()
    f.change_in(rt, school, "minor", "proceed_approval")
    assert _pending(rt) > 0
    while _pending(rt) and time.monotonic() - started < LEASE + 30:
        time.sleep(0.1)
    return time.monotonic() - started


def test_notices_resume_within_seconds_after_a_reload_and_after_kill_9(server: Server) -> None:
    rt = build_runtime(load_settings(environ={}), database_url=f"sqlite:///{server.db}")
    rt.clock.follow_system()  # the server runs on the machine's clock: so does what this test writes
    try:
        school = f.School(rt)
        server.start()
        first = _gap(rt, school)
        assert server.process is not None
        server.process.send_signal(signal.SIGHUP)  # new worker processes, the old ones leave
        time.sleep(0.5)
        after_reload = _gap(rt, school)
        server.kill_hard()
        server.start()
        after_kill = _gap(rt, school)
        print(f"delivery gap: first {first:.1f} s, after SIGHUP {after_reload:.1f} s, "
              f"after kill -9 {after_kill:.1f} s (lease {LEASE} s, poll {POLL} s)")
        # Not a timing benchmark: before the fix the gap was the lease (120 s), after it a
        # few poll intervals; anything under a quarter of the lease shows the slot was freed.
        assert after_reload < LEASE / 4 and after_kill < LEASE / 4
    finally:
        rt.db.dispose()
