"""Recurring routine work: recurrences of a standard-change template, and the occurrence
each day they name (the change raised for it, or skipped)

Revision ID: 0062
Revises: 0061
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0062'
down_revision: str | None = '0061'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'recurrences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template_id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('starts', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('on_closed', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('ahead_days', sa.Integer(), nullable=False),
        sa.Column('cost', sa.Numeric(12, 2), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['template_id'], ['standard_templates.id']),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id']),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_recurrences_template_id'), 'recurrences', ['template_id'], unique=False)
    op.create_index(op.f('ix_recurrences_requester_id'), 'recurrences', ['requester_id'], unique=False)
    op.create_index(op.f('ix_recurrences_school_id'), 'recurrences', ['school_id'], unique=False)
    op.create_table(
        'recurrence_occurrences',
        sa.Column('recurrence_id', sa.Integer(), nullable=False),
        sa.Column('planned_on', sa.Date(), nullable=False),
        sa.Column('happens_on', sa.Date(), nullable=True),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['recurrence_id'], ['recurrences.id']),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.PrimaryKeyConstraint('recurrence_id', 'planned_on'),
    )
    op.create_index(op.f('ix_recurrence_occurrences_change_id'), 'recurrence_occurrences', ['change_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_recurrence_occurrences_change_id'), table_name='recurrence_occurrences')
    op.drop_table('recurrence_occurrences')
    op.drop_index(op.f('ix_recurrences_school_id'), table_name='recurrences')
    op.drop_index(op.f('ix_recurrences_requester_id'), table_name='recurrences')
    op.drop_index(op.f('ix_recurrences_template_id'), table_name='recurrences')
    op.drop_table('recurrences')
