"""Benchmark set-up: a school and N changes waiting at the implement gate."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.persistence.models import (  # noqa: E402
    Change,
    CostLine,
    GateRequirement,
    NeedsAnalysis,
    ReleasePlan,
)
from fitsflow.services.runtime import Runtime  # noqa: E402
from tests import factories as f  # noqa: E402


def pg_schema_url(url: str, schema: str) -> str:
    full = make_url(url).update_query_dict({"options": f"-csearch_path=bench_{schema}"})
    return full.render_as_string(hide_password=False)


def _runtime(url: str) -> Runtime:
    rt = build_runtime(load_settings(environ={}), database_url=url)
    if rt.db.dialect == "postgresql":
        schema = make_url(url).query["options"].split("=", 1)[1]  # type: ignore[union-attr]
        with rt.db.engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    rt.db.create_all()
    return rt


# What a change waiting at a gate holds besides its row: its stage data and the round's
# approvers as the policy computed them when the round opened.
SATELLITES = (NeedsAnalysis, CostLine, ReleasePlan, GateRequirement)


def prepare(url: str, n: int) -> tuple[Runtime, list[str], int]:
    """N copies of one minor change at the implement gate (with its stage data and the
    round's stored approvers); 3 CAB members, 1 decides."""
    rt = _runtime(url)
    school = f.School(rt)
    third = f.user(rt, "cab", "", "CAB 2")
    ref = f.change_in(rt, school, "minor", "implement_approval")
    with rt.db.transaction() as session:
        source = session.exec(select(Change).where(Change.ref == ref)).one()
        values = source.model_dump(exclude={"id", "ref"})
        rows = [{**values, "ref": f"BENCH-{i:07d}"} for i in range(n - 1)]
        session.execute(Change.__table__.insert(), rows)  # type: ignore[attr-defined]
        ids = session.exec(select(Change.id).where(col(Change.ref).like("BENCH-%"))).all()
        for model in SATELLITES:
            found = session.exec(select(model).where(model.change_id == source.id)).all()  # type: ignore[attr-defined]
            copies = [{**row.model_dump(exclude={"id"}), "change_id": cid} for cid in ids for row in found]
            if copies:
                session.execute(model.__table__.insert(), copies)  # type: ignore[attr-defined]
    assert third
    return rt, [ref] + [r["ref"] for r in rows], school.cab[0]


def cycle_prepare(url: str) -> tuple[Runtime, list[str], int, int]:
    """A few changes in release planning, to cycle submit → reject forever."""
    rt = _runtime(url)
    school = f.School(rt)
    refs = [f.change_in(rt, school, "minor", "release_planning") for _ in range(4)]
    for ref in refs:
        f.fill_stages(rt, school.requester, ref, ("release_plan",))
    return rt, refs, school.requester, school.cab[0]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


__all__ = ["prepare", "cycle_prepare", "rss_mb", "pg_schema_url"]
