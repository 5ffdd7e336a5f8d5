"""Sustainability: a usage check some months after each release, and a refresh or
end-of-life date on the review

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-06 14:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0046'
down_revision: str | None = '0045'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'usage_checks',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('checked_by', sa.Integer(), nullable=True),
        sa.Column('result', sa.String(length=10), server_default='', nullable=False),
        sa.Column('evidence', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
        sa.ForeignKeyConstraint(['checked_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('change_id'),
    )
    with op.batch_alter_table('usage_checks', schema=None) as batch_op:
        batch_op.create_index('ix_usage_checks_open', ['checked_at', 'due_on', 'change_id'], unique=False)
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reviews_refresh_on'), ['refresh_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_refresh_on'))
        batch_op.drop_column('refresh_on')
    with op.batch_alter_table('usage_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_checks_open')
    op.drop_table('usage_checks')
