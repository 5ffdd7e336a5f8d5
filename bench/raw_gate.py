"""The raw baseline: one gate transaction as plain driver statements."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from fitsflow.domain.chain import canonical, link_hash

_STATEMENTS = {
    "user": "SELECT id, name, email, active FROM users WHERE id = {p}",
    "roles": "SELECT role FROM user_roles WHERE user_id = {p}",
    "change": ("SELECT id, ref, state, version, approval_round, category, requester_id, title "
               "FROM changes WHERE ref = {p}"),
    "approvals": ("SELECT id, approver_id, role, decision FROM approvals "
                  "WHERE change_id = {p} AND gate = {p} AND round = {p}"),
    "insert_approval": ("INSERT INTO approvals (change_id, gate, round, approver_id, role, decision, "
                        "comment, decided_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
    "head": "SELECT seq, hash FROM audit_head WHERE id = 1{lock}",
    "insert_audit": ("INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, "
                     "prev_hash, hash) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
    "update_head": "UPDATE audit_head SET seq = {p}, hash = {p} WHERE id = 1",
    "update_change": ("UPDATE changes SET state = {p}, version = version + 1, updated_at = {p} "
                      "WHERE id = {p} AND version = {p}"),
    "recipients": ("SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id "
                   "WHERE r.role = {p} AND u.active"),
    "insert_outbox": ("INSERT INTO outbox (created_at, event, change_ref, recipient_id, subject, body, "
                      "payload, status, attempts, available_at, last_error, channel) "
                      "VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 'pending', 0, {p}, '', 'person')"),
}


def _sql(placeholder: str, lock: str) -> dict[str, str]:
    return {k: v.format(p=placeholder, lock=lock) for k, v in _STATEMENTS.items()}


def _one(cur, q: dict[str, str], ref: str, approver: int, now) -> None:  # type: ignore[no-untyped-def]
    cur.execute(q["user"], (approver,))
    user = cur.fetchone()
    cur.execute(q["roles"], (approver,))
    roles = {r[0] for r in cur.fetchall()}
    assert "cab" in roles
    cur.execute(q["change"], (ref,))
    change_id, ref, state, version, round_, category, requester, title = cur.fetchone()
    cur.execute(q["approvals"], (change_id, "implement", round_))
    cur.fetchall()
    stamp = now()
    cur.execute(q["insert_approval"], (change_id, "implement", round_, approver, "cab", "approve", "",
                                       stamp))
    cur.execute(q["head"])
    seq, prev = cur.fetchone()
    events = [("approval.decided", {"gate": "implement", "round": round_, "role": "cab",
                                    "decision": "approve", "comment": ""}),
              ("transition", {"trigger": "approve_implement", "from": state, "to": "approved",
                              "gate": "implement"})]
    for event_type, payload in events:
        seq += 1
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        text = canonical(payload)
        digest = link_hash(seq=seq, at=at, actor=user[2], change_ref=ref, event_type=event_type,
                           payload=text, prev_hash=prev)
        cur.execute(q["insert_audit"], (seq, at, user[2], ref, event_type, text, prev, digest))
        prev = digest
    cur.execute(q["update_head"], (seq, prev))
    cur.execute(q["update_change"], ("approved", stamp, change_id, version))
    assert cur.rowcount == 1
    cur.execute(q["recipients"], ("cab",))
    people = [requester] + [r[0] for r in cur.fetchall() if r[0] != approver]
    subject = f"[{ref}] Decision recorded: {title}"
    body = f"{ref}: {title}\nState: approved\nOpen: /changes/{ref}"
    payload = canonical({"event": "decided", "ref": ref, "state": "approved", "link": f"/changes/{ref}"})
    cur.executemany(q["insert_outbox"], [(stamp, "decided", ref, uid, subject, body, payload, stamp)
                                         for uid in people[:3]])


def run_sqlite(url: str, refs: list[str], approver: int) -> float:
    path = make_url(url).database
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=FULL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    q = _sql("?", "")
    cur = connection.cursor()

    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    start = time.perf_counter()
    for ref in refs:
        cur.execute("BEGIN IMMEDIATE")
        _one(cur, q, ref, approver, now)
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def run_postgres(url: str, refs: list[str], approver: int) -> float:
    import psycopg

    parsed = make_url(url)
    options = parsed.query.get("options")
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    connection = psycopg.connect(conninfo, options=options)
    q = _sql("%s", " FOR UPDATE")

    def now() -> datetime:
        return datetime.now(UTC)

    start = time.perf_counter()
    for ref in refs:
        with connection.transaction(), connection.cursor() as cur:
            _one(cur, q, ref, approver, now)
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed
