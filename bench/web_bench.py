"""Requests per second under gunicorn: the approver's queue and a decision POST, each
against a trivial route of the same app (/healthz: one indexed read) measured in the
same run, with 1,000 and with 100,000 changes in the database; and the latency of an
API read (GET /api/v1/changes/REF with a bearer token) while decisions are being
written, against the same read on an idle server.

    python bench/web_bench.py [--sizes 1000 100000] [--requests 600] [--concurrency 4] [--blocks 3]

Prints ``ratio: X.XX`` lines (route ÷ trivial route throughput, the authenticated API
GET /api/v1/me among them; API read p95 under write load ÷ idle p95) and the dashboard's
time at the largest size over its time at the smallest.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import select  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.domain import totp  # noqa: E402
from fitsflow.persistence import search_store  # noqa: E402
from fitsflow.persistence.migrate import upgrade  # noqa: E402
from fitsflow.persistence.models import Change  # noqa: E402
from fitsflow.services import (  # noqa: E402
    auth,
    mfa,
    users,  # noqa: E402
)
from tests import factories as f  # noqa: E402

PASSWORD = "bench password 1"
CONCURRENCY = 4


def populate(url: str, total: int, targets: int) -> tuple[str, list[str], str, str]:
    """A school; `targets` minor changes at the implement gate (the CAB member's queue and
    decision targets); the rest closed. Returns the CAB member's email and the targets."""
    rt = build_runtime(load_settings(environ={}), database_url=url)
    upgrade(rt.db)
    school = f.School(rt)
    cab = users.add_user(rt, name="Bench CAB", email="cab@bench.school", roles="cab", password=PASSWORD)
    # The CAB role needs a second factor: enrol it as a person would, and sign in with codes.
    secret = mfa.begin_enrolment(rt, user_id=cab).secret
    mfa.confirm_enrolment(rt, user_id=cab, code=totp.code_at(secret, datetime.now(UTC)))
    gate = f.change_in(rt, school, "minor", "implement_approval")
    done = f.change_in(rt, school, "minor", "closed")
    with rt.db.transaction() as session:
        def copy(ref: str) -> dict[str, object]:
            row = session.exec(select(Change).where(Change.ref == ref)).one()
            return row.model_dump(exclude={"id", "ref"})

        at_gate, closed = copy(gate), copy(done)
        # One change in a hundred is about projectors (what the full-text search looks for)
        # and planned to cost over £10,000 (what the register's filter looks for); the others
        # cost a few hundred pounds.
        def varied(i: int) -> dict[str, object]:
            if i % 100 == 7:
                return {"title": f"Replace the projector in room {i}",
                        "planned_cost": Decimal(12000 + i % 500)}
            return {"title": f"Routine change {i}", "planned_cost": Decimal(100 + i % 900)}

        rows = [{**(at_gate if i < targets else closed), "ref": f"BENCH-{i:07d}", **varied(i)}
                for i in range(total - 2)]
        for start in range(0, len(rows), 5000):
            session.execute(Change.__table__.insert(), rows[start:start + 5000])  # type: ignore[attr-defined]
        search_store.reindex(session.connection())  # as migration 0028 fills it
    token = auth.create_token(rt, user_id=school.auditor, name="bench")
    rt.db.dispose()
    return "cab@bench.school", [gate] + [f"BENCH-{i:07d}" for i in range(targets - 1)], token, secret


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, folder: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FITSFLOW_DATABASE_URL": url, "FITSFLOW_WEB_SECURE_COOKIES": "false",
           "FITSFLOW_WEB_SECRET_KEY": "bench", "FITSFLOW_SERVER_BIND": f"127.0.0.1:{port}"}
    server = subprocess.Popen([sys.executable, "-m", "fitsflow.cli.__main__", "serve"], env=env, cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def _session_cookie(response: http.client.HTTPResponse, default: str = "") -> str:
    """The fitsflow_session cookie among the Set-Cookie headers (the device cookie comes too)."""
    for header in response.msg.get_all("Set-Cookie") or []:
        if header.startswith("fitsflow_session="):
            return header.split(";")[0]
    return default


def sign_in(port: int, email: str, secret: str) -> tuple[str, str]:
    """A session cookie and a CSRF token for that session."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    cookie = _session_cookie(response)
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)  # type: ignore[union-attr]
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 302 and response.getheader("Location", "").endswith("/login/code")
    cookie = _session_cookie(response, cookie)
    conn.request("GET", "/login/code", headers={"Cookie": cookie})
    response = conn.getresponse()
    cookie = _session_cookie(response, cookie)
    token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)  # type: ignore[union-attr]
    # The next code the app will show (the one used to enrol is spent).
    code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30))
    conn.request("POST", "/login/code", body=urlencode({"code": code, "csrf_token": token}), headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookie = _session_cookie(response)
    conn.request("GET", "/account", headers={"Cookie": cookie})
    response = conn.getresponse()
    cookie = _session_cookie(response, cookie)  # the CSRF secret joins the session
    page = response.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    return cookie, token


def load(port: int, requests: list[tuple[str, str, str | None]], cookie: str, concurrency: int,
         extra: dict[str, str] | None = None) -> float:
    """Send the requests over `concurrency` keep-alive connections; return requests/s."""
    chunks = [requests[i::concurrency] for i in range(concurrency)]
    errors: list[str] = []

    def worker(chunk: list[tuple[str, str, str | None]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for method, path, body in chunk:
            headers = {"Cookie": cookie, **(extra or {})}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 400:
                errors.append(f"{method} {path}: {response.status}")

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, first: {errors[0]}")
    return len(requests) / elapsed


def latencies(port: int, path: str, headers: dict[str, str], count: int) -> list[float]:
    """Seconds per request, one keep-alive connection, one request at a time."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        out.append(time.perf_counter() - start)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def read_under_writes(port: int, token: str, ref: str, writes: list[tuple[str, str, str | None]],
                      cookie: str, count: int) -> tuple[float, float]:
    """(idle p95, p95 while two connections POST decisions) of an API read, in seconds."""
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/api/v1/changes/{ref}"
    latencies(port, path, headers, 20)  # warm up
    idle = latencies(port, path, headers, count)
    busy: list[float] = []
    writer = threading.Thread(target=load, args=(port, writes, cookie, 2))
    writer.start()
    try:
        busy = latencies(port, path, headers, count)
    finally:
        writer.join()
    return p95(idle), p95(busy)


