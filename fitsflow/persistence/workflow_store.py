"""Workflow versions as stored, and where the changes on them stand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from .models import Change, WorkflowVersion

_VERSIONS = WorkflowVersion.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoredVersion:
    version: str
    name: str
    source: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class InUse:
    """How many changes of a workflow version are in one state."""

    workflow: str
    version: str | None
    state: str
    count: int


def record(session: Session, *, version: str, name: str, source: str, body: str, at: datetime) -> None:
    """Store a version unless it is already stored (content-addressed: same hash, same text)."""
    connection = session.connection()
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(
        insert(_VERSIONS).values(version=version, name=name, source=source[:500], body=body, created_at=at)
        .on_conflict_do_nothing(index_elements=["version"]))


def get(session: Session, version: str) -> StoredVersion | None:
    row = session.connection().execute(
        select(_VERSIONS.c.version, _VERSIONS.c.name, _VERSIONS.c.source, _VERSIONS.c.body,
               _VERSIONS.c.created_at).where(_VERSIONS.c.version == version)).first()
    return StoredVersion(*row) if row else None


def find(session: Session, prefix: str) -> list[StoredVersion]:
    """Stored versions whose hash starts with ``prefix`` (as a person types a short one)."""
    rows = session.connection().execute(
        select(_VERSIONS.c.version, _VERSIONS.c.name, _VERSIONS.c.source, _VERSIONS.c.body,
               _VERSIONS.c.created_at).where(_VERSIONS.c.version.startswith(prefix, autoescape=True))
        .order_by(_VERSIONS.c.created_at).limit(10)).all()
    return [StoredVersion(*row) for row in rows]


def in_use(session: Session) -> list[InUse]:
    """Every (workflow, version, state) that changes are in, with how many."""
    count = func.count()
    rows = session.connection().execute(
        select(_CHANGES.c.workflow, _CHANGES.c.workflow_version, _CHANGES.c.state, count)
        .group_by(_CHANGES.c.workflow, _CHANGES.c.workflow_version, _CHANGES.c.state)).all()
    return [InUse(*row) for row in rows]


def adopt(session: Session, *, workflow: str, version: str) -> int:
    """Put the changes of a workflow that predate versions on this version (Core: one
    set-based statement for all of them, however many)."""
    result = session.connection().execute(
        _CHANGES.update().where(and_(_CHANGES.c.workflow == workflow, _CHANGES.c.workflow_version.is_(None)))
        .values(workflow_version=version))
    return int(result.rowcount or 0)


def refs_on(session: Session, *, workflow: str, version: str, states: list[str]) -> list[str]:
    """References of the changes on a version in these states, oldest first."""
    if not states:
        return []
    rows = session.connection().execute(
        select(_CHANGES.c.ref).where(and_(_CHANGES.c.workflow == workflow,
                                          _CHANGES.c.workflow_version == version,
                                          _CHANGES.c.state.in_(states)))
        .order_by(_CHANGES.c.id)).all()
    return [row[0] for row in rows]

