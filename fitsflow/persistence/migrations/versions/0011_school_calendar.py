"""the school calendar: terms, holidays, INSET days, exam seasons, freezes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('starts_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('ends_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('effect', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('calendar_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_periods_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_periods_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calendar_periods_ends_at'), ['ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('calendar_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_periods_ends_at'))
        batch_op.drop_index(batch_op.f('ix_calendar_periods_starts_at'))
        batch_op.drop_index(batch_op.f('ix_calendar_periods_kind'))
    op.drop_table('calendar_periods')
