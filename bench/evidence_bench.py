"""The evidence report over a school year (issue 25.5) against the same reads as raw SQL.

The history is bench/realistic_data.py's (model changes driven through the services, cloned in
every table, their audit trail hash-chained), and on it: evidence tags on two in five changes
(a Cyber Essentials security update with its vendor's release day on some), 2,000 assets (a
tenth retired in the year, half of those with their disposal evidence whole), 12 recurrences
with their occurrences over the year, and 400 web-filtering requests. The project side is
``reports.evidence_figures`` for the year (in a read transaction, as the report builds it); the
raw side reads the same rows with the driver alone (sqlite3 / psycopg) in the same run,
interleaved — and does no aggregation, so the ratio is a floor.

    python bench/evidence_bench.py [--changes 5000] [--runs 15]
                                   [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

Prints ``ratio: X.XX`` (raw SQL time ÷ evidence figures time; target ≥ 0.3)."""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import sys
import tempfile
from datetime import datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic_data import build  # noqa: E402
from report_bench import timed  # noqa: E402
from sqlalchemy import insert, make_url, select  # noqa: E402
from web_bench import pg_schema_url  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.domain.templates import parse_ref  # noqa: E402
from fitsflow.persistence.models import (  # noqa: E402
    Asset,
    Change,
    ChangeEvidence,
    FilterRequest,
    Recurrence,
    RecurrenceOccurrence,
    User,
)
from fitsflow.services import evidence, reports  # noqa: E402
from tests import factories as f  # noqa: E402

ASSETS, RECURRENCES, FILTER_REQUESTS = 2000, 12, 400

# The reads evidence_figures makes, as plain SQL over the same range.
RAW = [
    "SELECT c.ref, c.workflow, c.state, e.tags, e.vendor_released_on FROM changes c "
    "JOIN change_evidence e ON e.change_id = c.id WHERE c.updated_at >= :tagged_since AND e.tags != ''",
    "SELECT a.at, a.change_ref, a.payload FROM audit_events a WHERE a.event_type = 'transition' "
    "AND a.at < :at_until AND a.change_ref IN (SELECT c.ref FROM changes c JOIN change_evidence e "
    "ON e.change_id = c.id WHERE c.updated_at >= :tagged_since AND e.tags != '') "
    "ORDER BY a.change_ref, a.seq",
    "SELECT c.ref, r.outcome FROM changes c JOIN reviews r ON r.change_id = c.id "
    "JOIN change_evidence e ON e.change_id = c.id WHERE c.updated_at >= :since AND e.tags LIKE '%tested%'",
    "SELECT count(*) FROM filter_requests WHERE created_at >= :since AND created_at < :until",
    "SELECT decision, count(*) FROM filter_requests WHERE decided_at >= :since AND decided_at < :until "
    "GROUP BY decision ORDER BY decision",
    "SELECT count(*) FROM filter_requests WHERE applied_at >= :since AND applied_at < :until",
    "SELECT (wiped_on IS NOT NULL AND wiped_by != '' AND certificate != '' AND weee != ''), count(*) "
    "FROM assets WHERE retired_at >= :since AND retired_at < :until "
    "GROUP BY (wiped_on IS NOT NULL AND wiped_by != '' AND certificate != '' AND weee != '')",
    "SELECT c.workflow, c.state FROM changes c JOIN recurrence_occurrences o ON o.change_id = c.id "
    "WHERE o.happens_on >= :first AND o.happens_on < :last",
]


