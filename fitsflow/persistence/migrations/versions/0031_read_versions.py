"""A version per cached read (schedule, feeds), moved only by the events that can change
what it shows, so signing in no longer empties the forward schedule's cache; kept in the
audit head's row, written with it

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READS = ("schedule", "feeds")


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        for name in READS:
            batch_op.add_column(sa.Column(f'{name}_seq', sa.Integer(), server_default='0', nullable=False))
            batch_op.add_column(sa.Column(f'{name}_hash', sa.String(length=64), server_default='',
                                          nullable=False))
    # Both start at the chain's head: whatever was cached before the upgrade is stale.
    op.execute("UPDATE audit_head SET " + ", ".join(f"{n}_seq = seq, {n}_hash = hash" for n in READS))


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        for name in READS:
            batch_op.drop_column(f'{name}_hash')
            batch_op.drop_column(f'{name}_seq')
