"""The school calendar's own cached-read version: a calendar edit re-shades the schedule's
days and the feeds' periods, and leaves the releases already built

Revision ID: 0052
Revises: 0051
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0052'
down_revision: str | None = '0051'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_seq', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('calendar_hash', sa.String(length=64), server_default='',
                                      nullable=False))
    # It starts at the chain's head: whatever was cached before the upgrade is stale.
    op.execute("UPDATE audit_head SET calendar_seq = seq, calendar_hash = hash")


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('calendar_hash')
        batch_op.drop_column('calendar_seq')
