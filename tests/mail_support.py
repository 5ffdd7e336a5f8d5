"""A runtime whose email goes to a real SMTP server (aiosmtpd), and reading the one-time
links out of what arrives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.delivery.worker import Worker
from fitsflow.services.runtime import Runtime

from . import factories as f
from .conftest import at_test_time, postgres_runtime
from .smtp_support import Recorder, SmtpServer

BASE = "https://changes.school.example"


@contextmanager
def mail_runtime(engine: str, url: str = "sqlite://") -> Iterator[tuple[Runtime, Recorder]]:
    """A fresh runtime on ``engine`` (sqlite, in memory unless ``url`` names a file, or
    postgres) with email on, and what arrives."""
    with SmtpServer() as server:
        sections = {"smtp": server.settings(), "delivery": {"base_url": BASE}}
        if engine == "sqlite":
            rt = at_test_time(build_runtime(load_settings(environ={}).replace(**sections), database_url=url))
            rt.db.create_all()
        else:
            rt = postgres_runtime(**sections)
        try:
            yield rt, server.recorder
        finally:
            rt.db.dispose()


def deliver(rt: Runtime) -> None:
    """Run the delivery worker until the outbox is empty."""
    f.drain(Worker.from_runtime(rt))


def message_to(recorder: Recorder, email: str) -> Message:
    """The latest message to ``email``."""
    found = [m for m in recorder.messages if email in str(m["To"])]
    assert found, f"no message to {email}"
    return found[-1]


def link_in(message: Message) -> str:
    """The path of the one-time link in a message's text part."""
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(re.escape(BASE) + r"(/(?:invitation|password/reset)/[A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)
