"""Trust-wide changes: a set of schools (a row of schools marked is_set, its schools in
school_set_members) that a change affecting several schools belongs to; a release notice
names the school whose people it goes to (every notice so far: its change's school)

Revision ID: 0058
Revises: 0057
Create Date: 2026-12-07 00:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0058'
down_revision: str | None = '0057'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_set', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'school_set_members',
        sa.Column('set_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['set_id'], ['schools.id']),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id']),
        sa.PrimaryKeyConstraint('set_id', 'school_id'),
    )
    op.create_index(op.f('ix_school_set_members_school_id'), 'school_set_members', ['school_id'],
                    unique=False)
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_foreign_key('fk_release_notices_school_id', 'schools', ['school_id'], ['id'])
        batch_op.drop_constraint('uq_notice_audience', type_='unique')
        batch_op.create_unique_constraint('uq_notice_audience', ['change_id', 'audience', 'school_id'])
    op.execute("UPDATE release_notices SET school_id = (SELECT changes.school_id FROM changes "
               "WHERE changes.id = release_notices.change_id)")


def downgrade() -> None:
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM schools WHERE is_set")).scalar_one()
    if held:
        # Each would become a school nobody belongs to, its change seen by nobody: refused.
        raise RuntimeError(f"cannot downgrade below 0058: {held} set(s) of schools hold trust-wide changes "
                           "(restore a backup taken before the upgrade instead)")
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.drop_constraint('uq_notice_audience', type_='unique')
        batch_op.create_unique_constraint('uq_notice_audience', ['change_id', 'audience'])
        batch_op.drop_constraint('fk_release_notices_school_id', type_='foreignkey')
        batch_op.drop_column('school_id')
    op.drop_index(op.f('ix_school_set_members_school_id'), table_name='school_set_members')
    op.drop_table('school_set_members')
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_column('is_set')
