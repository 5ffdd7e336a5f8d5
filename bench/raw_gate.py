"""The raw baseline: one gate decision as plain driver statements (sqlite3 / psycopg).

It runs what ``fitsflow.services.gates.decide`` runs for a CAB member's final approval,
statement for statement: the same tables, the same kind of statement, as many and in
the same order, in one transaction (``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL the
change's row and the audit head locked ``FOR UPDATE``). The checks (active user with
the role, not an owner, not yet decided, the round's requirements, no freeze or caution
period over the window, the window still far enough ahead) and the hashing are plain
Python. tests/test_gate_bench_fair.py compares the statements with the project's.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from fitsflow.domain.chain import canonical, link_hash

# What the bench decides: a CAB member's approval completing the implement gate.
GATE, ROLE, SOURCE, DEST, TRIGGER = "implement", "cab", "implement_approval", "approved", "approve_implement"
GATE_TITLE, DEST_TITLE = "Approval to implement", "Approved"
# The school's calendar settings as the bench's configuration has them.
ZONE = ZoneInfo("Europe/London")
PUBLISH_AT = clock_time(8, 0)
SHORTEST_LEAD_DAYS = 0  # school days' notice the quickest audience needs
NOT_SCHOOL_DAYS = ("half_term", "holiday", "inset")

_STATEMENTS = {
    "actor": ("SELECT u.id, u.name, u.email, u.active, r.role, u.must_change_password, u.totp_enabled_at, "
              "u.mfa_exempt, m.school_id, (SELECT count(*) FROM schools) AS schools FROM users u "
              "LEFT JOIN user_roles r ON r.user_id = u.id LEFT JOIN school_members m ON m.user_id = u.id "
              "WHERE u.id = {p}"),
    "change": ("SELECT id, ref, title, requester_id, affected_services, state, version, approval_round "
               "FROM changes WHERE ref = {p}{lock}"),
    "holder": "SELECT user_id FROM change_holders WHERE change_id = {p} AND user_id = {p}",
    "needs": ("SELECT role, needed FROM gate_requirements "
              "WHERE change_id = {p} AND gate = {p} AND round = {p}"),
    "votes": ("SELECT approver_id, role, decision, acted_by FROM approvals "
              "WHERE change_id = {p} AND gate = {p} AND round = {p}"),
    "plan": ("SELECT window_start, window_end, backout_plan, test_plan, risk, risk_answers, impact, "
             "training, contact FROM release_plans WHERE change_id = {p}"),
    "periods": ("SELECT kind, starts_at, ends_at, effect FROM calendar_periods "
                "WHERE school_id IS NULL OR school_id = {p}"),
    "insert_approval": ("INSERT INTO approvals (change_id, gate, round, approver_id, role, decision, "
                        "comment, decided_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
    "head": "SELECT seq, hash FROM audit_head WHERE id = 1{lock}",
    "forget_snapshot": "DELETE FROM approved_snapshots WHERE change_id = {p} AND gate = {p}",
    "keep_snapshot": ("INSERT INTO approved_snapshots (change_id, gate, round, digest, snapshot, active, "
                      "acknowledge, approved_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, '', {p})"),
    "recipients": ("SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id "
                   "WHERE r.role = {p} AND u.active AND EXISTS (SELECT * FROM school_members m "
                   "WHERE m.user_id = r.user_id AND m.school_id = {p})"),
    "insert_outbox": ("INSERT INTO outbox (created_at, event, change_ref, channel, recipient_id, subject, "
                      "body, payload, status, attempts, available_at, last_error) "
                      "VALUES ({p}, 'decided', {p}, 'person', {p}, {p}, {p}, {p}, 'pending', 0, {p}, '')"),
    "update_change": ("UPDATE changes SET state = {p}, version = version + 1, updated_at = {p} "
                      "WHERE id = {p} AND version = {p}"),
    "insert_audit": ("INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, prev_hash, "
                     "hash) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
    # Events about one change move no cached read's version (those read their range's changes).
    "update_head": "UPDATE audit_head SET seq = {p}, hash = {p} WHERE id = 1",
}


@dataclass(frozen=True)
class Dialect:
    sql: dict[str, str]
    now: Callable[[], Any]  # a timestamp as the driver stores it
    when: Callable[[Any], datetime]  # a stored timestamp as an aware datetime


def _sqlite_when(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


SQLITE = Dialect({k: v.format(p="?", lock="") for k, v in _STATEMENTS.items()},
                 now=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), when=_sqlite_when)
POSTGRES = Dialect({k: v.format(p="%s", lock=" FOR UPDATE") for k, v in _STATEMENTS.items()},
                   now=lambda: datetime.now(UTC), when=lambda value: value.astimezone(UTC))


class Refused(Exception):
    """The decision is not allowed (the project would raise NotPermitted or GateNotSatisfied)."""


def _days(start: datetime, end: datetime) -> tuple[date, date]:
    return start.astimezone(ZONE).date(), (end - timedelta(microseconds=1)).astimezone(ZONE).date()


def _timely(window_start: datetime, now: datetime, terms: list[tuple[date, date]],
            closed: list[tuple[date, date]]) -> bool:
    """The window is ahead, and the quickest notice can still be published on its day."""
    if window_start <= now:
        return False

    def school_day(day: date) -> bool:
        if day.weekday() >= 5 or any(a <= day <= b for a, b in closed):
            return False
        return not terms or any(a <= day <= b for a, b in terms)

    def on_or_before(day: date) -> date:
        for _ in range(400):
            if school_day(day):
                break
            day -= timedelta(days=1)
        return day

    local = window_start.astimezone(ZONE)
    day = local.date()
    if not (school_day(day) and local.time() >= PUBLISH_AT):
        day = on_or_before(day - timedelta(days=1))
    for _ in range(SHORTEST_LEAD_DAYS):
        day = on_or_before(day - timedelta(days=1))
    return day >= now.astimezone(ZONE).date()


def decide(cur: Any, d: Dialect, ref: str, approver: int) -> None:
    """One final approval, in the caller's transaction: what ``gates.decide`` runs, in its order."""
    q = d.sql
    cur.execute(q["actor"], (approver,))
    rows = cur.fetchall()
    if not rows or not rows[0][3]:
        raise Refused("unknown or inactive user")
    _, name, email = rows[0][:3]
    if ROLE not in {r[4] for r in rows}:
        raise Refused("not a CAB member")
    cur.execute(q["change"], (ref,))
    change_id, ref, title, requester, services, state, version, round_ = cur.fetchone()
    if state != SOURCE:
        raise Refused(f"{ref} is not at the {GATE} gate")
    if approver == requester:
        raise Refused("an owner may not decide")
    cur.execute(q["holder"], (change_id, approver))  # a co-owner, now or before
    if cur.fetchone():
        raise Refused("an owner may not decide")
    cur.execute(q["needs"], (change_id, GATE, round_))
    needs = {role: needed for role, needed in cur.fetchall()}
    cur.execute(q["votes"], (change_id, GATE, round_))
    votes = cur.fetchall()
    if ROLE not in needs or any(v[0] == approver for v in votes):
        raise Refused("not asked, or decided already")
    cur.execute(q["plan"], (change_id,))
    start, end, backout, test_plan, risk, answers, impact, training, contact = cur.fetchone()
    start, end = d.when(start), d.when(end)
    cur.execute(q["periods"], (1,))
    periods = [(kind, d.when(a), d.when(b), effect) for kind, a, b, effect in cur.fetchall()]
    if any(effect in ("freeze", "caution") and a < end and start < b for _, a, b, effect in periods):
        raise Refused("the window is in a freeze or a caution period")
    terms = [_days(a, b) for kind, a, b, _ in periods if kind == "term"]
    closed = [_days(a, b) for kind, a, b, _ in periods if kind in NOT_SCHOOL_DAYS]
    if not _timely(start, datetime.now(UTC), terms, closed):
        raise Refused("the window is too soon")
    counts = {role: sum(1 for v in votes if v[1] == role and v[2] == "approve") for role in needs}
    counts[ROLE] += 1
    if any(counts[role] < needed for role, needed in needs.items()):
        raise Refused("the bench covers a decision that passes its gate")
    stamp = d.now()
    cur.execute(q["insert_approval"], (change_id, GATE, round_, approver, ROLE, "approve", "", stamp))
    cur.execute(q["head"])
    seq, prev = cur.fetchone()
    values = {"release_plan.window_start": start.isoformat(), "release_plan.window_end": end.isoformat(),
              "release_plan.backout_plan": backout, "release_plan.test_plan": test_plan,
              "release_plan.risk": risk,
              "release_plan.risk_answers": dict(sorted(json.loads(answers).items())),
              "release_plan.impact": impact, "release_plan.training": training,
              "release_plan.contact": contact, "services": sorted(s for s in services.split("\n") if s)}
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    events = []
    for event_type, payload in (
            ("approval.decided", {"gate": GATE, "round": round_, "role": ROLE, "decision": "approve",
                                  "comment": "", "digest": digest}),
            ("transition", {"trigger": TRIGGER, "from": state, "to": DEST, "gate": GATE})):
        seq += 1
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        text = canonical(payload)
        link = link_hash(seq=seq, at=at, actor=email, change_ref=ref, event_type=event_type,
                         payload=text, prev_hash=prev)
        events.append((seq, at, email, ref, event_type, text, prev, link))
        prev = link
    cur.execute(q["forget_snapshot"], (change_id, GATE))
    cur.execute(q["keep_snapshot"], (change_id, GATE, round_, digest, json.dumps(values, sort_keys=True),
                                     True, stamp))
    cur.execute(q["recipients"], (ROLE, 1))
    decided = {v[0] for v in votes} | {approver}
    people = list(dict.fromkeys([requester, *(r[0] for r in cur.fetchall() if r[0] not in decided)]))
    subject = f"[{ref}] Approved: {title}"[:300]
    body = (f"{ref}: {title}\nState: {DEST_TITLE}\nBy: {name}\n{GATE_TITLE}: approved by {name} — "
            "the gate is passed and the change moves on")
    message = json.dumps({"event": "decided", "ref": ref, "state": DEST, "link": f"/changes/{ref}"},
                         sort_keys=True)
    cur.executemany(q["insert_outbox"], [(stamp, ref, uid, subject, body, message, stamp)
                                         for uid in people if uid != approver])
    cur.execute(q["update_change"], (DEST, stamp, change_id, version))
    if cur.rowcount != 1:
        raise Refused(f"{ref} changed meanwhile")
    cur.executemany(q["insert_audit"], events)
    cur.execute(q["update_head"], (seq, prev))


