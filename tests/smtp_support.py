"""A real SMTP server (aiosmtpd) for the tests, with injectable replies and delays."""

from __future__ import annotations

import email
import socket
import threading
import time
from email import policy
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """Stores every message it accepts; ``replies`` (a list consumed in order) makes
    the next DATA answer with a given code; ``delay`` makes each DATA slow."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[list[str]] = []  # RCPT TO of each accepted message
        self.replies: list[str] = []
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            reply = self.replies.pop(0) if self.replies else "250 Message accepted"
        if self.delay:
            time.sleep(self.delay)  # block the server loop: a slow server, as seen by the client
        if reply.startswith("250"):
            with self.lock:
                self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
                self.envelopes.append(list(envelope.rcpt_tos))
        return reply

    def ids(self) -> list[str]:
        with self.lock:
            return [m["X-Fitsflow-Outbox-Id"] for m in self.messages]


class SmtpServer:
    def __init__(self) -> None:
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def settings(self, timeout: int = 5) -> dict[str, Any]:
        return {"enabled": True, "host": "127.0.0.1", "port": self.port, "security": "none",
                "username": "", "password": "", "from_address": "fitsflow@test.school",
                "timeout_seconds": timeout}
