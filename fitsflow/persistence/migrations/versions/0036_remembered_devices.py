"""Browsers remembered after the second factor, one row each (a random id bound to the
browser's device id), instead of one stamp per person that any browser could carry

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0036'
down_revision: str | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'remembered_devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('device_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('remembered_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_remembered_devices_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_remembered_devices_user_id'), ['user_id'], unique=False)
    # The old "don't ask again" cookies held one stamp per person; they no longer count, so
    # each browser is asked for a code once more and may then be remembered on its own.


def downgrade() -> None:
    with op.batch_alter_table('remembered_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_remembered_devices_user_id'))
        batch_op.drop_index(batch_op.f('ix_remembered_devices_token_hash'))
    op.drop_table('remembered_devices')
