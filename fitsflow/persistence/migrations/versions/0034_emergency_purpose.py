"""An emergency says whether it restores a service that is down or protects one at risk

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0034'
down_revision: str | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emergency_purpose', sa.String(length=10), server_default='',
                                      nullable=False))
    # Emergencies raised before said only why they could not wait: read as restoring a
    # service (their money approvers, if any, are asked before they close).
    op.execute("UPDATE changes SET emergency_purpose = 'restore' WHERE category = 'emergency'")


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('emergency_purpose')