# Seconds each COMMIT took (the database's wait for the disk), for gate_bench to print.
COMMITS: list[float] = []


def connect_sqlite(url: str) -> sqlite3.Connection:
    """A connection as the project's engine makes it (WAL, busy timeout, synchronous=FULL)."""
    connection = sqlite3.connect(make_url(url).database or "", isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=FULL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def decide_sqlite(cur: sqlite3.Cursor, ref: str, approver: int) -> None:
    """One decision in its own write transaction (the write lock taken at BEGIN)."""
    cur.execute("BEGIN IMMEDIATE")
    try:
        decide(cur, SQLITE, ref, approver)
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    committing = time.perf_counter()
    cur.execute("COMMIT")
    COMMITS.append(time.perf_counter() - committing)


def connect_postgres(url: str, **kwargs: Any) -> Any:
    """A psycopg connection to the URL's database and schema (``options`` kept)."""
    import psycopg

    parsed = make_url(url)
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    options = parsed.query.get("options")
    return psycopg.connect(conninfo, options=options if isinstance(options, str) else None, **kwargs)


def decide_postgres(connection: Any, ref: str, approver: int) -> None:
    """One decision in its own transaction."""
    with connection.transaction(), connection.cursor() as cur:
        decide(cur, POSTGRES, ref, approver)
        committing = time.perf_counter()
    COMMITS.append(time.perf_counter() - committing)


def run_sqlite(url: str, refs: list[str], approver: int) -> float:
    connection = connect_sqlite(url)
    cur = connection.cursor()
    start = time.perf_counter()
    for ref in refs:
        decide_sqlite(cur, ref, approver)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def run_postgres(url: str, refs: list[str], approver: int) -> float:
    connection = connect_postgres(url)
    start = time.perf_counter()
    for ref in refs:
        decide_postgres(connection, ref, approver)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed
