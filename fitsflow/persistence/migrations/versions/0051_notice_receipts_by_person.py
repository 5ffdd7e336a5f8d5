"""A person's release notices from one index: (user_id, id), newest first and counted to a cap

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-06 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0051'
down_revision: str | None = '0050'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_notice_receipts_user', ['user_id', 'id'], unique=False)
        batch_op.drop_index('ix_notice_receipts_user_id')


def downgrade() -> None:
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_notice_receipts_user_id', ['user_id'], unique=False)
        batch_op.drop_index('ix_notice_receipts_user')
