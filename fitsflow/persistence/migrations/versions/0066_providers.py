"""External IT providers: the organisations, and which people are theirs

Revision ID: 0066
Revises: 0065
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0066'
down_revision: str | None = '0065'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'providers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('contract_ends', sa.Date(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
    )
    op.create_table(
        'provider_members',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('provider_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['provider_id'], ['providers.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_index('ix_provider_members_provider', 'provider_members', ['provider_id', 'user_id'])


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT 1 FROM providers LIMIT 1")).first() is not None:
        raise RuntimeError("0066: external IT providers are recorded; remove them before downgrading past "
                           "this revision")
    op.drop_index('ix_provider_members_provider', table_name='provider_members')
    op.drop_table('provider_members')
    op.drop_table('providers')
