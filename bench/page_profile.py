"""Where a daily page's time goes, on the web bench's realistic history: each page requested
in-process (Flask's test client) with every SQL statement timed, the slowest statements
printed with their plans (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL), and a
cProfile of the page's Python.

    python bench/page_profile.py --size 100000 [--postgres URL] [--database URL] [--keep]
                                 [--pages home "changes phase" …] [--runs 20]

``--database URL`` profiles a history built earlier (with ``--keep``, whose URL it prints).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import pstats
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fitsflow.web import create_app  # noqa: E402
from realistic_data import PASSWORD, build  # noqa: E402
from sqlalchemy import create_engine, event, make_url, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from web_bench import daily_pages, pg_schema_url  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.domain import totp  # noqa: E402
from fitsflow.persistence.models import User  # noqa: E402

_STATEMENTS: dict[str, list[float]] = defaultdict(list)
_PARAMS: dict[str, Any] = {}
_COLLECT = [False]


@event.listens_for(Engine, "before_cursor_execute")
def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    conn.info["bench_start"] = time.perf_counter()


@event.listens_for(Engine, "after_cursor_execute")
def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if _COLLECT[0]:
        _STATEMENTS[statement].append(time.perf_counter() - conn.info.pop("bench_start", time.perf_counter()))
        _PARAMS[statement] = parameters


def _explain(rt: Any, statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN ANALYZE " if rt.db.dialect == "postgresql" else "EXPLAIN QUERY PLAN "
    try:
        with rt.db.engine.connect() as connection:
            rows = connection.exec_driver_sql(prefix + statement, parameters).all()
    except Exception as err:  # noqa: BLE001 - a plan is a help, not the point
        return f"(no plan: {err})"
    if rt.db.dialect == "postgresql":
        return "\n".join(f"      {r[0]}" for r in rows)
    return "\n".join(f"      {'  ' * 0}{r[-1]}" for r in rows)


def _csrf(client: Any, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _sign_in(app: Any, email: str, secret: str | None) -> Any:
    """A signed-in test client; an approver passes the second factor with ``secret``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": _csrf(client, "/login")})
    assert response.status_code == 302, response.status_code
    if response.headers.get("Location", "").endswith("/login/code"):
        if secret is None:
            raise RuntimeError(f"{email} needs a second factor: profile a history built in this run")
        code = totp.code_at(secret, datetime.now(UTC) + timedelta(seconds=30))
        response = client.post("/login/code", data={"code": code, "csrf_token": _csrf(client, "/login/code")})
        assert response.status_code == 302, response.status_code
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--database", metavar="URL", help="A history built earlier (--keep).")
    parser.add_argument("--keep", action="store_true", help="Keep the history built and print its URL.")
    parser.add_argument("--pages", nargs="*", help="Page names as web_bench prints them (default: all).")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument("--lines", type=int, default=25, help="Lines of each page's profile printed.")
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"),
                        help="Order of the profile's lines: time under each function, or in it alone.")
    args = parser.parse_args()
    url = args.database
    if url is None:
        url = (pg_schema_url(args.postgres, f"bench_profile_{args.size}") if args.postgres
               else f"sqlite:///{tempfile.mkdtemp(prefix='fitsflow-profile-')}/bench.db")
        built = build(url, args.size, targets=10)
        print(f"built {args.size:,} changes: {url}" + (" (kept)" if args.keep else ""))
    rt = build_runtime(load_settings(environ={}), database_url=url)
    if args.database is not None:
        built = _rebuilt(rt)
    try:
        profile_pages(rt, built, args)
    finally:
        rt.db.dispose()
        if args.database is None and not args.keep:
            if args.postgres:
                with create_engine(args.postgres).begin() as connection:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS bench_profile_{args.size} CASCADE"))
            else:
                shutil.rmtree(Path(make_url(url).database or "").parent, ignore_errors=True)


def profile_pages(rt: Any, built: Any, args: Any) -> None:
    settings = rt.settings.replace(web={"secret_key": "bench", "secure_cookies": False})
    rt = dataclasses.replace(rt, settings=settings)
    app = create_app(rt, {"TESTING": True})
    clients: dict[str, Any] = {}
    for name, who, path in daily_pages(built):
        if args.pages and name not in args.pages:
            continue
        client = clients.get(who) or clients.setdefault(
            who, _sign_in(app, built.people.emails[who], built.people.secrets.get(who)))
        for _ in range(3):
            assert client.get(path).status_code == 200, path
        _STATEMENTS.clear()
        _COLLECT[0] = True
        profile = cProfile.Profile()
        start = time.perf_counter()
        profile.enable()
        for _ in range(args.runs):
            client.get(path)
        profile.disable()
        elapsed = (time.perf_counter() - start) / args.runs
        _COLLECT[0] = False
        sql = sum(sum(v) for v in _STATEMENTS.values()) / args.runs
        count = sum(len(v) for v in _STATEMENTS.values()) / args.runs
        print(f"\n== {name} ({who}) {path}: {elapsed * 1000:.1f} ms a request, SQL {sql * 1000:.1f} ms "
              f"in {count:.0f} statements")
        ranked = sorted(_STATEMENTS.items(), key=lambda kv: -sum(kv[1]))[:args.top]
        for statement, times in ranked:
            one = " ".join(statement.split())
            print(f"  {sum(times) / args.runs * 1000:.2f} ms a request ({len(times) // args.runs}× "
                  f"{sum(times) / len(times) * 1000:.2f} ms): {one[:600]}")
            print(f"    params: {str(_PARAMS[statement])[:200]}")
            print(_explain(rt, statement, _PARAMS[statement]))
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(args.sort).print_stats(args.lines)
        print("\n".join(line for line in out.getvalue().splitlines()[8:8 + args.lines] if line.strip()))


def _rebuilt(rt: Any) -> Any:
    """The people and pages of a history built earlier, read back from it."""
    from realistic_data import Built, People
    from sqlmodel import select

    with rt.db.read() as session:
        found = {u.email.split("@")[0]: u.id for u in session.exec(select(User))
                 if u.email.endswith("@bench.school") and u.id is not None}
        notice = session.connection().execute(text(
            "SELECT c.ref, n.id FROM release_notices n JOIN changes c ON c.id = n.change_id "
            "WHERE c.title = 'Model: released' AND n.audience = 'staff' ORDER BY n.id LIMIT 1")).one()
    people = People(found, {k: f"{k}@bench.school" for k in found}, {}, [])
    return Built(people, "", [], f"/changes/{notice[0]}/notices/{notice[1]}/acknowledgements", {}, {})


if __name__ == "__main__":
    main()
