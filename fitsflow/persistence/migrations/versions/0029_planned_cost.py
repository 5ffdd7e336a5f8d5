"""The planned cost kept on each change, indexed, for the register's cost filter and sort

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_cost', sa.Numeric(precision=14, scale=2), server_default='0',
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_changes_planned_cost'), ['planned_cost'], unique=False)
    op.execute("UPDATE changes SET planned_cost = (SELECT COALESCE(SUM(amount), 0) FROM cost_lines "
               "WHERE cost_lines.change_id = changes.id AND NOT cost_lines.actual "
               "AND cost_lines.year_offset >= 0 AND cost_lines.year_offset < changes.horizon_years)")


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_changes_planned_cost'))
        batch_op.drop_column('planned_cost')
