"""release notices and receipts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:00:59.627655
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('release_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('publish_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('published_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('change_id', 'audience', name='uq_notice_audience')
    )
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.create_index('ix_notices_due', ['status', 'publish_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_release_notices_change_id'), ['change_id'], unique=False)

    op.create_table('notice_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['release_notices.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('change_id', 'user_id', name='uq_receipt_once')
    )
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_receipts_change_id'), ['change_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipts_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipts_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('training', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=300),
                                      nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.drop_column('contact')
        batch_op.drop_column('training')

    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_receipts_user_id'))
        batch_op.drop_index(batch_op.f('ix_notice_receipts_notice_id'))
        batch_op.drop_index(batch_op.f('ix_notice_receipts_change_id'))

    op.drop_table('notice_receipts')
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_notices_change_id'))
        batch_op.drop_index('ix_notices_due')

    op.drop_table('release_notices')
