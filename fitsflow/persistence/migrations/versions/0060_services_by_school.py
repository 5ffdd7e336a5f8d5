"""A service may be one school's own (its changes choose it, its administrators edit it);
every service an installation had is the trust's (school_id NULL)

Revision ID: 0060
Revises: 0059
Create Date: 2026-12-07 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0060'
down_revision: str | None = '0059'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('school_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_services_school_id'), ['school_id'], unique=False)
        batch_op.create_foreign_key('fk_services_school_id', 'schools', ['school_id'], ['id'])


def downgrade() -> None:
    held = op.get_bind().execute(
        sa.text("SELECT count(*) FROM services WHERE school_id IS NOT NULL")).scalar_one()
    if held:
        # Each would become the trust's, every school's: refused.
        raise RuntimeError(f"cannot downgrade: {held} services are one school's own "
                           "(restore a backup taken before the upgrade instead)")
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_constraint('fk_services_school_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_services_school_id'))
        batch_op.drop_column('school_id')