def add_evidence(rt: Any, period: reports.Period) -> dict[str, int]:
    """The year's evidence, assets, recurrences and filtering requests, in bulk."""
    rng = random.Random(25)
    tags = sorted(evidence.catalogue(rt))
    now = rt.now()
    school = f.School(rt)  # a requester and the CAB for the recurrences' template
    template_id = parse_ref(f.standard_template(rt, school))
    zone = rt.timezone
    start = datetime.combine(period.start, clock_time(9), zone)
    days = (period.end - period.start).days
    with rt.db.transaction() as session:
        connection = session.connection()
        changes = connection.execute(select(Change.id, Change.created_at)).all()  # type: ignore[call-overload]
        user_ids = [u for (u,) in connection.execute(select(User.id))]  # type: ignore[call-overload]
        rows = []
        for change_id, created in changes:
            if rng.random() < 0.4:
                chosen = rng.sample(tags, rng.choice((1, 1, 2)))
                vendor = (
                    created.date() - timedelta(days=rng.randint(3, 20))
                    if "ce-security-updates" in chosen
                    else None
                )
                rows.append(
                    {
                        "change_id": change_id,
                        "tags": "\n".join(chosen),
                        "vendor_released_on": vendor,
                        "updated_at": now,
                    }
                )
        connection.execute(insert(ChangeEvidence), rows)
        tagged = len(rows)
        assets = []
        for n in range(ASSETS):
            retired = n % 10 == 0
            whole = retired and n % 20 == 0
            at = start + timedelta(days=rng.randrange(days), hours=rng.randrange(8))
            assets.append(
                {
                    "school_id": 1,
                    "tag": f"A-{n:05d}",
                    "tag_key": f"a-{n:05d}",
                    "name": f"Device {n}",
                    "kind": "laptop",
                    "serial": f"SN{n}",
                    "location": "",
                    "status": "retired" if retired else "in_use",
                    "warranty_ends": period.start + timedelta(days=rng.randrange(900)),
                    "licence_ends": None,
                    "subscription_ends": None,
                    "refresh_on": period.start + timedelta(days=rng.randrange(1800)),
                    "created_at": now,
                    "updated_at": now,
                    "retired_at": at if retired else None,
                    "wiped_on": at.date() if whole else None,
                    "wiped_by": "Tech" if whole else "",
                    "certificate": "C" if whole else "",
                    "weee": "W" if whole else "",
                }
            )
        connection.execute(insert(Asset), assets)
        occurrences = 0
        change_ids = [c for c, _ in changes]
        for n in range(RECURRENCES):
            weekly = n % 2 == 0
            recurrence_id = connection.execute(
                insert(Recurrence)
                .values(
                    template_id=template_id,
                    title=f"Routine {n}",
                    rule="FREQ=WEEKLY" if weekly else "FREQ=MONTHLY",
                    first_day=period.start,
                    starts="07:00",
                    minutes=60,
                    on_closed="skip",
                    ahead_days=14,
                    cost=Decimal("0"),
                    requester_id=school.requester,
                    school_id=1,
                    active=True,
                    created_at=now,
                )
                .returning(Recurrence.id)
            ).scalar_one()  # type: ignore[attr-defined]
            step = 7 if weekly else 30
            rows = [
                {
                    "recurrence_id": recurrence_id,
                    "planned_on": period.start + timedelta(days=d),
                    "happens_on": period.start + timedelta(days=d),
                    "change_id": rng.choice(change_ids),
                    "created_at": now,
                }
                for d in range(0, days, step)
            ]
            occurrences += len(rows)
            connection.execute(insert(RecurrenceOccurrence), rows)
        requests = []
        for n in range(FILTER_REQUESTS):
            asked = start + timedelta(days=rng.randrange(days - 5), minutes=n)
            decided = rng.random() < 0.9
            agreed = decided and rng.random() < 0.8
            requests.append(
                {
                    "school_id": 1,
                    "asker_id": rng.choice(user_ids),
                    "created_at": asked,
                    "what": f"site{n}.example",
                    "action": "allow",
                    "why": "Lessons",
                    "for_whom": "Year 9",
                    "until": None,
                    "state": "applied" if agreed else ("refused" if decided else "asked"),
                    "version": 1,
                    "updated_at": asked,
                    "decision": ("agree" if agreed else "refuse") if decided else "",
                    "decided_by": user_ids[0] if decided else None,
                    "decided_at": asked + timedelta(hours=3) if decided else None,
                    "reason": "Reviewed",
                    "applied_by": user_ids[0] if agreed else None,
                    "applied_at": asked + timedelta(days=1) if agreed else None,
                    "withdrawn_reason": "",
                }
            )
        connection.execute(insert(FilterRequest), requests)
    return {
        "tagged changes": tagged,
        "assets": ASSETS,
        "occurrences": occurrences,
        "filtering requests": FILTER_REQUESTS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--postgres", metavar="URL", help="On PostgreSQL (raw side: psycopg), in a schema of its own."
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fitsflow-evidence-bench-")
    path = Path(folder, "bench.db")
    url = pg_schema_url(args.postgres, "bench_evidence") if args.postgres else f"sqlite:///{path}"
    build(url, args.changes, targets=0)
    rt = build_runtime(load_settings(environ={}), database_url=url)
    today = rt.today()
    period = reports.Period(today - timedelta(days=365), today + timedelta(days=1), "the last school year")
    made = add_evidence(rt, period)

    def project() -> reports.EvidenceFigures:
        with rt.db.read() as session:
            return reports.evidence_figures(rt, session, period)

    since, until = reports._moment(rt, period.start), reports._moment(rt, period.end)
    longest = max((t.every_days or 0 for t in evidence.catalogue(rt).values()), default=0)
    end = min(period.end, today + timedelta(days=1))
    tagged_since = min(since, reports._moment(rt, end - timedelta(days=longest + 1)))
    params: dict[str, Any] = {
        "since": since,
        "until": until,
        "tagged_since": tagged_since,
        "at_until": reports._at(rt, max(period.end, end)),
        "first": period.start,
        "last": min(period.end, today),
    }
    if args.postgres:
        import psycopg

        plain = make_url(args.postgres).set(drivername="postgresql")
        raw: Any = psycopg.connect(
            plain.render_as_string(hide_password=False), options="-csearch_path=bench_evidence"
        )
        statements = [re.sub(r":(\w+)", r"%(\1)s", s.replace("%", "%%")) for s in RAW]
    else:
        raw = sqlite3.connect(path)
        statements = RAW
        for key in ("since", "until", "tagged_since"):
            params[key] = params[key].astimezone(reports.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        params["first"], params["last"] = params["first"].isoformat(), params["last"].isoformat()

    def baseline() -> None:
        for statement in statements:
            raw.execute(statement, params).fetchall()
        if args.postgres:
            raw.rollback()  # as the project's read ends its transaction

    figures = project()
    baseline()
    ours, theirs = [], []
    for _ in range(3):  # interleaved, so drift in the machine's speed falls on both
        ours += timed(project, args.runs // 3)
        theirs += timed(baseline, args.runs // 3)
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"{args.changes:,} changes; " + ", ".join(f"{n:,} {what}" for what, n in made.items()))
    print(
        f"the year: {sum(sum(v.values()) for v in figures.evidence.values()):,} tags on changes released, "
        f"{len(figures.update_days)} security updates measured, tests {figures.tests}, "
        f"filtering {figures.filtering}, retired {figures.retired}, "
        f"routine {figures.routine_due} due / {figures.routine_missed} missed"
    )
    print(
        f"evidence figures {statistics.median(ours) * 1000:.1f} ms, "
        f"raw SQL {statistics.median(theirs) * 1000:.1f} ms "
        f"(median of {len(ours)})"
    )
    print(
        f"ratio: {statistics.median(theirs) / statistics.median(ours):.2f} (raw SQL ÷ evidence figures; "
        "target ≥ 0.3)"
    )


if __name__ == "__main__":
    main()
