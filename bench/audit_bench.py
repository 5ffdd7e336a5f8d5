"""The audit trail at scale: ``audit verify`` and ``audit export --format csv`` against a raw
sqlite3 + hashlib (+ csv.writer) loop over the same rows, each in a process of its own so
its peak memory can be printed; and the auditor's page p95 against /healthz p95 in the
same app.

    python bench/audit_bench.py [--events 200000] [--requests 40]

Prints ``ratio: X.XX`` lines (project throughput ÷ raw throughput; /healthz p95 ÷ audit
page p95, so higher is better everywhere).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import multiprocessing
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.domain.chain import GENESIS, canonical, link_hash  # noqa: E402
from fitsflow.persistence.migrate import upgrade  # noqa: E402
from fitsflow.persistence.protection import drop_append_only_statements  # noqa: E402
from fitsflow.services import audit as audit_service  # noqa: E402
from fitsflow.services import users

PASSWORD = "bench password 1"


def populate(url: str, path: str, events: int) -> None:
    """A school (through the services) and then ``events`` chained events written directly."""
    rt = build_runtime(load_settings(environ={}), database_url=url)
    upgrade(rt.db)
    users.add_user(rt, name="Gwen Auditor", email="gwen@bench.school", roles="auditor", password=PASSWORD)
    rt.db.dispose()
    db = sqlite3.connect(path)
    for statement in drop_append_only_statements("sqlite"):
        db.execute(statement)
    seq, prev = db.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    rows = []
    for i in range(events):
        seq += 1
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        ref = f"CHG-2026-{i % 9000 + 1:04d}"
        payload = canonical({"trigger": "approve_implement", "from": "implement_approval", "to": "approved",
                             "reason": "Bench event with a plausible payload " * 2})
        digest = link_hash(seq=seq, at=at, actor="nat@bench.school", change_ref=ref, event_type="transition",
                           payload=payload, prev_hash=prev)
        rows.append((seq, at, "nat@bench.school", ref, "transition", payload, prev, digest))
        prev = digest
    db.executemany("INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, prev_hash, "
                   "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))
    db.commit()
    db.close()


def _raw_link(seq: int, at: str, actor: str, ref: str, kind: str, payload: str, prev: str) -> str:
    record = json.dumps({"seq": seq, "at": at, "actor": actor, "change": ref, "type": kind,
                         "payload": payload, "prev": prev}, sort_keys=True, separators=(",", ":"),
                        ensure_ascii=False)
    return hashlib.sha256(record.encode("utf-8")).hexdigest()


def raw_verify(path: str) -> int:
    db = sqlite3.connect(path)
    cursor = db.execute("SELECT seq, at, actor, change_ref, event_type, payload, prev_hash, hash "
                        "FROM audit_events ORDER BY seq")
    prev, count = GENESIS, 0
    while batch := cursor.fetchmany(5000):
        for seq, at, actor, ref, kind, payload, prev_hash, digest in batch:
            assert prev_hash == prev and _raw_link(seq, at, actor, ref, kind, payload, prev_hash) == digest
            prev, count = digest, count + 1
    db.close()
    return count


def raw_export(path: str) -> int:
    db = sqlite3.connect(path)
    cursor = db.execute("SELECT seq, at, actor, change_ref, event_type, payload, prev_hash, hash "
                        "FROM audit_events ORDER BY seq")
    out, size = io.StringIO(), 0
    writer = csv.writer(out)
    writer.writerow(("seq", "at", "actor", "change_ref", "event_type", "payload", "prev_hash", "hash"))
    while batch := cursor.fetchmany(5000):
        writer.writerows(batch)
        size += out.tell()
        out.seek(0)
        out.truncate()
    db.close()
    return size


def project_verify(url: str) -> int:
    rt = build_runtime(load_settings(environ={}), database_url=url)
    result = audit_service.verify(rt)
    assert result.ok, result.describe()
    return result.count


def project_export(url: str) -> int:
    rt = build_runtime(load_settings(environ={}), database_url=url)
    return sum(len(chunk) for chunk in audit_service.export(rt, fmt="csv"))


def _child(target, arg, queue) -> None:  # type: ignore[no-untyped-def]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    target(arg)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((time.perf_counter() - start, peak, peak - before))


def timed(target, arg) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """(seconds, peak RSS in MB, its growth during the work) of ``target(arg)`` in a fresh
    interpreter (both sides import the same modules first, so the growth is the work's own)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(target, arg, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def page_p95(url: str, requests: int) -> tuple[float, float]:
    """p95 (ms) of the auditor's page and of /healthz, alternating, in one app."""
    import dataclasses

    from web import create_app

    settings = load_settings(environ={}).replace(web={"secret_key": "bench", "secure_cookies": False})
    rt = build_runtime(settings, database_url=url)
    # The auditor signs in with a password alone here (the bench measures the page, not sign-in).
    app = create_app(dataclasses.replace(rt, roles=dataclasses.replace(rt.roles, mfa_roles=())))
    client = app.test_client()
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": "gwen@bench.school", "password": PASSWORD, "csrf_token": token})
    audit_service.verify(rt)  # the worker's full walk has run once: the page starts at its checkpoint
    audit, health = [], []
    for _ in range(requests):
        for path, times in (("/audit", audit), ("/healthz", health)):
            start = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return statistics.quantiles(audit, n=20)[18], statistics.quantiles(health, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fitsflow-audit-bench-")
    try:
        path = str(Path(folder) / "audit.db")
        url = f"sqlite:///{path}"
        start = time.perf_counter()
        populate(url, path, args.events)
        print(f"{args.events:,} events written in {time.perf_counter() - start:.1f} s")
        for name, project, raw in (("verify", project_verify, raw_verify),
                                   ("export csv", project_export, raw_export)):
            t_project, mb_project, grew_project = timed(project, url)
            t_raw, mb_raw, grew_raw = timed(raw, path)
            print(f"audit {name}: project {args.events / t_project:,.0f} events/s ({t_project:.2f} s, "
                  f"peak RSS {mb_project:.0f} MB, +{grew_project:.0f} MB during the work), "
                  f"raw {args.events / t_raw:,.0f} events/s ({t_raw:.2f} s, peak RSS {mb_raw:.0f} MB, "
                  f"+{grew_raw:.0f} MB)")
            print(f"{name} ratio: {t_raw / t_project:.2f}")
        audit_ms, health_ms = page_p95(url, args.requests)
        print(f"audit page p95 {audit_ms:.1f} ms, /healthz p95 {health_ms:.1f} ms at {args.events:,} events")
        print(f"page ratio: {health_ms / audit_ms:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
