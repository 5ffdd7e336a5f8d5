"""Full-text search over changes (SQLite FTS5, PostgreSQL tsvector), filled from what exists

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

from alembic import op

from fitsflow.persistence import search_store

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    for statement in search_store.create_statements(connection.dialect.name):
        op.execute(statement)
    search_store.reindex(connection)


def downgrade() -> None:
    for statement in search_store.drop_statements(op.get_bind().dialect.name):
        op.execute(statement)
