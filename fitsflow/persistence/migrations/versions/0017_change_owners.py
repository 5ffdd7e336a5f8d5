"""co-owners of a change

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('change_owners',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('change_id', 'user_id')
    )
    with op.batch_alter_table('change_owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_owners_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('change_owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_owners_user_id'))
    op.drop_table('change_owners')
