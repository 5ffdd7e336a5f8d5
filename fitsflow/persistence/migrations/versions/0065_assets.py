"""Assets and the register: assets with renewal dates and disposal evidence, changes' links to
them, the register's update at close, and the renewals raised

Revision ID: 0065
Revises: 0064
Create Date: 2026-12-07 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0065'
down_revision: str | None = '0064'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'assets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('tag', _S(length=60), nullable=False),
        sa.Column('tag_key', _S(length=60), nullable=True),
        sa.Column('name', _S(length=200), nullable=False),
        sa.Column('kind', _S(length=60), nullable=False),
        sa.Column('serial', _S(length=100), nullable=False),
        sa.Column('location', _S(length=200), nullable=False),
        sa.Column('status', _S(length=10), nullable=False),
        sa.Column('warranty_ends', sa.Date(), nullable=True),
        sa.Column('licence_ends', sa.Date(), nullable=True),
        sa.Column('subscription_ends', sa.Date(), nullable=True),
        sa.Column('refresh_on', sa.Date(), nullable=True),
        sa.Column('created_at', _T(), nullable=False),
        sa.Column('updated_at', _T(), nullable=False),
        sa.Column('retired_at', _T(), nullable=True),
        sa.Column('wiped_on', sa.Date(), nullable=True),
        sa.Column('wiped_by', _S(length=300), nullable=False),
        sa.Column('certificate', _S(length=300), nullable=False),
        sa.Column('weee', _S(length=300), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('school_id', 'tag_key', name='uq_assets_school_tag'),
    )
    op.create_index('ix_assets_school_status', 'assets', ['school_id', 'status', 'id'])
    op.create_index('ix_assets_warranty', 'assets', ['warranty_ends'])
    op.create_index('ix_assets_licence', 'assets', ['licence_ends'])
    op.create_index('ix_assets_subscription', 'assets', ['subscription_ends'])
    op.create_index('ix_assets_refresh', 'assets', ['refresh_on'])
    op.create_table(
        'change_assets',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('link', _S(length=10), nullable=False),
        sa.Column('created_at', _T(), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.PrimaryKeyConstraint('change_id', 'asset_id'),
    )
    op.create_index('ix_change_assets_asset', 'change_assets', ['asset_id', 'change_id'])
    op.create_table(
        'register_updates',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=False),
        sa.Column('recorded_at', _T(), nullable=False),
        sa.Column('unchanged', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.ForeignKeyConstraint(['recorded_by'], ['users.id']),
        sa.PrimaryKeyConstraint('change_id'),
    )
    op.create_table(
        'renewals_raised',
        sa.Column('asset_id', sa.Integer(), nullable=False),
        sa.Column('field_name', _S(length=20), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=True),
        sa.Column('created_at', _T(), nullable=False),
        sa.ForeignKeyConstraint(['asset_id'], ['assets.id']),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.PrimaryKeyConstraint('asset_id', 'field_name', 'due_on'),
    )


def downgrade() -> None:
    if op.get_bind().execute(sa.text("SELECT 1 FROM assets LIMIT 1")).first() is not None:
        raise RuntimeError("0065: the asset register holds assets; export them before downgrading past "
                           "this revision")
    op.drop_table('renewals_raised')
    op.drop_table('register_updates')
    op.drop_index('ix_change_assets_asset', table_name='change_assets')
    op.drop_table('change_assets')
    for name in ('ix_assets_refresh', 'ix_assets_subscription', 'ix_assets_licence', 'ix_assets_warranty',
                 'ix_assets_school_status'):
        op.drop_index(name, table_name='assets')
    op.drop_table('assets')
