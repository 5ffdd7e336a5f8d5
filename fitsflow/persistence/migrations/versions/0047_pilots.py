"""Innovation studies (pilots): the design, the outcome at evaluation, the change adopted as

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0047'
down_revision: str | None = '0046'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pilots',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('hypothesis', sa.Text(), server_default='', nullable=False),
        sa.Column('trial_group', sa.Text(), server_default='', nullable=False),
        sa.Column('weeks', sa.Integer(), nullable=True),
        sa.Column('outcome', sa.String(length=10), server_default='', nullable=False),
        sa.Column('learnt', sa.Text(), server_default='', nullable=False),
        sa.Column('adopt_category', sa.String(length=20), server_default='', nullable=False),
        sa.Column('adopted_as', sa.Integer(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['adopted_as'], ['changes.id'], ),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
        sa.PrimaryKeyConstraint('change_id'),
    )


def downgrade() -> None:
    op.drop_table('pilots')
