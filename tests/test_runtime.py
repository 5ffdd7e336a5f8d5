"""One runtime, built once from one settings file, is what every entry point uses."""

from __future__ import annotations

import ast
import http.cookiejar
import itertools
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.persistence.migrate import upgrade
from fitsflow.services import auth, stages
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import make_app

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "riverside password 1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSFLOW_")}
    done = subprocess.run([sys.executable, "-m", "fitsflow.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serve_with_a_config_file_serves_that_files_school_and_database(tmp_path):
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    # The folder serve runs in holds another school's database (as after `make run`).
    _cli("init", cwd=elsewhere)
    _cli("user", "add", "--name", "Other", "--email", "other@demo.school", "--role", "admin",
         "--password", "quiet heron password", cwd=elsewhere)
    school = tmp_path / "riverside"
    school.mkdir()
    port = _free_port()
    config = school / "fitsflow.toml"
    config.write_text(f"""
[database]
url = "sqlite:///{school / 'riverside.db'}"
[school]
name = "Riverside Academy"
[web]
secret_key_file = "{school / 'secret.key'}"
secure_cookies = false
[server]
bind = "127.0.0.1:{port}"
workers = 1
threads = 2
[delivery]
in_process = false
""")
    _cli("--config", str(config), "init", cwd=elsewhere)
    _cli("--config", str(config), "user", "add", "--name", "Rita", "--email", "rita@riverside.example",
         "--role", "requester", "--password", PASSWORD, cwd=elsewhere)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSFLOW_")}
    server = subprocess.Popen([sys.executable, "-m", "fitsflow.cli", "--config", str(config), "serve"],
                              cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as health:
                    assert "Server" not in health.headers  # gunicorn's banner is left out
                break
            except OSError:
                time.sleep(0.2)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/login", timeout=5).read().decode()
        assert "Riverside Academy" in page and "Demo School" not in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode({"email": "rita@riverside.example", "password": PASSWORD,
                                       "csrf_token": token}).encode()
        home = opener.open(base + "/login", data=form, timeout=5).read().decode()
        assert "Rita" in home and "Riverside Academy" in home  # a user only FILE's database has
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"from sqlite:///{school / 'riverside.db'}" in output and "Riverside Academy" in output
    assert not (elsewhere / "fitsflow-secret.key").exists()
    assert (school / "secret.key").exists()


def _imports(path: Path, module: str) -> set[str]:
    """Modules of the project this one imports (anywhere in it, lazily or not)."""
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            if base.startswith("fitsflow"):
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fitsflow"))
    return found


def test_no_import_circles():
    modules: dict[str, Path] = {}
    for folder, name in (("fitsflow", "fitsflow"), ("web", "fitsflow.web")):
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            modules[".".join([name, *parts])] = path
    graph = {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}
    # A package's __init__ re-exporting its modules is not a circle through them.
    for m in graph:
        graph[m] = {i for i in graph[m] if not m.startswith(i + ".")}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_a_web_worker_loads_only_what_its_installation_uses(tmp_path):
    """A worker on SQLite with no sign-in provider carries neither the PostgreSQL driver, nor
    Authlib and its HTTP client, nor ReportLab (about 30 MB a worker process), nor the QR
    code maker (enrolling a second factor), icalendar (a time zone without yearly rules) or
    the bank holidays' package: each is loaded where it is used, and a test that takes the PDF,
    a provider or PostgreSQL still finds it."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    script = (
        "import sys\n"
        "from fitsflow.bootstrap import build_runtime\n"
        "from fitsflow.config import load_settings\n"
        "from fitsflow.web import create_app\n"
        f"create_app(build_runtime(load_settings(environ={{}}), database_url={url!r}))\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          check=True)
    loaded = set(done.stdout.split())
    assert {"flask", "sqlalchemy", "jinja2"} <= loaded  # the app was built
    assert loaded.isdisjoint({"psycopg", "authlib", "requests", "joserfc", "reportlab", "openpyxl",
                              "segno", "icalendar", "holidays"})


def test_a_served_worker_knows_the_bank_holidays_without_loading_every_country(tmp_path):
    """fitsflow serve works out the bank holidays of the years around today in a child process;
    a worker inherits the table and answers from it without the holidays package (12 MB of
    every country's rules), and asks the package for a year outside it."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    script = (
        "import sys\n"
        "from datetime import date\n"
        "from fitsflow.bootstrap import build_runtime\n"
        "from fitsflow.cli.serve import _bank_holidays_apart\n"
        "from fitsflow.config import load_settings\n"
        "from fitsflow.domain.calendar import SchoolCalendar\n"
        "if __name__ == '__main__':\n"
        f"    rt = build_runtime(load_settings(environ={{}}), database_url={url!r})\n"
        "    _bank_holidays_apart(rt)\n"
        "    year = rt.today().year\n"
        "    cal = lambda nation: SchoolCalendar([], nation=nation, tz=rt.timezone, publish_time=None)\n"
        "    print(cal('england').bank_holiday(date(year, 12, 25)), '|',\n"
        "          cal('scotland').bank_holiday(date(year + 1, 11, 30)), '|',\n"
        "          cal('england').is_school_day(date(year, 12, 25)), 'holidays' in sys.modules)\n"
        "    print(cal('wales').bank_holiday(date(year + 30, 12, 25)), 'holidays' in sys.modules)\n"
    )
    (tmp_path / "worker.py").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "worker.py")], capture_output=True, text=True,
                          timeout=120, check=True, cwd=ROOT)
    first, later = done.stdout.splitlines()
    assert first == "Christmas Day | Saint Andrew's Day | False False"
    assert later == "Christmas Day True"


