"""Publishing one release to 5,000 recipients, against a raw executemany of the same
rows (receipts and outbox rows, with the real subject and body) in the same run; then
delivery of those notices by email to a local SMTP server, against raw smtplib sending the
same messages (same headers and parts) over one connection per batch, with the same inbox
rows and one commit per batch.

    python bench/notice_bench.py [--recipients 5000] [--mails 500]

Prints ``delivery ratio: X.XX`` and, last, ``ratio: X.XX`` (project ÷ raw throughput of
publishing).
"""

from __future__ import annotations

import argparse
import json
import shutil
import smtplib
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.delivery.worker import Worker  # noqa: E402
from fitsflow.persistence.migrate import upgrade  # noqa: E402
from fitsflow.persistence.models import ReleaseNotice, User, UserAudience  # noqa: E402
from fitsflow.services import notices  # noqa: E402
from tests import factories as f  # noqa: E402
from tests.smtp_support import SmtpServer  # noqa: E402


def school_with_staff(url: str, people: int, smtp: dict | None = None):  # type: ignore[no-untyped-def]
    settings = load_settings(environ={})
    if smtp:
        settings = settings.replace(smtp=smtp)
    rt = build_runtime(settings, database_url=url)
    upgrade(rt.db)
    school = f.School(rt)
    now = datetime.now(UTC)
    with rt.db.transaction() as session:
        users = User.__table__  # type: ignore[attr-defined]
        first = session.execute(select(users.c.id).order_by(users.c.id.desc()).limit(1)).scalar_one() + 1
        session.execute(insert(users), [{"id": first + i, "name": f"Staff {i}", "email": f"s{i}@bench.school",
                                         "active": True, "created_at": now}
                                        for i in range(people)])
        session.execute(insert(UserAudience.__table__), [  # type: ignore[attr-defined]
            {"user_id": first + i, "audience": "staff"} for i in range(people)])
    ref = f.change_in(rt, school, "minor", "scheduled")
    return rt, ref


def project(people: int, folder: str) -> tuple[float, int]:
    rt, ref = school_with_staff(f"sqlite:///{folder}/project.db", people)
    far = datetime(2100, 1, 1, tzinfo=UTC)
    start = time.perf_counter()
    notices.publish_due(rt, now=far)
    elapsed = time.perf_counter() - start
    with rt.db.read() as session:
        staff = session.execute(select(ReleaseNotice.recipients)
                                .where(ReleaseNotice.audience == "staff")).scalar_one()
    rt.db.dispose()
    return elapsed, staff


