"""How a page's cost grows with how deep in the list it is: the changes list (as the auditor
sees every change) read at the first page and at pages deep in it, by offset (``?page=N``)
and by position (the pager's Next: ``after=…``), in-process through the service the page
calls. Prints each page's median time and ``ratio:`` lines — first page ÷ deep page, by
offset and by position (1.0: the deep page costs what the first does).

    python bench/deep_pages.py --size 100000 [--postgres URL] [--database URL] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic_data import build  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from web_bench import pg_schema_url  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.persistence import change_store  # noqa: E402
from fitsflow.services import change_search  # noqa: E402
from fitsflow.services.change_search import ChangeFilter  # noqa: E402

SIZE = 50


def _median_ms(run: Callable[[], Any], runs: int) -> float:
    run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def measure(rt: Any, auditor: int, runs: int) -> None:
    for sort in ("-updated", "title"):
        filters = ChangeFilter(sort=sort)
        first = _median_ms(lambda f=filters: change_search.find(rt, actor_id=auditor, filters=f, limit=SIZE),
                           runs)
        print(f"{sort:>9} first page: {first:.2f} ms")
        with rt.db.engine.connect() as connection:
            total = connection.execute(text("SELECT count(*) FROM changes")).scalar_one()
        for depth in (10_000, 50_000, 90_000):
            if depth >= total:
                continue
            with rt.db.read() as session:  # the row before the deep page, as the pager's Next has it
                before = change_store.filtered(session, sort=sort, limit=1, offset=depth - 1)
            assert before.last is not None
            after = before.last.text()
            by_offset = _median_ms(lambda f=filters, d=depth: change_search.find(
                rt, actor_id=auditor, filters=f, limit=SIZE, offset=d), runs)
            by_position = _median_ms(lambda f=filters, d=depth, a=after: change_search.find(
                rt, actor_id=auditor, filters=f, limit=SIZE, offset=d, after=a), runs)
            print(f"{sort:>9} page at row {depth:,}: by offset {by_offset:.2f} ms, "
                  f"by position {by_position:.2f} ms")
            print(f"ratio: {sort} first ÷ row {depth:,} by offset {first / by_offset:.2f}, "
                  f"by position {first / by_position:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100000)
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--database", metavar="URL", help="A history built earlier (--keep).")
    parser.add_argument("--keep", action="store_true", help="Keep the history built and print its URL.")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    url = args.database
    schema = f"bench_deep_{args.size}"
    if url is None:
        url = (pg_schema_url(args.postgres, schema) if args.postgres
               else f"sqlite:///{tempfile.mkdtemp(prefix='fitsflow-deep-')}/bench.db")
        built = build(url, args.size, targets=2)
        auditor = built.people.ids["auditor"]
        print(f"built {args.size:,} changes: {url}" + (" (kept)" if args.keep else ""))
    rt = build_runtime(load_settings(environ={}), database_url=url)
    if args.database is not None:
        with rt.db.engine.connect() as connection:
            auditor = connection.execute(
                text("SELECT id FROM users WHERE email = 'auditor@bench.school'")).scalar_one()
    try:
        measure(rt, auditor, args.runs)
    finally:
        rt.db.dispose()
        if args.database is None and not args.keep:
            if args.postgres:
                with create_engine(args.postgres).begin() as connection:
                    connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            else:
                shutil.rmtree(Path(make_url(url).database or "").parent, ignore_errors=True)


if __name__ == "__main__":
    main()
