"""Database triggers that make the audit trail append-only.

They stop accidents and casual edits through the application's own connection;
someone with the rights to drop them can still tamper, which is what the hash
chain (and a published head) is there to reveal."""

from __future__ import annotations

from sqlalchemy import event

from .models import AuditEvent

_MESSAGE = "audit events are append-only"


def append_only_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION fitsflow_audit_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$",
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION fitsflow_audit_append_only()",
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
            f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END",
        ]
    return []


def drop_append_only_statements(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return ["DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
                "DROP FUNCTION IF EXISTS fitsflow_audit_append_only()"]
    if dialect == "sqlite":
        return ["DROP TRIGGER IF EXISTS audit_events_no_update",
                "DROP TRIGGER IF EXISTS audit_events_no_delete"]
    return []


def _install(target: object, connection: object, **_: object) -> None:
    for statement in append_only_statements(connection.dialect.name):  # type: ignore[attr-defined]
        connection.exec_driver_sql(statement)  # type: ignore[attr-defined]


event.listen(AuditEvent.__table__, "after_create", _install)  # type: ignore[attr-defined]
