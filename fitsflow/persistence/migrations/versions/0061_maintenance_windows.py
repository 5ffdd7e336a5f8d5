"""Maintenance windows: recurring slots agreed for routine work on a service

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-07 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0061'
down_revision: str | None = '0060'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'maintenance_windows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('service', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('weekdays', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('starts', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column('ends', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column('holds', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('notice_days', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_maintenance_windows_school_id'), 'maintenance_windows', ['school_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_maintenance_windows_school_id'), table_name='maintenance_windows')
    op.drop_table('maintenance_windows')
