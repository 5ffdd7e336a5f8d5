"""A version per cached read (schedule, feeds), moved only by the events that can change
what it shows, so signing in no longer empties the forward schedule's cache

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


def upgrade() -> None:
    table = op.create_table(
        'read_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # Both start at the chain's head: whatever was cached before the upgrade is stale.
    head = op.get_bind().execute(sa.text("SELECT seq, hash FROM audit_head WHERE id = 1")).one()
    op.bulk_insert(table, [{"name": name, "seq": head.seq, "hash": head.hash}
                           for name in ("schedule", "feeds")])


def downgrade() -> None:
    op.drop_table('read_versions')
