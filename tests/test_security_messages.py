"""Issue: a display name added email recipients, a line break in a title silenced a
change's emails, and the webhook posted raw, unsigned text. Each attack, defended."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.delivery.channels import chat_safe, signature
from fitsflow.delivery.worker import Worker
from fitsflow.domain.errors import ConfigError, InvalidInput
from fitsflow.services import changes, users

from . import factories as f
from .smtp_support import SmtpServer


def runtime(**sections):  # type: ignore[no-untyped-def]
    rt = build_runtime(load_settings(environ={}).replace(**sections), database_url="sqlite://")
    rt.db.create_all()
    return rt


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with SmtpServer() as server:
        yield server


def test_a_display_name_cannot_add_a_recipient(smtp):
    rt = runtime(smtp=smtp.settings())
    school = f.School(rt)
    users.import_users(rt, text="name,email,roles,audiences\n"
                                   '"Ben Marsh <spy@evil.example>, Ben",ben@school.example,slt,slt\n'
                                   '"Shah, Priya",priya@school.example,slt,slt\n')
    f.change_in(rt, school, "significant", "proceed_approval")  # SLT are asked to approve
    f.drain(Worker.from_runtime(rt))
    to_slt = [(m, e) for m, e in zip(smtp.recorder.messages, smtp.recorder.envelopes, strict=True)
              if e[0] in ("ben@school.example", "priya@school.example")]
    assert len(to_slt) == 4  # each: the invitation to choose a password, and the approval request
    for message, envelope in to_slt:
        assert len(envelope) == 1  # the envelope names one recipient
        addresses = message["To"].addresses
        assert len(addresses) == 1 and addresses[0].addr_spec == envelope[0]
    names = {m["To"].addresses[0].display_name for m, _ in to_slt}
    assert names == {"Ben Marsh <spy@evil.example>, Ben", "Shah, Priya"}
    assert all("spy@evil.example" not in e for e in smtp.recorder.envelopes)
    rt.db.dispose()


def test_line_breaks_are_refused_at_input(sqlite_rt):
    school = f.School(sqlite_rt)
    for field, call in (
        ("title", lambda: changes.raise_change(sqlite_rt, actor_id=school.requester,
                                                title="New PCs\nBcc: spy@evil.example", category="minor")),
        ("name", lambda: users.add_user(sqlite_rt, name="Ben\r\nBcc: x@y.z", email="b@school.example")),
    ):
        with pytest.raises(InvalidInput) as err:
            call()
        assert field in err.value.problems


def test_a_subject_with_a_stray_line_break_is_still_delivered(smtp):
    """Rows queued before input was checked must not silence a change's emails."""
    rt = runtime(smtp=smtp.settings())
    school = f.School(rt)
    f.change_in(rt, school, "minor", "proceed_approval")
    from sqlalchemy import update

    from fitsflow.persistence.models import OutboxMessage

    with rt.db.transaction() as session:
        session.execute(update(OutboxMessage).values(subject="Approval needed\r\nBcc: spy@evil.example"))
    f.drain(Worker.from_runtime(rt))
    assert smtp.recorder.messages and all("\n" not in m["Subject"] for m in smtp.recorder.messages)
    assert all(e == [e[0]] and "spy" not in e[0] for e in smtp.recorder.envelopes)
    rt.db.dispose()


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_webhook_text_is_escaped_and_signed():
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "hook secret for the test"
    try:
        rt = runtime(webhook={"url": f"http://127.0.0.1:{server.server_port}/", "events": "raised",
                              "secret": secret})
        school = f.School(rt)
        changes.raise_change(rt, actor_id=school.requester, category="minor",
                              title="<!channel> urgent <http://evil.example|click here> [x](http://evil.example)")
        f.drain(Worker.from_runtime(rt))
        headers, body = _Hook.received[-1]
        stamp = headers["X-Fitsflow-Timestamp"]
        mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        expected = "sha256=" + mac.hexdigest()
        assert headers["X-Fitsflow-Signature"] == expected == signature(secret, stamp, body)
        text = json.loads(body)["text"]
        assert "<!channel>" not in text and "<http" not in text and "](" not in text
        assert "&lt;!channel&gt;" in text
        rt.db.dispose()
    finally:
        server.shutdown()
        server.server_close()


def test_chat_safe_neutralises_mentions_and_links():
    assert chat_safe("<@U123> & <!here>") == "&lt;@U123&gt; &amp; &lt;!here&gt;"
    assert chat_safe("[click](http://x)") == "\\[click\\]\\(http://x\\)"


def test_a_webhook_without_a_secret_does_not_start():
    with pytest.raises(ConfigError, match="webhook.secret: required"):
        load_settings(environ={"FITSFLOW_WEBHOOK_URL": "https://hooks.example/x"})
