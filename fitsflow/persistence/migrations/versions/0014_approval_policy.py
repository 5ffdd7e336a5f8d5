"""the approval policy: screening answers and DPIA reference, the scored risk assessment,
and each gate round's approvers as the policy computed them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('needs_analyses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screening', sa.Text(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('dpia_reference', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      server_default='', nullable=False))
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('risk_answers', sa.Text(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('risk_score', sa.Integer(), nullable=True))
    op.create_table('gate_requirements',
    sa.Column('change_id', sa.Integer(), nullable=False),
    sa.Column('gate', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('needed', sa.Integer(), nullable=False),
    sa.Column('why', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['change_id'], ['changes.id'], ),
    sa.PrimaryKeyConstraint('change_id', 'gate', 'round', 'role')
    )
    with op.batch_alter_table('gate_requirements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_requirements_role'), ['role'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('gate_requirements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gate_requirements_role'))
    op.drop_table('gate_requirements')
    with op.batch_alter_table('release_plans', schema=None) as batch_op:
        batch_op.drop_column('risk_score')
        batch_op.drop_column('risk_answers')
    with op.batch_alter_table('needs_analyses', schema=None) as batch_op:
        batch_op.drop_column('dpia_reference')
        batch_op.drop_column('screening')
