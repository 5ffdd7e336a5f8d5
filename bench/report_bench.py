"""The report for SLT and governors over a school's history of 5,000 changes (built as
bench/realistic_data.py builds the web bench's: model changes driven through the services,
cloned in every table), against the same reads done as raw SQL through sqlite3 in the same
run; the reports page p95 against /healthz p95 (Flask's test client, in-process; a report is
kept while nothing is recorded, so the first view, which builds it, is printed too); and the
governors' PDF, rendered, its wall time (a README figure, not a target).

    python bench/report_bench.py [--changes 5000] [--runs 15]
                                 [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints ``ratio:`` lines: raw SQL time ÷ report time (target ≥ 0.3) and /healthz p95 ÷ reports
page p95 (target ≥ 0.1)."""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fitsflow.web import create_app  # noqa: E402
from realistic_data import PASSWORD, build  # noqa: E402
from sqlalchemy import make_url  # noqa: E402
from web_bench import pg_schema_url  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.services import governors_pdf, reports  # noqa: E402

# The reads the report makes, written out as plain SQL over the same range.
RAW = [
    "SELECT c.id, c.ref, c.category, c.workflow, c.state, r.outcome FROM changes c "
    "LEFT JOIN reviews r ON r.change_id = c.id WHERE c.created_at >= :since AND c.created_at < :until",
    "SELECT at, change_ref, event_type, payload FROM audit_events WHERE at >= :at_since "
    "AND at < :at_until AND event_type IN ('transition', 'freeze.overridden', 'clash.accepted', "
    "'caution.accepted') ORDER BY seq",
    "SELECT f.grp, avg(meets_need), avg(disruption), avg(training), avg(communication) "
    "FROM review_feedback f JOIN changes c ON c.id = f.change_id "
    "WHERE c.created_at >= :since AND c.created_at < :until "
    "AND f.answered_at IS NOT NULL GROUP BY f.grp",
    "SELECT n.audience, count(r.id), count(r.acknowledged_at) FROM release_notices n JOIN notice_receipts r "
    "ON r.notice_id = n.id WHERE n.published_at >= :since AND n.published_at < :until GROUP BY n.audience",
    "SELECT m.result, count(*) FROM success_measures m JOIN changes c ON c.id = m.change_id "
    "WHERE c.created_at >= :since AND c.created_at < :until GROUP BY m.result",
    "SELECT c.workflow, c.state, c.created_at, l.year_offset, l.kind, l.funding_source, l.actual, "
    "sum(l.amount) FROM changes c JOIN cost_lines l ON l.change_id = c.id "
    "JOIN (SELECT DISTINCT change_id FROM approvals "
    "WHERE decision = 'approve') a ON a.change_id = c.id GROUP BY c.workflow, c.state, c.created_at, "
    "l.year_offset, l.kind, l.funding_source, l.actual",
    "SELECT status, count(*) FROM proposals WHERE created_at >= :since AND created_at < :until "
    "GROUP BY status",
]


def timed(run, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--postgres", metavar="URL", help="On PostgreSQL (raw side: psycopg), in a schema of its own."
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fitsflow-report-bench-")
    path = Path(folder, "bench.db")
    url = pg_schema_url(args.postgres, "bench_report") if args.postgres else f"sqlite:///{path}"
    built = build(url, args.changes, targets=0)
    rt = build_runtime(load_settings(environ={}), database_url=url)
    with rt.db.read() as session:
        first = session.connection().exec_driver_sql("SELECT min(created_at) FROM changes").scalar()
    from datetime import date, datetime

    start = (datetime.fromisoformat(str(first)) if not isinstance(first, datetime) else first).date()
    period = reports.Period(start, date.today().replace(year=date.today().year + 1), "bench")

    def project() -> None:
        with rt.db.read() as session:
            reports.build(rt, session, period)

    since, until = reports._moment(rt, period.start), reports._moment(rt, period.end)
    if args.postgres:
        import psycopg

        plain = make_url(args.postgres).set(drivername="postgresql")
        raw: Any = psycopg.connect(
            plain.render_as_string(hide_password=False), options="-csearch_path=bench_report"
        )
        statements = [re.sub(r":(\w+)", r"%(\1)s", s) for s in RAW]
        params: dict[str, Any] = {"since": since, "until": until}
    else:
        raw = sqlite3.connect(path)
        statements = RAW
        params = {
            "since": since.astimezone(reports.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
            "until": until.astimezone(reports.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        }
    params.update(at_since=reports._at(rt, period.start), at_until=reports._at(rt, period.end))

    def baseline() -> None:
        for statement in statements:
            raw.execute(statement, params).fetchall()
        if args.postgres:
            raw.rollback()  # as the project's read ends its transaction

    project()
    baseline()
    ours, theirs = [], []
    for _ in range(3):  # interleaved, so drift in the machine's speed falls on both
        ours += timed(project, args.runs // 3)
        theirs += timed(baseline, args.runs // 3)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    with rt.db.read() as session:
        report = reports.build(rt, session, period)
    print(f"{args.changes:,} changes: {report.raised:,} raised in the period, {len(report.spend)} spend rows")
    print(
        f"report {statistics.median(ours) * 1000:.1f} ms, raw SQL {statistics.median(theirs) * 1000:.1f} ms "
        f"(median of {len(ours)})"
    )
    print(
        f"ratio: {statistics.median(theirs) / statistics.median(ours):.2f} (raw SQL ÷ report; target ≥ 0.3)"
    )

    app = create_app(rt, {"TESTING": True})
    client = app.test_client()
    email = built.people.emails["auditor"]
    page = client.get("/login")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    query = f"/reports?start={period.start.isoformat()}&end={date.today().isoformat()}"
    cold = time.perf_counter()
    assert client.get(query).status_code == 200
    cold = time.perf_counter() - cold

    def p95(path: str) -> float:
        values = sorted(timed(lambda: client.get(path), args.runs * 2))
        return values[int(0.95 * (len(values) - 1))]

    health, page_time = p95("/healthz"), p95(query)
    print(f"p95: /healthz {health * 1000:.1f} ms, reports page {page_time * 1000:.1f} ms")
    print(
        f"reports page: first view {cold * 1000:.0f} ms (built); later views are the report kept while the "
        "audit trail's head stays where it was"
    )
    print(f"ratio: {health / page_time:.2f} (/healthz p95 ÷ reports page p95; target ≥ 0.1)")
    start_pdf = time.perf_counter()
    body = governors_pdf.render(report, school=rt.settings.school.name, money=rt.money)
    print(f"governors' PDF: {len(body):,} bytes in {time.perf_counter() - start_pdf:.2f} s")


if __name__ == "__main__":
    main()
