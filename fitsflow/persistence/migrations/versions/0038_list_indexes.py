"""Indexes for every filter and sort of the change lists, and the affected services as rows,
so a page's cost follows the page, not the school's history

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0038'
down_revision: str | None = '0037'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_changes_phase_updated": ["workflow", "state", "updated_at", "id"],
    "ix_changes_requester_phase": ["requester_id", "workflow", "state", "updated_at", "id"],
    "ix_changes_requester_updated": ["requester_id", "updated_at", "id"],
    "ix_changes_updated": ["updated_at", "id"],
    "ix_changes_created": ["created_at", "id"],
    "ix_changes_state_updated": ["state", "updated_at", "id"],
    "ix_changes_category_updated": ["category", "updated_at", "id"],
    "ix_changes_title": ["title", "id"],
}


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    table = op.create_table(
        'change_services',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('service', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.PrimaryKeyConstraint('change_id', 'service'),
    )
    with op.batch_alter_table('change_services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_services_service'), ['service'], unique=False)
    rows = op.get_bind().execute(sa.text("SELECT id, affected_services FROM changes")).all()
    found = [{"change_id": cid, "service": name[:200]} for cid, text in rows
             for name in dict.fromkeys(s for s in (text or "").split("\n") if s)]
    if found:
        op.bulk_insert(table, found)


def downgrade() -> None:
    with op.batch_alter_table('change_services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_services_service'))
    op.drop_table('change_services')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
