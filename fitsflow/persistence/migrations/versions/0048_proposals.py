"""Needs proposed by any member of staff, and how each was triaged

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-06 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0048'
down_revision: str | None = '0047'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'proposals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('proposer_id', sa.Integer(), nullable=False),
        sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('why', sa.Text(), nullable=False),
        sa.Column('affects', sa.Text(), server_default='', nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('triaged_by', sa.Integer(), nullable=True),
        sa.Column('triaged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
        sa.ForeignKeyConstraint(['proposer_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['triaged_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_proposals_proposer', ['proposer_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_proposer')
        batch_op.drop_index('ix_proposals_status')
    op.drop_table('proposals')
