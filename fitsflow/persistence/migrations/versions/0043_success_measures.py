"""What success looks like: measures recorded at needs analysis and assessed at the review

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-06 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0043'
down_revision: str | None = '0042'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'success_measures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('statement', sa.Text(), nullable=False),
        sa.Column('method', sa.Text(), nullable=False),
        sa.Column('check_by', sa.Date(), nullable=False),
        sa.Column('result', sa.String(length=10), server_default='', nullable=False),
        sa.Column('evidence', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('change_id', 'position', name='uq_success_measure_position'),
    )
    with op.batch_alter_table('success_measures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_success_measures_change_id'), ['change_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('success_measures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_success_measures_change_id'))
    op.drop_table('success_measures')
