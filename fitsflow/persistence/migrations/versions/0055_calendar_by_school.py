"""Each school's own calendar: a period belongs to one school, or (no school) to the whole
trust; an existing calendar stays the trust's

Revision ID: 0055
Revises: 0054
Create Date: 2026-12-06 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0055'
down_revision: str | None = '0054'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('calendar_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_calendar_periods_school_id'), ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_calendar_periods_school_id', 'schools', ['school_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('calendar_periods', schema=None) as batch_op:
        batch_op.drop_constraint('fk_calendar_periods_school_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_calendar_periods_school_id'))
        batch_op.drop_column('school_id')
