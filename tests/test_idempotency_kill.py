"""Issue: an Idempotency-Key retry after the process died mid-request was refused for five
minutes, even when the write had committed. A request's writes and its stored answer now
commit together, and the process holding the key is recorded: killed before that commit,
nothing it did is kept and a retry runs it at once; the write is never made twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from fitsflow.persistence.models import Change, IdempotencyKey

from .test_backup import _migrated
from .web_support import WebSchool, bearer, make_app

ROOT = Path(__file__).resolve().parent.parent

# Runs the API call in another process and kill -9s it at the worst moment: the change is
# written (not yet committed) and the answer is about to be stored.
CHILD = textwrap.dedent("""
    import os, signal, sys, json
    from pathlib import Path
    from fitsflow.bootstrap import build_runtime
    from fitsflow.config import load_settings
    from fitsflow.persistence import idempotency_store
    from tests.web_support import make_app

    url, headers, tmp = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    rt = build_runtime(load_settings(environ={}), database_url=url)
    idempotency_store.finish = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    client = make_app(rt, tmp).test_client()
    client.post("/api/v1/changes", json={"title": "Core switch", "category": "minor"},
                headers={**headers, "Idempotency-Key": "k-kill"})
    print("not killed")
""")


def _count(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(Change)
                                   .where(Change.title == "Core switch")).scalar_one())


def test_a_retry_after_kill_9_runs_the_request_once(tmp_path: Path) -> None:
    rt = _migrated(tmp_path / "school.db")
    rt.clock.follow_system()  # the child process runs on the machine's clock
    school = WebSchool(rt)
    headers = bearer(rt, school.requester)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSFLOW_")}
    child = subprocess.run([sys.executable, "-c", CHILD, f"sqlite:///{tmp_path / 'school.db'}",
                            json.dumps(headers), str(tmp_path)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stdout + child.stderr
    assert _count(rt) == 0  # its write died with it
    with rt.db.read() as session:
        key = session.execute(select(IdempotencyKey.status, IdempotencyKey.holder)).one()
    assert key.status is None  # still unanswered …
    pid = int(key.holder.split(":")[1])
    assert pid != os.getpid()  # … held by the process that is gone

    client = make_app(rt, tmp_path).test_client()
    call = {"json": {"title": "Core switch", "category": "minor"},
            "headers": {**headers, "Idempotency-Key": "k-kill"}}
    first = client.post("/api/v1/changes", **call)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers  # run at once
    again = client.post("/api/v1/changes", **call)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["ref"] == first.get_json()["ref"]
    assert _count(rt) == 1
