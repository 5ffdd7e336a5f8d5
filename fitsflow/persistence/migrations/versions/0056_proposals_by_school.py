"""A staff proposal belongs to its proposer's school: its requesters triage it, nobody else
sees it; every proposal an installation had is its first school's

Revision ID: 0056
Revises: 0055
Create Date: 2026-12-06 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0056'
down_revision: str | None = '0055'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index(batch_op.f('ix_proposals_school_id'), ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_proposals_school_id', 'schools', ['school_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_constraint('fk_proposals_school_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_proposals_school_id'))
        batch_op.drop_column('school_id')
