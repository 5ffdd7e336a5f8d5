"""Issue 24's benchmark: a trust of many schools against one school of the same size, each
under ``fitsflow serve``, measured in interleaved blocks. The trust is bench/realistic_data.py's
history of ``schools × per_school`` changes (with their audit events, approvals, notices, inbox
items) spread evenly over ``schools`` schools; the single school is the same history at
``per_school`` changes. Measured, one request at a time, between two rounds of /healthz:

- a school user's home page (the network manager, of the first school only),
- their search (``/changes?q=projector``),
- the trust CAB's approvals queue (a CAB member with the trust CAB role: every school's).

    python bench/trust_bench.py [--schools 50] [--per-school 2000] [--blocks 3] [--requests 200]
                                [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]

On PostgreSQL the application connects as a role that owns its schema and is not a superuser
(no policy binds a superuser), so row-level security (migration 0054) is in force as in a
real installation. Prints ``ratio:`` lines: for each page /healthz p95 ÷ page p95 in the
trust (targets: home ≥ 0.2, search ≥ 0.1, approvals ≥ 0.15), and page p95 in the trust ÷ in
the single school (growth, target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realistic_data import PASSWORD, build, settle  # noqa: E402
from sqlalchemy import create_engine, make_url, text  # noqa: E402
from web_bench import free_port, latencies, p95, sign_in, start_server, stop_served  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.domain import totp  # noqa: E402
from fitsflow.services import mfa, schools, users  # noqa: E402

ROLE = "fitsflow_bench_owner"
TARGETS = {"home": 0.2, "search": 0.1, "approvals": 0.15}
PAGES = (("home", "manager", "/"), ("search", "manager", "/changes?q=projector"),
         ("approvals", "trustcab", "/approvals"))


def owned_schema_url(url: str, schema: str) -> str:
    """A schema owned by a login role that is not a superuser, made again empty, and the URL
    connecting as that role with its search_path there."""
    with create_engine(url).begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": ROLE}).first()
        if exists is None:
            connection.execute(text(f"CREATE ROLE {ROLE} LOGIN NOSUPERUSER"))
        connection.execute(text(f"CREATE SCHEMA {schema} AUTHORIZATION {ROLE}"))
    full = make_url(url).set(username=ROLE).update_query_dict({"options": f"-csearch_path={schema}"})
    return full.render_as_string(hide_password=False)


def spread(url: str, count: int) -> int:
    """Make ``count`` schools of the history: every change (and its notices) goes to one of
    them in turn; the trust CAB member joins. A change is raised by someone of its school (the
    product refuses any other), so the history's changes at each other school pass to that
    school's own network manager, with what the history's requesters were told about them
    (their inbox): the first school's people keep theirs, as many as in the single school of
    the same size. Returns the trust CAB member's id."""
    rt = build_runtime(load_settings(environ={}), database_url=url)
    try:
        for n in range(2, count + 1):
            schools.add_school(rt, slug=f"school-{n}", name=f"School {n}")
        others = {n: users.add_user(rt, name=f"Network manager {n}", email=f"manager{n}@bench.school",
                                    roles="requester", password=PASSWORD) for n in range(2, count + 1)}
        for n in others:
            schools.set_user_schools(rt, email=f"manager{n}@bench.school", slugs=[f"school-{n}"])
        with rt.db.transaction() as session:
            connection = session.connection()
            if count > 1:
                told = text("SELECT DISTINCT requester_id FROM changes")
                requesters = connection.execute(told).scalars().all()
                connection.execute(text("UPDATE changes SET school_id = 1 + ((id - 1) % :n)"), {"n": count})
                connection.execute(text("UPDATE release_notices SET school_id = (SELECT changes.school_id "
                                        "FROM changes WHERE changes.id = release_notices.change_id)"))
                for n, uid in others.items():
                    connection.execute(text("UPDATE changes SET requester_id = :uid WHERE school_id = :n"),
                                       {"uid": uid, "n": n})
                # What a requester was told about a change at another school was told to that
                # school's manager (the product tells only people of the change's school).
                connection.execute(text(
                    "UPDATE inbox_items SET user_id = (SELECT c.requester_id FROM changes c "
                    "WHERE c.ref = inbox_items.change_ref) WHERE change_ref != '' AND user_id IN "
                    f"({', '.join(str(int(r)) for r in requesters)}) AND EXISTS (SELECT 1 FROM changes c "
                    "WHERE c.ref = inbox_items.change_ref AND c.school_id != 1)"))
        settle(rt)
        uid = users.add_user(rt, name="Trust CAB member", email="trustcab@bench.school",
                             roles="cab trust_cab", audiences="support", password=PASSWORD)
        secret = mfa.begin_enrolment(rt, user_id=uid).secret
        mfa.confirm_enrolment(rt, user_id=uid, code=totp.code_at(secret, datetime.now(UTC)))
        SECRETS[url] = secret
        return uid
    finally:
        rt.db.dispose()


