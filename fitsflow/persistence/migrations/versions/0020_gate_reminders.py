"""when each gate round opened, and the reminders and escalations sent for it

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('gate_requirements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table('gate_reminders',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('gate', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
    sa.PrimaryKeyConstraint('change_id', 'gate', 'round', 'kind')
    )


def downgrade() -> None:
    op.drop_table('gate_reminders')
    with op.batch_alter_table('gate_requirements', schema=None) as batch_op:
        batch_op.drop_column('opened_at')