class Sized:
    """One database size, served for the whole run, measured in blocks interleaved with
    the other sizes' so that drift in the machine's speed falls on all of them alike."""

    def __init__(self, total: int, n: int, blocks: int):
        self.total, self.n = total, n
        self.folder = tempfile.mkdtemp(prefix="fitsflow-web-bench-")
        url = f"sqlite:///{self.folder}/bench.db"
        email, self.targets, self.api_token, secret = populate(url, total, targets=min(2 * n * blocks + 100,
                                                                                        total - 2))
        self.port = free_port()
        self.server = start_server(url, self.port, self.folder)
        self.cookie, self.token = sign_in(self.port, email, secret)
        self.blocks: list[dict[str, float]] = []

    def measure(self, block: int) -> None:
        port, cookie, token, n = self.port, self.cookie, self.token, self.n
        mine = self.targets[block * 2 * n:(block + 1) * 2 * n]
        trivial = [("GET", "/healthz", None)] * n
        queue = [("GET", "/approvals", None)] * n
        decisions = [("POST", f"/changes/{ref}/decision",
                      urlencode({"decision": "approve", "csrf_token": token})) for ref in mine[:n]]
        load(port, trivial[:50] + queue[:50], cookie, CONCURRENCY)  # warm up
        rates = {"trivial": load(port, trivial, cookie, CONCURRENCY),
                 "dashboard": load(port, queue, cookie, CONCURRENCY)}
        rates["api"] = load(port, [("GET", "/api/v1/me", None)] * n, "", CONCURRENCY,
                            {"Authorization": f"Bearer {self.api_token}"})
        # The change page computes each gate's approvers and the category check (the approval
        # policy) on every view.
        rates["change page"] = load(port, [("GET", f"/changes/{self.targets[-1]}", None)] * (n // 2), cookie,
                                    CONCURRENCY)
        rates["trivial (again)"] = load(port, trivial, cookie, CONCURRENCY)
        rates["decision"] = load(port, decisions, cookie, CONCURRENCY)
        writes = [("POST", f"/changes/{ref}/decision",
                   urlencode({"decision": "approve", "csrf_token": token})) for ref in mine[n:2 * n]]
        idle, busy = read_under_writes(port, self.api_token, self.targets[-1], writes, cookie,
                                       count=max(n // 2, 100))
        rates["read_idle_p95"], rates["read_busy_p95"] = idle, busy
        # Finding changes, through the API the pages share: full-text search, and the register's
        # filters (planned cost over £10,000 raised in the last 90 days), each p95 against /healthz.
        auth_header = {"Authorization": f"Bearer {self.api_token}"}
        since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
        count = max(n // 3, 60)
        # limit=10: a full first page at both sizes (1,000 changes hold ten about projectors),
        # so the growth figure compares the work a larger school adds, not a fuller page.
        for name, path in (("search", "/api/v1/changes?q=projector&limit=10"),
                           ("filtered", f"/api/v1/changes?cost_min=10000&created_from={since}&sort=-cost")):
            latencies(port, path, auth_header, 10)  # warm up
            rates[f"{name}_p95"] = p95(latencies(port, path, auth_header, count))
        rates["healthz_p95"] = p95(latencies(port, "/healthz", {}, count))
        rates["base"] = (rates["trivial"] + rates["trivial (again)"]) / 2
        self.blocks.append(rates)

    def summary(self) -> dict[str, float]:
        """Throughputs averaged over the blocks; latencies their median."""
        out = {}
        for key in self.blocks[0]:
            values = sorted(b[key] for b in self.blocks)
            out[key] = values[len(values) // 2] if key.endswith("_p95") else sum(values) / len(values)
        return out

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)
        shutil.rmtree(self.folder, ignore_errors=True)


def report(total: int, rates: dict[str, float]) -> None:
    base = rates["base"]
    print(f"{total:>7,} changes: trivial {base:,.0f}/s, approver dashboard {rates['dashboard']:,.0f}/s, "
          f"decision POST {rates['decision']:,.0f}/s")
    print(f"  dashboard ÷ trivial {rates['dashboard'] / base:.2f}; decision ÷ trivial "
          f"{rates['decision'] / base:.2f}; authenticated API GET ÷ trivial {rates['api'] / base:.2f}; "
          f"change page ÷ trivial {rates['change page'] / base:.2f}")
    print(f"  p95: /healthz {rates['healthz_p95'] * 1000:.1f} ms, full-text search "
          f"{rates['search_p95'] * 1000:.1f} ms, filtered list {rates['filtered_p95'] * 1000:.1f} ms")
    print(f"  API read p95: idle {rates['read_idle_p95'] * 1000:.1f} ms, while decisions are written "
          f"{rates['read_busy_p95'] * 1000:.1f} ms ({rates['read_busy_p95'] / rates['read_idle_p95']:.2f}×)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=3, help="Measurement blocks per size, interleaved.")
    args = parser.parse_args()
    global CONCURRENCY
    CONCURRENCY = args.concurrency
    per_block = max(args.requests // args.blocks, 60)
    sized = [Sized(size, per_block, args.blocks) for size in args.sizes]
    try:
        for block in range(args.blocks):
            for one in sized:
                one.measure(block)
    finally:
        for one in sized:
            one.stop()
    results = {one.total: one.summary() for one in sized}
    for total, rates in results.items():
        report(total, rates)
    small, large = min(results), max(results)
    growth = results[small]["dashboard"] / results[large]["dashboard"]
    print(f"dashboard time at {large:,} changes ÷ at {small:,}: {growth:.2f} (target ≤ 1.5)")
    dash = min(r["dashboard"] / r["base"] for r in results.values())
    decide = min(r["decision"] / r["base"] for r in results.values())
    print(f"ratio: {dash:.2f} (approver dashboard ÷ trivial route, worst size; target ≥ 0.20)")
    print(f"ratio: {decide:.2f} (decision POST ÷ trivial route, worst size; target ≥ 0.10)")
    api = min(r["api"] / r["base"] for r in results.values())
    print(f"ratio: {api:.2f} (authenticated API GET /api/v1/me ÷ trivial route, worst size; target ≥ 0.5)")
    page = min(r["change page"] / r["base"] for r in results.values())
    print(f"ratio: {page:.2f} (change page with the approval policy ÷ trivial route, worst size; "
          "target ≥ 0.3)")
    search = min(r["healthz_p95"] / r["search_p95"] for r in results.values())
    print(f"ratio: {search:.2f} (/healthz p95 ÷ full-text search p95, worst size; target ≥ 0.1)")
    filtered = min(r["healthz_p95"] / r["filtered_p95"] for r in results.values())
    print(f"ratio: {filtered:.2f} (/healthz p95 ÷ filtered list p95, worst size; target ≥ 0.2)")
    grow = results[large]["search_p95"] / results[small]["search_p95"]
    print(f"full-text search p95 at {large:,} changes ÷ at {small:,}: {grow:.2f} (target ≤ 1.5)")
    under = max(r["read_busy_p95"] / r["read_idle_p95"] for r in results.values())
    print(f"ratio: {under:.2f} (API read p95 under write load ÷ idle p95, worst size; target ≤ 2.0)")


if __name__ == "__main__":
    main()