def raw(people: int, folder: str) -> float:
    """The same rows as one executemany each, with the same pragmas."""
    rt, ref = school_with_staff(f"sqlite:///{folder}/raw.db", people)
    rt.db.dispose()
    db = sqlite3.connect(f"{folder}/raw.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=FULL", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    notice_id, change_id, subject, body = db.execute(
        "SELECT id, change_id, subject, body FROM release_notices WHERE audience='staff'").fetchone()
    payload = json.dumps({"link": f"/notices/{notice_id}"})
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    start = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    ids = [r[0] for r in db.execute("SELECT user_id FROM user_audiences WHERE audience='staff'")]
    db.executemany("INSERT INTO notice_receipts (change_id, notice_id, user_id, created_at) VALUES (?,?,?,?)",
                   [(change_id, notice_id, uid, stamp) for uid in ids])
    db.executemany("INSERT INTO outbox (created_at, event, change_ref, recipient_id, subject, body, payload, "
                   "status, attempts, available_at, last_error, channel) "
                   "VALUES (?, 'release_notice', ?, ?, ?, ?, ?, 'pending', 0, ?, '', 'person')",
                   [(stamp, ref, uid, f"[{ref}] {subject}", body, payload, stamp) for uid in ids])
    db.execute("UPDATE release_notices SET status='published' WHERE id=?", (notice_id,))
    db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def smtp_rate(mails: int, folder: str) -> float:
    with SmtpServer() as server:
        rt, ref = school_with_staff(f"sqlite:///{folder}/smtp.db", mails, smtp=server.settings())
        notices.publish_due(rt, now=datetime(2100, 1, 1, tzinfo=UTC))
        worker = Worker.from_runtime(rt)
        worker.clock = lambda: datetime.now(UTC) + timedelta(days=30000)
        start = time.perf_counter()
        while worker.run_once():
            pass
        elapsed = time.perf_counter() - start
        sent = len(server.recorder.messages)
        rt.db.dispose()
    return sent / elapsed


def raw_smtp_rate(mails: int, folder: str, batch: int) -> float:
    """The same rows sent with smtplib: the same message (headers, text and HTML parts), an
    inbox row each, one SMTP connection and one commit per batch."""
    with SmtpServer() as server:
        rt, ref = school_with_staff(f"sqlite:///{folder}/raw-smtp.db", mails, smtp=server.settings())
        notices.publish_due(rt, now=datetime(2100, 1, 1, tzinfo=UTC))
        rt.db.dispose()
        db = sqlite3.connect(f"{folder}/raw-smtp.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=FULL", "foreign_keys=ON"):
            db.execute(f"PRAGMA {pragma}")
        sender, sent = "fitsflow@test.school", 0
        start = time.perf_counter()
        while True:
            rows = db.execute(
                "SELECT o.id, o.subject, o.body, o.payload, o.change_ref, o.created_at, o.recipient_id, "
                "u.name, u.email, o.event FROM outbox o JOIN users u ON u.id = o.recipient_id "
                "WHERE o.status = 'pending' AND o.channel = 'person' ORDER BY o.id LIMIT ?",
                (batch,)).fetchall()
            if not rows:
                break
            client = smtplib.SMTP("127.0.0.1", server.port, timeout=20)
            inbox = []
            for row_id, subject, body, payload, change_ref, created, uid, name, address, event in rows:
                link = "http://127.0.0.1:8000" + json.loads(payload).get("link", "")
                message = EmailMessage()
                message["From"] = sender
                message["To"] = Address(display_name=name, addr_spec=address)
                message["Subject"] = subject
                message["Date"] = format_datetime(datetime.now(UTC))
                message["Message-ID"] = f"<fitsflow.{row_id}.1@test.school>"
                message["Auto-Submitted"] = "auto-generated"
                message.set_content(f"{body}\n\nOpen it in fitsflow: {link}\n")
                html = f'<p>{escape(body)}</p><p><a href="{escape(link)}">Open</a></p>'
                message.add_alternative(f"<!doctype html><html><body>{html}</body></html>", subtype="html")
                client.send_message(message, to_addrs=[address])
                inbox.append((uid, row_id, event, change_ref, subject, body, link[:300], created))
                sent += 1
            client.quit()
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO inbox_items (user_id, outbox_id, event, change_ref, subject, body, "
                           "link, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", inbox)
            db.executemany("UPDATE outbox SET status = 'delivered', delivered_at = ? WHERE id = ?",
                           [(created, r[0]) for r in rows])
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
    return sent / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--mails", type=int, default=500)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="fitsflow-notice-bench-")
    try:
        t_project, count = project(args.recipients, folder)
        t_raw = raw(args.recipients, folder)
        print(f"publish to {count:,} staff: project {t_project * 1000:.0f} ms "
              f"({count / t_project:,.0f} recipients/s), raw executemany {t_raw * 1000:.0f} ms "
              f"({count / t_raw:,.0f} recipients/s)")
        batch = load_settings(environ={}).delivery.batch_size
        project_rate = smtp_rate(args.mails, folder)
        raw_rate = raw_smtp_rate(args.mails, folder, batch)
        print(f"SMTP delivery of {args.mails:,} notices to a local server (one connection and one commit "
              f"per batch of {batch}): project {project_rate:,.0f} messages/s, raw smtplib {raw_rate:,.0f} "
              "messages/s")
        print(f"delivery ratio: {project_rate / raw_rate:.2f}")
        print(f"ratio: {t_raw / t_project:.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
