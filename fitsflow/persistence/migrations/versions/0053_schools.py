"""Schools of a trust: every change belongs to one, people belong to schools. An existing
installation becomes a trust of one school, which holds every change and every person

Revision ID: 0053
Revises: 0052
Create Date: 2026-12-06 21:20:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0053'
down_revision: str | None = '0052'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schools = op.create_table(
        'schools',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('nation', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('slug'),
    )
    op.bulk_insert(schools, [{"id": 1, "slug": "school", "name": "", "nation": "",
                              "created_at": datetime.now(UTC)}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('schools', 'id'), 1)")
    op.create_table(
        'school_members',
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('school_id', 'user_id'),
    )
    with op.batch_alter_table('school_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_school_members_user_id'), ['user_id'], unique=False)
    op.execute("INSERT INTO school_members (school_id, user_id) SELECT 1, id FROM users")
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index(batch_op.f('ix_changes_school_id'), ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_changes_school_id', 'schools', ['school_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_constraint('fk_changes_school_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_changes_school_id'))
        batch_op.drop_column('school_id')
    with op.batch_alter_table('school_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_school_members_user_id'))
    op.drop_table('school_members')
    op.drop_table('schools')
