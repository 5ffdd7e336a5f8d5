"""Evidence: what a change is evidence of (tags, and a security update's vendor release day),
and the tags a standard-change template's uses start with

Revision ID: 0063
Revises: 0062
Create Date: 2026-12-07 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0063'
down_revision: str | None = '0062'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'change_evidence',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('tags', sa.Text(), nullable=False),
        sa.Column('vendor_released_on', sa.Date(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.PrimaryKeyConstraint('change_id'),
    )
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.drop_column('evidence')
    op.drop_table('change_evidence')
