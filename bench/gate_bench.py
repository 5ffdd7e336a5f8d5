"""Gate transactions through the services against the same work as raw SQL.

One "gate transaction" is a final approval at a gate: the checks (the acting user and
their roles, the change locked, past ownership, the round's requirements and decisions,
the release window against the calendar), the decision row, the approved snapshot
(delete + insert), the state change with its version check, two audit events (decision +
transition, hash chained, the head locked and moved) and three outbox rows (the requester
and the two CAB members who no longer need to decide), committed together.

The raw baseline (raw_gate.py) runs the same statements in the same order with the driver
alone (sqlite3 / psycopg), the same pragmas and the same hashing, in the same run;
tests/test_gate_bench_fair.py traces both sides and fails when they differ. The result
is printed last as ``ratio: X.XX`` (project throughput ÷ raw throughput).

    python bench/gate_bench.py [--n 2000] [--postgres URL] [--memory 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import raw_gate  # noqa: E402
from setup_gate import prepare, rss_mb  # noqa: E402

from fitsflow.services import audit as audit_service  # noqa: E402
from fitsflow.services import changes as changes_service
from fitsflow.services import gates


def project_run(rt, refs: list[str], approver: int) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for ref in refs:
        result = gates.decide(rt, actor_id=approver, ref=ref, decision="approve")
        assert result.outcome == "passed"
    return time.perf_counter() - start


def timed_commits(rt) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds each of the project's DBAPI commits takes from now on (the database's wait for
    the disk, as raw_gate.COMMITS on the raw side)."""
    seconds: list[float] = []
    dialect = rt.db.engine.dialect
    commit = dialect.do_commit

    def do_commit(connection):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        commit(connection)
        seconds.append(time.perf_counter() - start)

    dialect.do_commit = do_commit
    return seconds


def compare(label: str, url_for: callable, raw_run: callable, n: int) -> float:  # type: ignore[valid-type]
    rt, refs, approver = prepare(url_for("project"), n)
    raw_target = url_for("raw")
    raw_rt, raw_refs, raw_approver = prepare(raw_target, n)
    raw_rt.db.dispose()
    warm = min(50, n // 10)
    project_run(rt, refs[:warm], approver)
    raw_run(raw_target, raw_refs[:warm], raw_approver)
    project_commits = timed_commits(rt)
    raw_gate.COMMITS.clear()
    # Interleave blocks of each side so that drift in machine speed hits both alike.
    t_project = t_raw = 0.0
    blocks = 10
    size = (n - warm) // blocks
    for b in range(blocks):
        chunk = slice(warm + b * size, warm + (b + 1) * size)
        t_project += project_run(rt, refs[chunk], approver)
        t_raw += raw_run(raw_target, raw_refs[chunk], raw_approver)
    count = size * blocks
    assert audit_service.verify(rt).ok
    rt.db.dispose()
    for target in (url_for("project"), raw_target):
        if target.startswith("sqlite:///"):
            shutil.rmtree(Path(target.removeprefix("sqlite:///")).parent, ignore_errors=True)
    ratio = t_raw / t_project
    print(f"{label}: {count} gate transactions — project {count / t_project:,.0f}/s "
          f"({t_project * 1000 / count:.2f} ms each), raw {count / t_raw:,.0f}/s "
          f"({t_raw * 1000 / count:.2f} ms each)")
    # The same writes and syncs on both sides, yet a disk may answer a slower stream of
    # commits more slowly (a virtual machine's, for one): shown, so the ratio can be read.
    c_project, c_raw = sum(project_commits), sum(raw_gate.COMMITS)
    rest_project, rest_raw = t_project - c_project, t_raw - c_raw
    print(f"  of which COMMIT (waiting for the disk): project {c_project * 1000 / count:.2f} ms, "
          f"raw {c_raw * 1000 / count:.2f} ms each; the rest: project {rest_project * 1000 / count:.2f} ms, "
          f"raw {rest_raw * 1000 / count:.2f} ms each (÷ {rest_raw / rest_project:.2f}; not the target)")
    return ratio


def memory_run(n: int) -> None:
    """Cycle submit → reject on a few changes for n transitions; report RSS."""
    from setup_gate import cycle_prepare

    folder = tempfile.mkdtemp(prefix="fitsflow-bench-")
    rt, refs, requester, approver = cycle_prepare(f"sqlite:///{folder}/memory.db")
    before = rss_mb()
    start = time.perf_counter()
    done = 0
    checkpoints = {n // 4, n // 2, 3 * n // 4}
    while done < n:
        for ref in refs:
            changes_service.fire(rt, actor_id=requester, ref=ref, trigger="submit_implement")
            gates.decide(rt, actor_id=approver, ref=ref, decision="reject", comment="again")
            done += 2
            if done in checkpoints or done - 1 in checkpoints:
                print(f"  after {done:,} transitions: RSS {rss_mb():.1f} MB", flush=True)
    elapsed = time.perf_counter() - start
    after = rss_mb()
    print(f"memory: {done:,} transitions in {elapsed:.0f} s; RSS before {before:.1f} MB, "
          f"after {after:.1f} MB (growth {after - before:+.1f} MB)")
    assert audit_service.verify(rt).ok
    rt.db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="gate transactions per side")
    parser.add_argument("--postgres", default=os.environ.get("FITSFLOW_BENCH_POSTGRES_URL")
                        or os.environ.get("FITSFLOW_TEST_POSTGRES_URL"),
                        help="also run against this PostgreSQL URL")
    parser.add_argument("--memory", type=int, default=0, help="also run this many transitions for RSS")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="fitsflow-bench-")
    ratios = {"sqlite": compare("sqlite (file, WAL, synchronous=FULL)",
                                lambda side: f"sqlite:///{folder}/{side}.db", raw_gate.run_sqlite, args.n)}
    if args.postgres:
        from setup_gate import pg_schema_url

        ratios["postgres"] = compare("postgres", lambda side: pg_schema_url(args.postgres, side),
                                     raw_gate.run_postgres, args.n)
    if args.memory:
        memory_run(args.memory)
    for name, ratio in ratios.items():
        print(f"{name} ratio: {ratio:.2f}")
    print(f"ratio: {min(ratios.values()):.2f}")


if __name__ == "__main__":
    main()