def test_a_served_worker_gives_freed_memory_back_every_so_many_requests(monkeypatch):
    from fitsflow.cli import serve

    trimmed: list[int] = []
    monkeypatch.setattr(serve, "_served", itertools.count(1))
    monkeypatch.setattr(serve, "_libc_function",
                        lambda name: trimmed.append if name == "malloc_trim" else None)
    for _ in range(2 * serve._TRIM_EVERY + 1):
        serve._now_and_then_give_memory_back(None, None, {}, None)
    assert trimmed == [0, 0]
    monkeypatch.setattr(serve, "_libc_function", lambda name: None)  # no glibc: nothing to do
    for _ in range(serve._TRIM_EVERY):
        serve._now_and_then_give_memory_back(None, None, {}, None)
    assert trimmed == [0, 0]


def test_a_served_worker_keeps_what_lives_at_its_start_out_of_the_collectors_walks():
    import gc
    import weakref

    from fitsflow.cli import serve

    class Held:
        pass

    def cycle() -> tuple[Held, weakref.ref]:
        one = Held()
        one.me = one  # type: ignore[attr-defined]  # freed only by the collector
        return one, weakref.ref(one)

    try:
        garbage = cycle()[1]
        lives, living = cycle()
        serve._freeze_what_lives()
        assert garbage() is None  # collected before the freeze: a frozen object is never freed
        assert gc.get_freeze_count() > 0
        assert not any(o is lives for o in gc.get_objects())  # no collection walks it
        del lives
        gc.collect()
        assert living() is not None  # frozen
        serve._freeze_what_lives(thawed=True)  # the master after a reload lets it go
        assert living() is None
    finally:
        gc.unfreeze()


def test_the_web_and_the_command_line_reach_storage_only_through_services():
    reaching = []
    for folder, name in (("web", "fitsflow.web"), ("fitsflow/cli", "fitsflow.cli")):
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            module = ".".join([name, *[p for p in rel.parts if p != "__init__"]])
            if name == "fitsflow.web":  # web/ is the package fitsflow.web: its relative imports
                module = module.replace("fitsflow.web", "web", 1)
            found = {i for i in _imports(path, module) if i.startswith("fitsflow.persistence")}
            reaching += [f"{path.relative_to(ROOT)} imports {i}" for i in sorted(found)]
    assert reaching == []


def test_an_api_read_answers_while_a_writer_holds_the_lock(file_rt, tmp_path):
    school = f.School(file_rt)
    ref = f.change_in(file_rt, school, "minor", "needs_analysis")
    secret = auth.create_token(file_rt, user_id=school.requester, name="script")
    app = make_app(file_rt, tmp_path)
    client = app.test_client()
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with file_rt.db.transaction() as session:
            session.execute(text("UPDATE changes SET title = title"))
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        response = client.get(f"/api/v1/changes/{ref}", headers={"Authorization": f"Bearer {secret}"})
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["change"]["ref"] == ref
        assert elapsed < file_rt.settings.database.busy_timeout_ms / 1000  # answered, not timed out
    finally:
        release.set()
        thread.join()
    # The token's use is recorded once the writer is gone.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert auth.list_tokens(file_rt, user_id=school.requester)[0].last_used_at is not None


def test_settings_are_immutable_and_loaded_in_one_place():
    from pydantic import ValidationError

    settings = load_settings(environ={})
    with pytest.raises(ValidationError, match="frozen"):  # each section is a frozen model
        settings.web.page_size = 10
    with pytest.raises(AttributeError):  # and the whole a frozen dataclass
        settings.web = settings.web  # type: ignore[misc]
    assert settings.web.page_size == 25
    offenders = [str(p.relative_to(ROOT)) for folder in ("fitsflow", "web")
                 for p in (ROOT / folder).rglob("*.py")
                 if "load_settings(" in p.read_text() and p.name not in ("config.py", "base.py")]
    assert offenders == []


def test_write_responses_carry_the_committed_version(sqlite_rt):
    school = f.School(sqlite_rt)
    view = changes_service.raise_change(sqlite_rt, actor_id=school.requester, title="X", category="minor")
    after = stages.record_needs(sqlite_rt, actor_id=school.requester, ref=view.ref, data=f.NEEDS,
                                  expected_version=view.version)
    assert after.version == f.snapshot(sqlite_rt, view.ref)[1] == view.version + 1
    fired = changes_service.fire(sqlite_rt, actor_id=school.requester, ref=view.ref, trigger="complete_needs",
                          expected_version=after.version)
    assert fired.version == f.snapshot(sqlite_rt, view.ref)[1]
    assert json.dumps(fired.version)


def test_a_runtime_built_for_one_database_never_touches_another(tmp_path):
    settings = load_settings(environ={"FITSFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    rt = build_runtime(settings)
    upgrade(rt.db)
    assert rt.db.display_url == f"sqlite:///{tmp_path / 'a.db'}"
    assert not (Path.cwd() / "a.db").exists()
    rt.db.dispose()


def test_sql_lives_only_in_persistence():
    """Outside fitsflow/persistence nothing builds a statement: services call stores."""
    allowed = {"Session"}  # the type of the transaction handed down
    found = []
    for folder in ("fitsflow", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            if "persistence" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("sqlalchemy",
                                                                                            "sqlmodel"):
                    found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                              if a.name not in allowed]
                elif isinstance(node, ast.Import):
                    found += [f"{path.relative_to(ROOT)}: {a.name}" for a in node.names
                              if a.name.split(".")[0] in ("sqlalchemy", "sqlmodel")]
    assert found == []
