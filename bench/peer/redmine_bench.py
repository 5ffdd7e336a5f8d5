"""fitsflow against its peer, Redmine (Debian's package, on SQLite, under puma), on the same
machine: decisions over REST at 1 and 4 connections, the JSON and the HTML lists of 10,000
items, and each server's worker memory after 10,000 requests. Both serve 2 worker processes
× 4 threads; the measurements run in interleaved blocks (fitsflow, then Redmine, then the
other way round in the next block) so that drift in the machine's speed falls on both.

Beside the decisions, in the same blocks and at the same connection counts, two ceilings:
fitsflow's trivial route ``/healthz`` (the most any request through fitsflow's app could
reach) and a minimal WSGI function answering 200 'ok' under gunicorn with the settings
``fitsflow serve`` uses (what gunicorn and HTTP alone allow), each ÷ Redmine's decisions.

    python bench/peer/redmine_bench.py [--items 10000] [--decisions 200] [--blocks 3] [--trivial 2000]

Needs root (Redmine's instances live under /var/lib/redmine) and the packages redmine,
redmine-sqlite and puma: see bench/peer/README.md. Prints ``ratio: X.XX`` lines, each with its
target: fitsflow's throughput ÷ Redmine's, and Redmine's worker memory ÷ fitsflow's (the two
ceilings' ratios have no target).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/, for web_bench
sys.path.insert(0, str(HERE.parent.parent))  # the repository, for fitsflow and tests

import realistic_data  # noqa: E402
import web_bench  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.services import auth  # noqa: E402

REDMINE = Path("/usr/share/redmine")
INSTANCES = Path("/var/lib/redmine")  # /usr/share/redmine/instances points here
PASSWORD = realistic_data.PASSWORD
PAGE = 100  # rows per HTML page on both, and per JSON page on Redmine (its API's largest)
FITSFLOW_JSON_PAGE = 500  # the largest page fitsflow's API gives (limits.PAGE_MAX)
HEALTHZ = "fitsflow /healthz"
MINIMAL = "minimal WSGI"

Request = tuple[str, str, bytes | None]


# --- HTTP load -----------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)  # API: the bearer token or API key
    cookie: str = ""  # HTML: a signed-in session
    sent: int = 0  # requests sent to it since it started

    def load(self, requests: list[Request], concurrency: int, *, html: bool = False,
             expect: int | None = None) -> float:
        """Send the requests over `concurrency` keep-alive connections; return requests/s.
        `expect`: check that the JSON lists' items add up to this (parsed after the clock)."""
        chunks = [requests[i::concurrency] for i in range(concurrency)]
        errors: list[str] = []
        bodies: list[bytes] = []
        headers = {"Cookie": self.cookie} if html else dict(self.headers)

        def worker(chunk: list[Request]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            for method, path, body in chunk:
                sent = dict(headers)
                if body is not None:
                    sent["Content-Type"] = "application/json"
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
                if response.status >= 400:
                    errors.append(f"{method} {path}: {response.status} {data[:200]!r}")
                elif expect is not None:
                    bodies.append(data)
            conn.close()

        threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        self.sent += len(requests)
        if errors:
            raise RuntimeError(f"{self.name}: {len(errors)} failed requests, first: {errors[0]}")
        if expect is not None:
            found = sum(len(_items(json.loads(b))) for b in bodies)
            if found != expect:
                raise RuntimeError(f"{self.name}: the list gave {found} items, not {expect}")
        return len(requests) / elapsed

    def html_rows(self, path: str) -> int:
        """How many list rows an HTML page holds (a change's or an issue's own row)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        conn.request("GET", path, headers={"Cookie": self.cookie})
        page = conn.getresponse().read().decode()
        conn.close()
        self.sent += 1
        return len(re.findall(r'<td><a href="/changes/[^"/]+">|<tr id="issue-\d+"', page))

    def worker_memory(self) -> list[int]:
        """Resident set size (bytes) of each worker process: the server's children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        sizes = []
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            kb = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            if kb:
                sizes.append(int(kb.group(1)) * 1024)
        return sizes

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _items(page: dict[str, object]) -> list[object]:
    return page.get("items") or page.get("issues") or []  # type: ignore[return-value]


# --- fitsflow ------------------------------------------------------------------------------

def start_fitsflow(folder: str, items: int, targets: int) -> tuple[Server, list[str], list[str]]:
    """A school with `items` changes of realistic history (bench/realistic_data.py: model
    changes driven through the services, then cloned), `targets` of them minor changes at the
    gate the finance officer decides, served by `fitsflow serve` (gunicorn, 2 workers × 4
    threads by default). Returns the server (the finance officer signed in for HTML, her
    write token for the API), the targets and every change's reference."""
    os.makedirs(folder)
    url = f"sqlite:///{folder}/fitsflow.db"
    # build() makes `targets` + 1 decision targets besides the history it is asked for.
    built = realistic_data.build(url, items - targets - 1, targets=targets, log=lambda *a, **k: None)
    people = built.people
    rt = build_runtime(load_settings(environ={}), database_url=url)
    token = auth.create_token(rt, user_id=people.ids["finance"], name="peer bench", scope="write")
    rt.db.dispose()
    with sqlite3.connect(f"{folder}/fitsflow.db") as db:
        every = [row[0] for row in db.execute("SELECT ref FROM changes ORDER BY ref")]
    if len(every) != items:
        raise RuntimeError(f"fitsflow's database holds {len(every):,} changes, not {items:,}")
    port = web_bench.free_port()
    # fitsflow counts each person's API writes and refuses past 120 a minute (the setting
    # web.api_writes_per_minute); Redmine has no such limit. The count is still kept.
    os.environ["FITSFLOW_WEB_API_WRITES_PER_MINUTE"] = "100000"
    server = Server("fitsflow", port, web_bench.start_server(url, port, folder),
                    headers={"Authorization": f"Bearer {token}"})
    try:
        server.cookie, _ = web_bench.sign_in(port, people.emails["finance"], people.secrets["finance"])
    except BaseException:
        server.stop()  # not yet in main's list of servers to stop
        raise
    server.sent += 6  # the health checks and the sign-in's requests, near enough
    return server, built.targets, every


def fitsflow_work(items: int) -> dict[str, list[Request]]:
    json_pages = [("GET", f"/api/v1/changes?sort=ref&limit={FITSFLOW_JSON_PAGE}&offset={o}", None)
                  for o in range(0, items, FITSFLOW_JSON_PAGE)]
    json_small = [("GET", f"/api/v1/changes?sort=ref&limit={PAGE}&offset={o}", None)
                  for o in range(0, items, PAGE)]
    html_pages = [("GET", f"/changes?sort=ref&size={PAGE}&page={p}", None)
                  for p in range(1, items // PAGE + 1)]
    return {"json": json_pages, "json100": json_small, "html": html_pages}


def fitsflow_decisions(refs: list[str]) -> list[Request]:
    body = json.dumps({"decision": "approve", "role": "finance"}).encode()
    return [("POST", f"/api/v1/changes/{ref}/decision", body) for ref in refs]


# --- the raw-HTTP baseline -----------------------------------------------------------------

MINIMAL_WSGI = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
"""


def start_minimal(folder: str) -> Server:
    """A WSGI function answering 200 'ok' to every request, under gunicorn with the settings
    `fitsflow serve` gives it here ([server] workers and threads, the gthread worker, the access
    log on standard output): what gunicorn and HTTP alone allow."""
    os.makedirs(folder)
    Path(folder, "minimal_wsgi.py").write_text(MINIMAL_WSGI)
    settings = load_settings(environ={}).server
    port = web_bench.free_port()
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
               "--workers", str(settings.workers), "--threads", str(settings.threads),
               "--worker-class", "gthread" if settings.threads > 1 else "sync",
               "--graceful-timeout", str(settings.graceful_timeout), "--no-control-socket",
               "--access-logfile", "-", "--error-logfile", "-", "--chdir", folder, "minimal_wsgi:app"]
    with open(f"{folder}/gunicorn.log", "wb") as log:
        process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped: {Path(folder, 'gunicorn.log').read_text()[-2000:]}")
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            return Server(MINIMAL, port, process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gunicorn did not start: see {folder}/gunicorn.log")


# --- Redmine -------------------------------------------------------------------------------

SETUP_RB = """
Setting.rest_api_enabled = '1'
Setting.per_page_options = '25,50,100'
admin = User.find_by_login('admin')
admin.password = admin.password_confirmation = ENV.fetch('BENCH_PASSWORD')
admin.must_change_passwd = false
admin.save!
project = Project.create!(name: 'Bench', identifier: 'bench', is_public: false,
                          tracker_ids: Tracker.pluck(:id), enabled_module_names: ['issue_tracking'])
puts "key=#{admin.api_key}"
puts "project=#{project.id}"
puts "tracker=#{project.trackers.first.id}"
puts "priority=#{(IssuePriority.default || IssuePriority.first).id}"
puts "new=#{IssueStatus.find_by_name!('New').id}"
puts "progress=#{IssueStatus.find_by_name!('In Progress').id}"
puts "closed=#{IssueStatus.find_by_name!('Closed').id}"
"""


# Redmine 5.0 runs on Rails 6.1, which has two known faults on SQLite under threads and
# processes, each a 500 ("database is locked") for a request here, most of all on concurrent
# decisions: (1) transactions begin DEFERRED, so two writers that each read first deadlock and
# SQLite fails one at once (the busy timeout does not apply); (2) its busy timeout waits inside
# SQLite holding Ruby's global lock, so a thread waiting for the write lock stops the thread of
# its own process that holds it, until the timeout ends. Rails 7.1 and 8 fixed both (a busy
# handler that sleeps in Ruby; IMMEDIATE transactions). The benchmark serves Redmine through
# this rackup file, which backports those two fixes, and puts its database in WAL mode (readers
# no longer block the writer), as Rails 7.1 does for new SQLite databases. All three help Redmine.
RACKUP = """
require '/usr/share/redmine/config/environment'
require 'active_record/connection_adapters/sqlite3_adapter'

module BenchSqliteFixes
  def begin_db_transaction
    log('begin immediate transaction', 'TRANSACTION') { @connection.transaction(:immediate) }
  end

  private

  def configure_connection
    super
    deadline = nil
    @connection.busy_handler do |count|
      now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      deadline = now + 10 if count.zero?
      next false if now > deadline
      sleep 0.001  # in Ruby: the other threads run meanwhile
      true
    end
  end
end
ActiveRecord::ConnectionAdapters::SQLite3Adapter.prepend(BenchSqliteFixes)
run Rails.application
"""


def redmine_version() -> str:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "redmine"], capture_output=True, text=True)
    return out.stdout.strip() or "not installed"


class Redmine:
    """A Redmine instance of its own (REDMINE_INSTANCE), its files in a temporary folder that
    /var/lib/redmine/<instance> points to; removed again by `remove`."""

    def __init__(self, folder: str):
        self.folder = Path(folder)
        self.instance = f"fitsflow-bench-{os.getpid()}"
        self.link = INSTANCES / self.instance
        for sub in ("config", "log", "tmp", "files", "public/plugin_assets"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self.link.symlink_to(self.folder)
        self.db = self.folder / "redmine.db"
        (self.folder / "config" / "database.yml").write_text(
            f"production:\n  adapter: sqlite3\n  database: {self.db}\n  pool: 8\n  timeout: 10000\n")
        (self.folder / "config" / "secret_key.txt").write_text(secrets.token_hex(32))
        self.env = {**os.environ, "REDMINE_INSTANCE": self.instance, "RAILS_ENV": "production",
                    "REDMINE_LANG": "en", "BENCH_PASSWORD": PASSWORD}

    def run(self, *command: str) -> str:
        done = subprocess.run(command, cwd=REDMINE, env=self.env, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    def prepare(self, items: int, targets: int) -> dict[str, str]:
        """The schema, Redmine's default data (trackers, statuses, roles, workflows), the REST API
        on, the admin's password and API key, one project and `items` issues: the first
        `targets` New (each moved to In Progress once by a decision), the rest Closed."""
        self.run("rake", "db:migrate")
        self.run("rake", "redmine:load_default_data")
        script = self.folder / "setup.rb"
        script.write_text(SETUP_RB)
        out = self.run("bin/rails", "runner", "-e", "production", str(script))
        ids = dict(line.split("=", 1) for line in out.split() if "=" in line)
        db = sqlite3.connect(self.db)
        now = "2026-01-05 09:00:00"
        rows = [(int(ids["tracker"]), int(ids["project"]),
                 f"Replace the projector in room {i}" if i % 100 == 7 else f"Routine change {i}",
                 "A change to the school's ICT, raised for the benchmark.",
                 int(ids["new"] if i < targets else ids["closed"]), int(ids["priority"]), 1, now, now,
                 None if i < targets else now) for i in range(items)]
        db.executemany("INSERT INTO issues (tracker_id, project_id, subject, description, status_id, "
                       "priority_id, author_id, created_on, updated_on, closed_on, lock_version, "
                       "done_ratio, is_private, lft, rgt) VALUES (?,?,?,?,?,?,?,?,?,?,0,0,0,1,2)", rows)
        db.execute("UPDATE issues SET root_id = id")
        db.commit()
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
        return ids

    def start(self, port: int) -> subprocess.Popen[bytes]:
        """puma in cluster mode: 2 workers × 4 threads, as fitsflow's gunicorn."""
        log = (self.folder / "puma.log").open("wb")
        rackup = self.folder / "bench.ru"
        rackup.write_text(RACKUP)
        server = subprocess.Popen(["puma", "-e", "production", "-w", "2", "-t", "4:4",
                                   "-b", f"tcp://127.0.0.1:{port}", str(rackup)],
                                  cwd=REDMINE, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if server.poll() is not None:
                raise RuntimeError(f"puma stopped: {(self.folder / 'puma.log').read_text()[-2000:]}")
            if (self.folder / "puma.log").read_text().count("booted in") >= 2:
                return server
            time.sleep(0.1)
        server.kill()
        raise RuntimeError("puma did not start")

    def remove(self) -> None:
        self.link.unlink(missing_ok=True)


def redmine_sign_in(port: int) -> str:
    """The admin's session cookie, signed in through the login form."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/login")
    response = conn.getresponse()
    cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
    token = re.search(r'name="authenticity_token" value="([^"]+)"', response.read().decode())
    assert token, "no authenticity_token on /login"
    body = urlencode({"username": "admin", "password": PASSWORD, "authenticity_token": token.group(1)})
    conn.request("POST", "/login", body=body, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    assert response.status == 302 and "/login" not in response.getheader("Location", ""), response.status
    return (response.getheader("Set-Cookie") or cookie).split(";")[0]


def start_redmine(folder: str, items: int, targets: int) -> tuple[Server, Redmine, int]:
    """Redmine prepared and served, signed in as its admin; and the status a decision moves to."""
    redmine = Redmine(folder)
    ids = redmine.prepare(items, targets)
    port = web_bench.free_port()
    server = Server("Redmine", port, redmine.start(port), headers={"X-Redmine-API-Key": ids["key"]})
    server.cookie = redmine_sign_in(port)
    server.sent += 2
    return server, redmine, int(ids["progress"])


def redmine_work(items: int) -> dict[str, list[Request]]:
    json_pages = [("GET", f"/issues.json?status_id=*&sort=id&limit={PAGE}&offset={o}", None)
                  for o in range(0, items, PAGE)]
    html_pages = [("GET", f"/issues?set_filter=1&status_id=*&sort=id&per_page={PAGE}&page={p}", None)
                  for p in range(1, items // PAGE + 1)]
    return {"json": json_pages, "html": html_pages}


def redmine_decisions(ids: list[int], status: int) -> list[Request]:
    body = json.dumps({"issue": {"status_id": status}}).encode()
    return [("PUT", f"/issues/{i}.json", body) for i in ids]


# --- the run -------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10000)
    parser.add_argument("--decisions", type=int, default=200, help="Decisions per block and concurrency.")
    parser.add_argument("--trivial", type=int, default=2000,
                        help="Requests to /healthz and to the minimal WSGI app per block and concurrency.")
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--memory-after", type=int, default=10000,
                        help="Requests each server has had when its workers' memory is read.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (logs, databases).")
    args = parser.parse_args()
    if os.geteuid() != 0 or not REDMINE.exists():
        sys.exit("needs root and Debian's redmine, redmine-sqlite and puma packages (see README.md)")
    items, n = args.items, args.decisions
    targets = 2 * n * (args.blocks + 1) + 10
    folder = tempfile.mkdtemp(prefix="fitsflow-peer-bench-")
    started: list[Server] = []
    redmine: Redmine | None = None
    try:
        print(f"preparing fitsflow with {items:,} changes ...", flush=True)
        ff, ff_targets, ff_refs = start_fitsflow(f"{folder}/fitsflow", items, targets)
        started.append(ff)
        print(f"preparing Redmine {redmine_version()} with {items:,} issues ...", flush=True)
        os.makedirs(f"{folder}/redmine")
        rm, redmine, progress = start_redmine(f"{folder}/redmine", items, targets)
        started.append(rm)
        print("starting the minimal WSGI app under gunicorn ...", flush=True)
        mini = start_minimal(f"{folder}/minimal")
        started.append(mini)
        # fitsflow's own server, counted apart: the memory step brings `ff` to --memory-after
        # requests of the blocks' kinds, as Redmine, and /healthz's requests come on top.
        hz = Server(HEALTHZ, ff.port, ff.process)
        work = {"fitsflow": fitsflow_work(items), "Redmine": redmine_work(items)}
        rm_targets = list(range(1, targets + 1))

        def decisions(server: Server, start: int, count: int) -> list[Request]:
            if server is ff:
                return fitsflow_decisions(ff_targets[start:start + count])
            return redmine_decisions(rm_targets[start:start + count], progress)

        def trivial(server: Server, count: int) -> list[Request]:
            """The ceilings' request: fitsflow's /healthz, or anything of the minimal app."""
            return [("GET", "/healthz" if server is hz else "/", None)] * count

        # Warm both up (each worker, each kind of request), checking the lists hold every item.
        used = 0
        for server in (ff, rm):
            w = work[server.name]
            server.load(decisions(server, used, 8), 4)
            server.load(w["json"], 4, expect=items)
            if "json100" in w:
                server.load(w["json100"], 4, expect=items)
            server.load(w["html"][:8], 4, html=True)
            rows = server.html_rows(w["html"][1][1])
            if rows != PAGE:
                raise RuntimeError(f"{server.name}: an HTML list page holds {rows} rows, not {PAGE}")
        for server in (hz, mini):
            server.load(trivial(server, 200), 4)
        used += 8
        rates: dict[str, dict[str, list[float]]] = {"fitsflow": {}, "Redmine": {}, HEALTHZ: {}, MINIMAL: {}}

        def note(server: Server, key: str, value: float) -> None:
            rates[server.name].setdefault(key, []).append(value)

        for block in range(args.blocks):
            order = (ff, rm) if block % 2 == 0 else (rm, ff)
            # The decisions and the two ceilings, each at 1 and 4 connections.
            timed = (ff, hz, mini, rm) if block % 2 == 0 else (rm, mini, hz, ff)
            for conns in (1, 4):
                for server in timed:
                    if server is ff or server is rm:
                        note(server, f"decisions_{conns}", server.load(decisions(server, used, n), conns))
                    else:
                        note(server, f"requests_{conns}", server.load(trivial(server, args.trivial), conns))
                used += n
            for server in order:
                w = work[server.name]
                # requests/s × items per request = items/s
                note(server, "json", server.load(w["json"], 4) * items / len(w["json"]))
                if "json100" in w:
                    note(server, "json100", server.load(w["json100"], 4) * items / len(w["json100"]))
            for server in order:
                w = work[server.name]
                note(server, "html", server.load(w["html"], 4, html=True) * items / len(w["html"]))
            print(f"block {block + 1}/{args.blocks}: " + "; ".join(
                f"{name} " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in r.items())
                for name, r in rates.items()), flush=True)

        # Memory: each server brought to the same count of requests with the same mix, in
        # tens: seven single items as JSON, one JSON list page of 100, one HTML list page of
        # 100 and one item's HTML page.
        memory: dict[str, list[int]] = {}
        for server in (ff, rm):
            if server is ff:
                one = [f"/api/v1/changes/{r}" for r in ff_refs]
                page = [f"/changes/{r}" for r in ff_refs]
            else:
                one = [f"/issues/{i}.json" for i in range(1, items + 1)]
                page = [f"/issues/{i}" for i in range(1, items + 1)]
            w = work[server.name]
            json100 = w.get("json100", w["json"])
            remaining = max(args.memory_after - server.sent, 0)
            api: list[Request] = []
            html: list[Request] = []
            for i in range(remaining):
                k = (i * 7919) % len(one)  # spread over the items
                if i % 10 < 7:
                    api.append(("GET", one[k], None))
                elif i % 10 == 7:
                    api.append(json100[k % len(json100)])
                elif i % 10 == 8:
                    html.append(w["html"][k % len(w["html"])])
                else:
                    html.append(("GET", page[k], None))
            start = time.perf_counter()
            server.load(api, 4)
            server.load(html, 4, html=True)
            memory[server.name] = server.worker_memory()
            print(f"{server.name}: {server.sent:,} requests ({time.perf_counter() - start:.0f} s for the "
                  f"last {remaining:,}); workers' RSS "
                  + ", ".join(f"{m / 2**20:.0f} MB" for m in memory[server.name]), flush=True)
    finally:
        for server in started:
            server.stop()
        if redmine is not None:
            redmine.remove()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    report(rates, memory, items, n, args.blocks)


def report(rates: dict[str, dict[str, list[float]]], memory: dict[str, list[int]], items: int, n: int,
           blocks: int) -> None:
    def med(name: str, key: str) -> float:
        return statistics.median(rates[name][key])

    def ceilings(conns: str) -> None:
        """What any fitsflow request (/healthz), and gunicorn alone (the minimal app), reach at
        the decisions' connection count, ÷ Redmine's decisions in the same blocks."""
        redmine = rates["Redmine"][f"decisions_{conns}"]
        for name, what in ((HEALTHZ, "fitsflow /healthz"), (MINIMAL, "minimal WSGI app under gunicorn")):
            c = med(name, f"requests_{conns}")
            per_block = [a / b for a, b in zip(rates[name][f"requests_{conns}"], redmine, strict=True)]
            print(f"  {what}, {conns} connection(s): {c:,.0f}/s "
                  f"({c / med('fitsflow', f'decisions_{conns}'):.2f}× fitsflow's decisions)")
            print(f"ratio: {c / statistics.median(redmine):.2f} ({what} ÷ Redmine decision, {conns} "
                  f"connection(s); blocks {min(per_block):.2f}–{max(per_block):.2f}; the ceiling, no target)")

    print()
    print(f"{items:,} items each; {blocks} interleaved blocks; medians over the blocks")
    labels = {
        "decisions_1": f"decisions over REST, 1 connection ({n} a block)",
        "decisions_4": f"decisions over REST, 4 connections ({n} a block)",
        "json": f"JSON list, all {items:,} items over 4 connections (fitsflow {FITSFLOW_JSON_PAGE} a page, "
                f"Redmine {PAGE}, each API's largest), items/s",
        "html": f"HTML list, all {items:,} items in pages of {PAGE} over 4 connections, items/s",
    }
    for key, label in labels.items():
        f, r = med("fitsflow", key), med("Redmine", key)
        unit = " items/s" if key in ("json", "html") else "/s"
        print(f"  {label}: fitsflow {f:,.0f}{unit}, Redmine {r:,.0f}{unit}")
        per_block = [a / b for a, b in zip(rates["fitsflow"][key], rates["Redmine"][key], strict=True)]
        print(f"ratio: {f / r:.2f} ({key}: fitsflow ÷ Redmine; blocks "
              f"{min(per_block):.2f}–{max(per_block):.2f}; target ≥ 15)")
        if key.startswith("decisions_"):
            ceilings(key.removeprefix("decisions_"))
    f100 = med("fitsflow", "json100")
    print(f"  (fitsflow's JSON list in pages of {PAGE}, as Redmine's: {f100:,.0f} items/s, "
          f"{f100 / med('Redmine', 'json'):.2f}× Redmine; not a target)")
    ff, rm = memory["fitsflow"], memory["Redmine"]
    print(f"  worker RSS after the requests: fitsflow max {max(ff) / 2**20:.0f} MB "
          f"(sum {sum(ff) / 2**20:.0f}), Redmine max {max(rm) / 2**20:.0f} MB (sum {sum(rm) / 2**20:.0f})")
    print(f"ratio: {max(rm) / max(ff):.2f} (memory: Redmine's largest worker RSS ÷ fitsflow's; target ≥ 2, "
          "i.e. fitsflow ≤ ½)")


if __name__ == "__main__":
    main()
