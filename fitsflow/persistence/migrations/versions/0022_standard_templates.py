"""standard-change templates, and the template a standard change was raised from

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('standard_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('services', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('max_cost', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.Column('backout_plan', sa.Text(), nullable=False),
    sa.Column('used_by', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['proposed_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standard_templates_proposed_by'), ['proposed_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_standard_templates_state'), ['state'], unique=False)
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_changes_template_id'), ['template_id'], unique=False)
        batch_op.create_foreign_key('fk_changes_template_id', 'standard_templates', ['template_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_constraint('fk_changes_template_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_changes_template_id'))
        batch_op.drop_column('template_id')
    with op.batch_alter_table('standard_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standard_templates_state'))
        batch_op.drop_index(batch_op.f('ix_standard_templates_proposed_by'))
    op.drop_table('standard_templates')