SECRETS: dict[str, str] = {}  # the trust CAB member's authenticator secret, by database


class Served:
    def __init__(self, name: str, school_count: int, per_school: int, postgres: str | None):
        self.name = name
        self.folder = tempfile.mkdtemp(prefix="fitsflow-trust-bench-")
        self.schema = f"bench_trust_{school_count}"
        self.postgres = postgres
        url = owned_schema_url(postgres, self.schema) if postgres else f"sqlite:///{self.folder}/bench.db"
        start = time.perf_counter()
        built = build(url, school_count * per_school, targets=0, log=lambda *a: None)
        spread(url, school_count)
        print(f"{name}: {school_count} school(s) × {per_school:,} changes built in "
              f"{time.perf_counter() - start:.0f} s; rows: "
              f"{', '.join(f'{k} {v:,}' for k, v in built.counts.items())}", flush=True)
        self.port = free_port()
        self.server = start_server(url, self.port, self.folder)
        people = built.people
        self.cookies = {"manager": sign_in(self.port, people.emails["manager"])[0],
                        "trustcab": sign_in(self.port, "trustcab@bench.school", SECRETS[url])[0]}
        self.blocks: list[dict[str, float]] = []

    def measure(self, n: int) -> None:
        port = self.port
        out: dict[str, float] = {}
        healthz = latencies(port, "/healthz", {}, n, [])
        for name, who, path in PAGES:
            headers = {"Cookie": self.cookies[who]}
            latencies(port, path, headers, 5)  # warm up
            out[name] = p95(latencies(port, path, headers, n, seconds=15))
        healthz += latencies(port, "/healthz", {}, n, [])
        out["healthz"] = p95(healthz)
        self.blocks.append(out)

    def median(self, key: str) -> float:
        values = sorted(b[key] for b in self.blocks)
        return values[len(values) // 2]

    def stop(self) -> None:
        stop_served(self.server, self.folder, self.postgres, self.schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--per-school", type=int, default=2000)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres", metavar="URL", help="Measure on PostgreSQL (default: SQLite).")
    args = parser.parse_args()
    trust = Served("trust", args.schools, args.per_school, args.postgres)
    single = Served("single school", 1, args.per_school, args.postgres)
    try:
        for block in range(args.blocks):
            for served in (trust, single):
                served.measure(args.requests)
            print(f"block {block + 1}: " + "; ".join(
                f"{s.name} " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in s.blocks[-1].items())
                for s in (trust, single)), flush=True)
    finally:
        trust.stop()
        single.stop()
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}; p95 medians of {args.blocks} blocks")
    for name, _, path in PAGES:
        in_trust, alone = trust.median(name), single.median(name)
        print(f"{name} ({path}): trust {in_trust * 1000:.1f} ms, single school {alone * 1000:.1f} ms, "
              f"/healthz {trust.median('healthz') * 1000:.1f} ms")
        print(f"ratio: {name} /healthz ÷ page (trust) {trust.median('healthz') / in_trust:.2f} "
              f"(target ≥ {TARGETS[name]})")
        print(f"ratio: {name} growth trust ÷ single school {in_trust / alone:.2f} (target ≤ 1.5)")


if __name__ == "__main__":
    main()
