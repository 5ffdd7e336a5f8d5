"""A school's changes newest first, from one index: the lists of someone who sees one school

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-06 22:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0057'
down_revision: str | None = '0056'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_school_updated', ['school_id', 'updated_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_school_updated')
