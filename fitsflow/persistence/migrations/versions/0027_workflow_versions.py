"""Workflow versions: each change runs on the definition it started with

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('workflow_versions',
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_versions_name'), ['name'], unique=False)
    # Existing changes get the version of the workflow loaded when fitsflow next starts
    # (services.workflow_versions.prepare): the files are not known to a migration.
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workflow_version', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_changes_workflow_version'), ['workflow_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_changes_workflow_version'))
        batch_op.drop_column('workflow_version')
    with op.batch_alter_table('workflow_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_versions_name'))
    op.drop_table('workflow_versions')
