"""360-degree feedback on a change's review: who was asked (their group) and what each said

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0044'
down_revision: str | None = '0043'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'review_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('grp', sa.String(length=40), nullable=False),
        sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('meets_need', sa.Integer(), nullable=True),
        sa.Column('disruption', sa.Integer(), nullable=True),
        sa.Column('training', sa.Integer(), nullable=True),
        sa.Column('communication', sa.Integer(), nullable=True),
        sa.Column('worked', sa.Text(), server_default='', nullable=False),
        sa.Column('improve', sa.Text(), server_default='', nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('change_id', 'user_id', name='uq_review_feedback_once'),
    )
    with op.batch_alter_table('review_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_feedback_asked_at'), ['asked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_feedback_change_id'), ['change_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_feedback_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_feedback_user_id'))
        batch_op.drop_index(batch_op.f('ix_review_feedback_change_id'))
        batch_op.drop_index(batch_op.f('ix_review_feedback_asked_at'))
    op.drop_table('review_feedback')
