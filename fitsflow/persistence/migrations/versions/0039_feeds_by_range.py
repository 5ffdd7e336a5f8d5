"""Calendar feeds kept per version of their own range's changes, as the schedule is: the
feeds' version in the audit head goes, and covering indexes make a range's version an
index-only read

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0039'
down_revision: str | None = '0038'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('feeds_hash')
        batch_op.drop_column('feeds_seq')
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_release_plans_window_start')
        batch_op.create_index('ix_release_plans_window', ['window_start', 'window_end', 'change_id'],
                              unique=False)
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_id_version', ['id', 'version', 'updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_id_version')
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_release_plans_window')
        batch_op.create_index('ix_release_plans_window_start', ['window_start'], unique=False)
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('feeds_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('feeds_hash', sa.String(length=64), server_default='', nullable=False))
    op.execute("UPDATE audit_head SET feeds_seq = seq, feeds_hash = hash")
