"""A standard-change template records its screening answers and the approvals of each role
they call for (the DPO's, the DSL's beside the CAB's)

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening', sa.Text(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('approvals', sa.Text(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.drop_column('approvals')
        batch_op.drop_column('screening')
