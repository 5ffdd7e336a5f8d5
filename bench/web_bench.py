"""Every daily page under gunicorn on a realistic history of 1,000 and of 100,000 changes
(bench/realistic_data.py: model changes driven through the real services, cloned in every
table the product writes for a change), each page's p95 against /healthz p95 (one indexed
read) measured in the same block; the approver's queue and a decision POST in requests per
second against /healthz; and the latency of an API read (GET /api/v1/changes/REF with a bearer
token) while decisions are being written, against the same read on an idle server.

    python bench/web_bench.py [--sizes 1000 100000] [--requests 600] [--blocks 3]
                              [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints ``ratio: X.XX`` lines: for each daily page /healthz p95 ÷ page p95 at the worse size
(target ≥ 0.2) and page p95 at the largest size ÷ at the smallest (target ≤ 1.5); route ÷
trivial route throughput; API read p95 under write load ÷ idle p95 (target ≤ 2.0).
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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic_data import PASSWORD, Built, build  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402

from fitsflow.domain import totp  # noqa: E402

CONCURRENCY = 4
# /healthz answers 503 when its probe write misses health.write_deadline_ms (another write
# holds SQLite's lock that long): counted per server (port) and reported, not a failed run.
REFUSED: dict[int, int] = {}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, folder: str, env: dict[str, str] | None = None,
                 name: str = "server") -> subprocess.Popen[bytes]:
    """``fitsflow serve`` on ``url`` at ``port`` (more settings in ``env``), once it answers."""
    env = {**os.environ, "FITSFLOW_DATABASE_URL": url, "FITSFLOW_WEB_SECURE_COOKIES": "false",
           "FITSFLOW_WEB_SECRET_KEY": "bench", "FITSFLOW_SERVER_BIND": f"127.0.0.1:{port}", **(env or {})}
    with open(f"{folder}/{name}.log", "wb") as log:  # the server's errors, shown if the run fails
        server = subprocess.Popen([sys.executable, "-m", "fitsflow.cli.__main__", "serve"], env=env,
                                  cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"gunicorn did not start: see {folder}/{name}.log")


def _session_cookie(response: http.client.HTTPResponse, default: str = "") -> str:
    """The fitsflow_session cookie among the Set-Cookie headers (the device cookie comes too)."""
    for header in response.msg.get_all("Set-Cookie") or []:
        if header.startswith("fitsflow_session="):
            return header.split(";")[0]
    return default


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def sign_in(port: int, email: str, secret: str | None = None) -> tuple[str, str]:
    """A session cookie and a CSRF token for that session; with ``secret``, the second factor
    (an approver's role needs one) is passed with the authenticator's next code."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    cookie = _session_cookie(response)
    token = _csrf(response.read().decode())
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    conn.request("POST", "/login", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 302, response.status
    if secret is None:
        assert not response.getheader("Location", "").endswith("/login/code"), email
    else:
        assert response.getheader("Location", "").endswith("/login/code")
        cookie = _session_cookie(response, cookie)
        conn.request("GET", "/login/code", headers={"Cookie": cookie})
        response = conn.getresponse()
        cookie = _session_cookie(response, cookie)
        token = _csrf(response.read().decode())
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
    assert response.status == 200, (email, response.status)
    return cookie, _csrf(page)


def load(port: int, requests: Sequence[tuple[str, str, str | None]], cookie: str, concurrency: int,
         extra: dict[str, str] | None = None) -> float:
    """Send the requests over `concurrency` keep-alive connections; return requests/s."""
    chunks = [requests[i::concurrency] for i in range(concurrency)]
    errors: list[str] = []

    def worker(chunk: Sequence[tuple[str, str, str | None]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for method, path, body in chunk:
            headers = {"Cookie": cookie, **(extra or {})}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 503 and path == "/healthz":
                REFUSED[port] = REFUSED.get(port, 0) + 1
            elif response.status >= 400:
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


def latencies(port: int, path: str, headers: dict[str, str], count: int,
              refused: list[float] | None = None, seconds: float | None = None) -> list[float]:
    """Seconds per request, one keep-alive connection, one request at a time: ``count`` of
    them, or (with ``seconds``) as many as fit in that time, at least 20. A 503 is kept
    apart in ``refused`` when given (/healthz answers 503 when its probe write misses its
    deadline), else it stops the run as any other failure does."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    out: list[float] = []
    until = time.perf_counter() + seconds if seconds else None
    for n in range(count):
        if until is not None and n >= 20 and time.perf_counter() > until:
            break
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        took = time.perf_counter() - start
        if response.status == 503 and refused is not None:
            refused.append(took)
            continue
        out.append(took)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status}")
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def read_under_writes(port: int, token: str, ref: str, writes: Sequence[tuple[str, str, str | None]],
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


def daily_pages(built: Built) -> list[tuple[str, str, str]]:
    """(name, who, path) of each page a school opens every day: the network manager's (a
    requester: home, the changes list with each filter and sort it offers, the schedule's month,
    notifications, who acknowledged a release notice of theirs), the CAB member's queue, the
    auditor's register and a teacher's release notices."""
    since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
    tech = built.people.ids["tech"]
    return [
        ("home", "manager", "/"),
        ("changes", "manager", "/changes"),
        ("changes mine", "manager", "/changes?mine=1"),
        ("changes phase", "manager", "/changes?phase=planning"),
        ("changes state", "manager", "/changes?state=implement_approval"),
        ("changes category", "manager", "/changes?category=major"),
        ("changes service", "manager", "/changes?service=Wi-Fi"),
        ("changes requester", "manager", f"/changes?requester={tech}"),
        ("changes search", "manager", "/changes?q=projector"),
        ("changes cost", "manager", "/changes?cost_min=10000&sort=-cost"),
        ("changes created", "manager", f"/changes?created_from={since}&sort=created"),
        ("changes by title", "manager", "/changes?sort=title"),
        ("schedule month", "manager", "/schedule"),
        ("inbox", "manager", "/notices"),
        ("acknowledgements", "manager", built.ack_path),
        ("approvals", "cab", "/approvals"),
        ("register", "auditor", "/audit"),
        ("register filtered", "auditor", f"/audit?cost_min=10000&created_from={since}&sort=-cost"),
        ("staff notices", "staff0", "/notices"),
        ("staff releases", "staff0", "/notices/releases"),
    ]


def stop_served(server: subprocess.Popen[bytes], folder: str, postgres: str | None, schema: str) -> None:
    """Stop a served database's server, and remove its folder and (on PostgreSQL) its schema."""
    server.terminate()
    server.wait(timeout=30)
    shutil.rmtree(folder, ignore_errors=True)
    if postgres:
        with create_engine(postgres).begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def pg_schema_url(url: str, schema: str) -> str:
    """The URL with its search_path on ``schema``, dropped and made again empty."""
    with create_engine(url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    full = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return full.render_as_string(hide_password=False)


class Sized:
    """One database size, served for the whole run, measured in blocks interleaved with
    the other sizes' so that drift in the machine's speed falls on all of them alike."""

    def __init__(self, total: int, n: int, blocks: int, decisions: int, postgres: str | None):
        self.total, self.n, self.decisions = total, n, decisions
        self.folder = tempfile.mkdtemp(prefix="fitsflow-web-bench-")
        self.schema = f"bench_web_{total}"
        url = pg_schema_url(postgres, self.schema) if postgres else f"sqlite:///{self.folder}/bench.db"
        self.postgres = postgres
        start = time.perf_counter()
        self.built = build(url, total, targets=2 * decisions * blocks + 10)
        self.build_seconds = time.perf_counter() - start
        print(f"{total:>7,} changes built in {self.build_seconds:.0f} s "
              f"({', '.join(f'{k} {v:.0f} s' for k, v in self.built.seconds.items())}); rows: "
              f"{', '.join(f'{k} {v:,}' for k, v in self.built.counts.items())}", flush=True)
        self.targets = self.built.targets
        self.api_token = self.built.api_token
        self.port = free_port()
        self.server = start_server(url, self.port, self.folder)
        people = self.built.people
        self.cookies = {who: sign_in(self.port, people.emails[who], people.secrets.get(who))
                        for who in ("manager", "cab", "finance", "auditor", "staff0")}
        self.pages = daily_pages(self.built)
        self.blocks: list[dict[str, float]] = []
        self.refused: list[float] = []  # how long each /healthz answered 503 took

    def measure(self, block: int) -> None:
        port, n, d = self.port, self.n, self.decisions
        cab, _ = self.cookies["cab"]
        finance, token = self.cookies["finance"]
        mine = self.targets[block * 2 * d:(block + 1) * 2 * d]
        trivial = [("GET", "/healthz", None)] * n
        queue = [("GET", "/approvals", None)] * n
        decisions = [("POST", f"/changes/{ref}/decision",
                      urlencode({"decision": "approve", "role": "finance", "csrf_token": token}))
                     for ref in mine[:d]]
        load(port, trivial[:50] + queue[:50], cab, CONCURRENCY)  # warm up
        rates = {"trivial": load(port, trivial, cab, CONCURRENCY),
                 "dashboard": load(port, queue, cab, CONCURRENCY)}
        rates["api"] = load(port, [("GET", "/api/v1/me", None)] * n, "", CONCURRENCY,
                            {"Authorization": f"Bearer {self.api_token}"})
        # The change page computes each gate's approvers and the category check (the approval
        # policy) on every view.
        rates["change page"] = load(port, [("GET", f"/changes/{self.targets[-1]}", None)] * (n // 2), cab,
                                    CONCURRENCY)
        rates["trivial (again)"] = load(port, trivial, cab, CONCURRENCY)
        rates["decision"] = load(port, decisions, finance, CONCURRENCY)
        writes = [("POST", f"/changes/{ref}/decision",
                   urlencode({"decision": "approve", "role": "finance", "csrf_token": token}))
                  for ref in mine[d:2 * d]]
        idle, busy = read_under_writes(port, self.api_token, self.targets[-1], writes, finance,
                                       count=max(n // 2, 100))
        rates["read_idle_p95"], rates["read_busy_p95"] = idle, busy
        # Finding changes through the API the pages share: full-text search, and the register's
        # filters (planned cost over £10,000 raised in the last 90 days).
        auth_header = {"Authorization": f"Bearer {self.api_token}"}
        since = (datetime.now(UTC) - timedelta(days=90)).date().isoformat()
        count = max(n // 3, 60)
        for name, path in (("search", "/api/v1/changes?q=projector&limit=10"),
                           ("filtered", f"/api/v1/changes?cost_min=10000&created_from={since}&sort=-cost")):
            latencies(port, path, auth_header, 10)  # warm up
            rates[f"{name}_p95"] = p95(latencies(port, path, auth_header, count))
        # Each daily page, one request at a time, between two rounds of /healthz.
        refused: list[float] = []
        healthz = latencies(port, "/healthz", {}, count, refused)
        for name, who, path in self.pages:
            headers = {"Cookie": self.cookies[who][0]}
            latencies(port, path, headers, 5)  # warm up
            # A page slower than a quarter of a second is sampled 20 times or for 15 s.
            rates[f"page {name}_p95"] = p95(latencies(port, path, headers, count, seconds=15))
        healthz += latencies(port, "/healthz", {}, count, refused)
        rates["healthz_p95"] = p95(healthz)  # of the answers 200; the 503s are counted
        rates["healthz_503"], rates["healthz_count"] = len(refused), len(healthz)
        self.refused += refused
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
        stop_served(self.server, self.folder, self.postgres, self.schema)


def report(total: int, rates: dict[str, float]) -> None:
    base = rates["base"]
    print(f"{total:>7,} changes: trivial {base:,.0f}/s, approver dashboard {rates['dashboard']:,.0f}/s, "
          f"decision POST {rates['decision']:,.0f}/s")
    print(f"  dashboard ÷ trivial {rates['dashboard'] / base:.2f}; decision ÷ trivial "
          f"{rates['decision'] / base:.2f}; authenticated API GET ÷ trivial {rates['api'] / base:.2f}; "
          f"change page ÷ trivial {rates['change page'] / base:.2f}")
    print(f"  p95: /healthz {rates['healthz_p95'] * 1000:.1f} ms, API full-text search "
          f"{rates['search_p95'] * 1000:.1f} ms, API filtered list {rates['filtered_p95'] * 1000:.1f} ms")
    print(f"  API read p95: idle {rates['read_idle_p95'] * 1000:.1f} ms, while decisions are written "
          f"{rates['read_busy_p95'] * 1000:.1f} ms ({rates['read_busy_p95'] / rates['read_idle_p95']:.2f}×)")
    if rates["healthz_503"]:
        print(f"  /healthz answered 503 {rates['healthz_503']:.1f} times a block of "
              f"{rates['healthz_503'] + rates['healthz_count']:.0f} (its probe write waited past "
              "health.write_deadline_ms); the p95 is of the answers 200")
    pages = [k for k in rates if k.startswith("page ")]
    print("  page p95 (ms): " + ", ".join(f"{k[5:-4]} {rates[k] * 1000:.1f}" for k in pages))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=3, help="Measurement blocks per size, interleaved.")
    parser.add_argument("--decisions", type=int, default=100,
                        help="Decision POSTs per block (and as many again while the API read is timed).")
    parser.add_argument("--postgres", metavar="URL",
                        help="Run on PostgreSQL at URL instead of SQLite, each size in a schema of its own.")
    args = parser.parse_args()
    global CONCURRENCY
    CONCURRENCY = args.concurrency
    per_block = max(args.requests // args.blocks, 60)
    sized: list[Sized] = []
    try:
        for size in args.sizes:
            sized.append(Sized(size, per_block, args.blocks, args.decisions, args.postgres))
        for block in range(args.blocks):
            for one in sized:
                one.measure(block)
    except Exception:
        for one in sized:
            log = Path(one.folder, "server.log").read_text(errors="replace").splitlines()
            print(f"--- the server's log at {one.total:,} changes, its end:", *log[-40:], sep="\n")
        raise
    finally:
        for one in sized:
            one.stop()
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
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
    print(f"ratio: {search:.2f} (/healthz p95 ÷ API full-text search p95, worst size; target ≥ 0.1)")
    filtered = min(r["healthz_p95"] / r["filtered_p95"] for r in results.values())
    print(f"ratio: {filtered:.2f} (/healthz p95 ÷ API filtered list p95, worst size; target ≥ 0.2)")
    grow = results[large]["search_p95"] / results[small]["search_p95"]
    print(f"full-text search p95 at {large:,} changes ÷ at {small:,}: {grow:.2f} (target ≤ 1.5)")
    missed = []
    for key in (k for k in results[small] if k.startswith("page ")):
        name = key[5:-4]
        worst = min(r["healthz_p95"] / r[key] for r in results.values())
        grows = results[large][key] / results[small][key]
        print(f"ratio: {worst:.2f} (/healthz p95 ÷ {name} p95, worst size; target ≥ 0.2)")
        print(f"ratio: {grows:.2f} ({name} p95 at {large:,} changes ÷ at {small:,}; target ≤ 1.5)")
        if worst < 0.2 or grows > 1.5:
            missed.append(name)
    print(f"daily pages missing a target: {', '.join(missed) if missed else 'none'}")
    for one in sized:
        if one.refused or REFUSED.get(one.port):
            slowest = f" (one at a time: each after {min(one.refused):.1f}–{max(one.refused):.1f} s)" \
                if one.refused else ""
            print(f"{one.total:,} changes: /healthz answered 503 {len(one.refused)} times one at a time and "
                  f"{REFUSED.get(one.port, 0)} times under load{slowest}")
    under = max(r["read_busy_p95"] / r["read_idle_p95"] for r in results.values())
    print(f"ratio: {under:.2f} (API read p95 under write load ÷ idle p95, worst size; target ≤ 2.0)")


if __name__ == "__main__":
    main()
