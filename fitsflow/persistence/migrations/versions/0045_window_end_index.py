"""The schedule's and the feeds' ranges read by the end of each window: a range from today on
reads the windows still to come, never the history before it

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06 14:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0045'
down_revision: str | None = '0044'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.create_index('ix_release_plans_window_end', ['window_end', 'window_start', 'change_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_release_plans_window_end')
