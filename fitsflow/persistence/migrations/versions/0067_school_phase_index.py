"""A school's changes at a step, and a requester's in their school, from one index each

Revision ID: 0067
Revises: 0066
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0067'
down_revision: str | None = '0066'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_changes_school_phase', 'changes',
                    ['school_id', 'workflow', 'state', 'updated_at', 'id'])
    op.drop_index('ix_changes_requester_id', table_name='changes')
    op.create_index('ix_changes_requester_school', 'changes',
                    ['requester_id', 'school_id', 'workflow', 'state', 'updated_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_changes_requester_school', table_name='changes')
    op.create_index('ix_changes_requester_id', 'changes', ['requester_id'])
    op.drop_index('ix_changes_school_phase', table_name='changes')
