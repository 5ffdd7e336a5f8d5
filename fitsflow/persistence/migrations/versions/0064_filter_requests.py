"""Web-filtering requests: what to allow or block, why, for whom, until when; the safeguarding
lead's decision and reason, when it was applied and put back

Revision ID: 0064
Revises: 0063
Create Date: 2026-12-07 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0064'
down_revision: str | None = '0063'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'filter_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('asker_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('why', sa.Text(), nullable=False),
        sa.Column('for_whom', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.Column('applied_by', sa.Integer(), nullable=True),
        sa.Column('applied_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reverted_by', sa.Integer(), nullable=True),
        sa.Column('reverted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('withdrawn_reason', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.ForeignKeyConstraint(['asker_id'], ['users.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id']),
        sa.ForeignKeyConstraint(['applied_by'], ['users.id']),
        sa.ForeignKeyConstraint(['reverted_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_filter_requests_school_state', 'filter_requests', ['school_id', 'state', 'id'])
    op.create_index('ix_filter_requests_asker', 'filter_requests', ['asker_id', 'id'])
    op.create_index('ix_filter_requests_decided', 'filter_requests', ['school_id', 'decided_at'])


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT 1 FROM filter_requests LIMIT 1")).first() is not None:
        raise RuntimeError("0064: filtering decisions are recorded (the filtering review's log); "
                           "export them before downgrading past this revision")
    op.drop_index('ix_filter_requests_decided', table_name='filter_requests')
    op.drop_index('ix_filter_requests_asker', table_name='filter_requests')
    op.drop_index('ix_filter_requests_school_state', table_name='filter_requests')
    op.drop_table('filter_requests')
