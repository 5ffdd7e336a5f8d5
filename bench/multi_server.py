"""Two application servers on one PostgreSQL, as a trust runs them: two ``fitsflow serve``
instances (each with its in-process delivery), mixed load through both, then counted.

N changes wait at the CAB's gate. For each, two CAB members decide at the same moment, one
through each server (only one decision can move it: the other must be refused, never lost
or doubled), while a reader polls the changes through both. Every notification goes to a
webhook receiver here, which counts each outbox row's deliveries. The run then checks, from
the database and the receiver:

- no lost decision: every decision answered 2xx is in the change's approvals, and every
  change has moved on exactly once;
- no doubled decision: each change has one approval in its round;
- no 5xx from either server;
- no duplicate delivery: every webhook row is delivered exactly once, none missing.

    python bench/multi_server.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
                                 [--changes 300] [--threads 8]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from alembic import command  # noqa: E402
from setup_gate import pg_schema_url, prepare  # noqa: E402
from sqlalchemy import text  # noqa: E402
from web_bench import free_port, start_server  # noqa: E402

from fitsflow.persistence.migrate import alembic_config  # noqa: E402
from fitsflow.services import auth  # noqa: E402

SECRET = "multi-server-bench-webhook-secret"


class Receiver(http.server.BaseHTTPRequestHandler):
    """Counts each outbox row's deliveries (the webhook's body names its outbox id)."""

    seen: Counter[int] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 — http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.lock:
            self.seen[json.loads(body)["outbox_id"]] += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def start(url: str, port: int, hook: int, folder: str, name: str) -> subprocess.Popen[bytes]:
    """One of the trust's servers: the same secret key as the other, notifications to the
    receiver, two delivery workers at most across both."""
    return start_server(url, port, folder, name=name, env={
        "FITSFLOW_WEB_SECRET_KEY": "shared by every server", "FITSFLOW_SERVER_WORKERS": "2",
        "FITSFLOW_WEBHOOK_URL": f"http://127.0.0.1:{hook}/hook", "FITSFLOW_WEBHOOK_SECRET": SECRET,
        "FITSFLOW_DELIVERY_POLL_SECONDS": "1", "FITSFLOW_DELIVERY_WORKERS": "2",
        "FITSFLOW_ROLES_CAB_MFA": "false",
        "FITSFLOW_WEB_API_WRITES_PER_MINUTE": "100000"})  # two people deciding hundreds a minute


def call(port: int, method: str, path: str, token: str, body: dict[str, Any] | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    url = pg_schema_url(args.postgres, "multi")
    os.environ["FITSFLOW_ROLES_CAB_MFA"] = "false"  # the tokens decide without a second factor here
    rt, refs, first = prepare(url, args.changes)
    config = alembic_config(rt.db)  # made from the models: marked as migrated to the newest
    with rt.db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.stamp(config, "head")
    with rt.db.read() as session:
        second = session.execute(text("SELECT user_id FROM user_roles WHERE role = 'cab' AND user_id != :u "
                                      "ORDER BY user_id LIMIT 1"), {"u": first}).scalar_one()
        # Only decisions from here on: the set-up's own notifications are not counted.
        before = session.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
    tokens = [auth.create_token(rt, user_id=uid, name="bench", scope="write", days=1)
              for uid in (first, second)]
    rt.db.dispose()
    hook = free_port()
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", hook), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    folder = tempfile.mkdtemp(prefix="fitsflow-multi-")
    ports = [free_port(), free_port()]
    servers = [start(url, port, hook, folder, f"server{i}") for i, port in enumerate(ports)]
    statuses: Counter[int] = Counter()
    won: dict[str, list[int]] = {}
    lock = threading.Lock()

    def decide(ref: str, who: int) -> None:
        status = call(ports[who], "POST", f"/api/v1/changes/{ref}/decision", tokens[who],
                      {"decision": "approve", "comment": f"server {who}"})
        with lock:
            statuses[status] += 1
            if 200 <= status < 300:
                won.setdefault(ref, []).append(who)

    def read(ref: str, who: int) -> None:
        status = call(ports[who], "GET", f"/api/v1/changes/{ref}", tokens[who])
        with lock:
            statuses[status] += 1

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            for ref in refs:  # both CAB members at once, each through another server, and a reader
                pool.submit(decide, ref, 0)
                pool.submit(decide, ref, 1)
                pool.submit(read, ref, len(refs) % 2)
        spent = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with rt.db.read() as session:
                waiting = session.execute(text(
                    "SELECT count(*) FROM outbox WHERE channel = 'webhook' AND id > :b "
                    "AND status = 'pending'"), {"b": before}).scalar_one()
            if not waiting:
                break
            time.sleep(1)
        time.sleep(3)  # a delivery in flight when the count reached 0 has landed by now
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=60)
        receiver.shutdown()
    with rt.db.read() as session:
        approvals = Counter(r.ref for r in session.execute(text(  # the implement gate's: this run's
            "SELECT c.ref FROM approvals a JOIN changes c ON c.id = a.change_id "
            "WHERE a.gate = 'implement' AND a.decision = 'approve'")))
        moved = session.execute(text("SELECT count(*) FROM changes WHERE state != 'implement_approval'"))\
            .scalar_one()
        hooks = {r.id for r in session.execute(text(
            "SELECT id FROM outbox WHERE channel = 'webhook' AND id > :b"), {"b": before})}
    rt.db.dispose()
    delivered = {k: v for k, v in Receiver.seen.items() if k > before}
    lost = [ref for ref in won if approvals[ref] < len(won[ref])]
    doubled = [ref for ref, n in approvals.items() if n > 1]
    duplicates = [k for k, n in delivered.items() if n > 1]
    missing = sorted(hooks - set(delivered))
    fivexx = sum(n for status, n in statuses.items() if status >= 500)
    print(f"{len(refs)} changes, {sum(statuses.values())} requests through 2 servers in {spent:.1f} s; "
          f"answers: {dict(sorted(statuses.items()))}")
    print(f"decisions answered 2xx: {sum(len(v) for v in won.values())}; changes moved on: {moved}")
    print(f"lost decisions: {len(lost)}; doubled decisions: {len(doubled)}; 5xx: {fivexx}")
    print(f"webhook rows: {len(hooks)}; delivered: {len(delivered)}; duplicates: {len(duplicates)}; "
          f"missing: {len(missing)}")
    ok = not lost and not doubled and not fivexx and not duplicates and not missing and moved == len(refs)
    print("result: " + ("ok" if ok else f"FAILED (logs in {folder})"))
    if ok:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
