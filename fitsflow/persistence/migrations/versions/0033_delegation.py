"""Delegation with authority: an absence names the roles its substitute may decide in and
waits for a second administrator when another recorded it; role_grants holds every
privileged act waiting for one (a role given or taken away, a deactivation, an absence)

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roles', sa.String(length=400), server_default='', nullable=False))
        batch_op.add_column(sa.Column('confirmed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('act', sa.String(length=12), server_default='grant', nullable=False))
        batch_op.add_column(sa.Column('absence_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_role_grants_absence_id', 'absences', ['absence_id'], ['id'])
    # Absences recorded before stand as they were: confirmed, in the roles the person held.
    op.execute("UPDATE absences SET confirmed_at = created_at")
    bind = op.get_bind()
    held: dict[int, list[str]] = {}
    for user_id, role in bind.execute(sa.text("SELECT user_id, role FROM user_roles ORDER BY role")):
        held.setdefault(user_id, []).append(role)
    for absence_id, user_id in bind.execute(sa.text("SELECT id, user_id FROM absences")).all():
        bind.execute(sa.text("UPDATE absences SET roles = :r WHERE id = :i"),
                     {"r": " ".join(held.get(user_id, [])), "i": absence_id})


def downgrade() -> None:
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_constraint('fk_role_grants_absence_id', type_='foreignkey')
        batch_op.drop_column('absence_id')
        batch_op.drop_column('act')
    with op.batch_alter_table('absences', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('roles')
