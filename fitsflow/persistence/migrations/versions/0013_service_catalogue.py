"""the service catalogue with dependencies; changes' free-text services become entries

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    services = op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_name'), ['name'], unique=True)
    op.create_table('service_dependencies',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('depends_on_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['depends_on_id'], ['services.id'], ),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], ),
    sa.PrimaryKeyConstraint('service_id', 'depends_on_id')
    )
    # Services changes already name become catalogue entries, so every change keeps them.
    rows = op.get_bind().execute(sa.text("SELECT affected_services FROM changes")).all()
    names: dict[str, str] = {}
    for (text,) in rows:
        for name in (text or "").split("\n"):
            if name.strip():
                names.setdefault(name.strip().lower(), name.strip()[:100])
    if names:
        now = datetime.now(UTC)
        op.bulk_insert(services, [{"name": n, "description": "", "active": True, "created_at": now}
                                  for n in sorted(names.values())])


def downgrade() -> None:
    op.drop_table('service_dependencies')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_name'))
    op.drop_table('services')
