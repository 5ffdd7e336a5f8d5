"""The keys shared between the transaction manager and the stores that hook into it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

# session.info key: callables run, in order, just before a write transaction commits
# (the change's version-checked save, the audit chain's batched insert).
BEFORE_COMMIT = "fitsflow_before_commit"

# session.info key: the runtime's clock (fitsflow.clock.Clock), set on every session the
# Database opens, for stores that stamp a row themselves.
CLOCK = "fitsflow_clock"


def clock_now(session: Any) -> datetime:
    """Business time, from the clock of the database that opened ``session``."""
    return cast(datetime, session.info[CLOCK].now())
