"""PostgreSQL row-level security on changes by school: the second line of defence behind the
application's own scoping (persistence/school_scope.py)

Revision ID: 0054
Revises: 0053
Create Date: 2026-12-06 21:50:00
"""

from collections.abc import Sequence

from alembic import op

from fitsflow.persistence import school_scope

revision: str = '0054'
down_revision: str | None = '0053'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in school_scope.row_security_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in school_scope.drop_row_security_statements(op.get_bind().dialect.name):
        op.execute(statement)
