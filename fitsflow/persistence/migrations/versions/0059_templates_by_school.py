"""A standard-change template may be one school's (its people see and use it, its CAB
approves it); every template an installation had is the trust's (school_id NULL)

Revision ID: 0059
Revises: 0058
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0059'
down_revision: str | None = '0058'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_standard_templates_school_id'), ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_standard_templates_school_id', 'schools', ['school_id'], ['id'])


def downgrade() -> None:
    held = op.get_bind().execute(
        sa.text("SELECT count(*) FROM standard_templates WHERE school_id IS NOT NULL")).scalar_one()
    if held:
        # Each would become the trust's, every school's: refused.
        raise RuntimeError(f"cannot downgrade: {held} templates are one school's own "
                           "(restore a backup taken before the upgrade instead)")
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.drop_constraint('fk_standard_templates_school_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_standard_templates_school_id'))
        batch_op.drop_column('school_id')
