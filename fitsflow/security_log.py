"""The security log: one JSON line per event on stderr (sign-ins, lock-outs, bad tokens,
role and credential changes), for a SIEM or plain ``grep``. Events about a person are
also written to the audit trail by the service that raises them."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from .clock import system_now

log = logging.getLogger("fitsflow.security")
log.setLevel(logging.INFO)  # events are recorded whoever listens; install() adds the stderr listener


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        return json.dumps({"at": system_now().isoformat(timespec="seconds"), "log": "security",
                           "event": record.getMessage(), **fields}, sort_keys=True, default=str)


def install() -> None:
    """Send security events to stderr as JSON lines (once per process)."""
    if not any(getattr(h, "_fitsflow", False) for h in log.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_JsonLines())
        handler._fitsflow = True  # type: ignore[attr-defined]
        log.addHandler(handler)
        log.propagate = False


def event(name: str, **fields: Any) -> None:
    """Record one security event, e.g. ``event("sign_in.failed", email=…, address=…)``."""
    log.info(name, extra={"fields": fields})
