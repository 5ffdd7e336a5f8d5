"""What /healthz asks of the database: a small write that must commit, and checks of the
file or cluster."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from .models import HealthProbe

_PROBE = HealthProbe.__table__  # type: ignore[attr-defined]


def beat(connection: Any, at: datetime) -> None:
    """Rewrite the probe row (insert it the first time): a commit proves the database
    takes writes — not full, not read-only, not locked past the deadline."""
    if connection.execute(_PROBE.update().where(_PROBE.c.id == 1).values(at=at)).rowcount == 0:
        connection.execute(_PROBE.insert().values(id=1, at=at))


def integrity(connection: Any, dialect: str) -> str:
    """ "ok", or what the database reports wrong: SQLite's quick_check; PostgreSQL's count
    of data-page checksum failures for this database (its closest cheap equivalent)."""
    if dialect == "sqlite":
        rows = [r[0] for r in connection.execute(text("PRAGMA quick_check(5)"))]
        return "ok" if rows == ["ok"] else "; ".join(str(r) for r in rows)
    failures = connection.execute(
        text("SELECT coalesce(checksum_failures, 0) FROM pg_stat_database WHERE datname = current_database()")
    ).scalar()
    return "ok" if not failures else f"{failures} data-page checksum failures"
