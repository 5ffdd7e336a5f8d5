"""A published release notice carries its latest correction (the release moved or was
postponed), shown with it wherever it is read

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0041'
down_revision: str | None = '0040'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('corrected_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('release_notices', schema=None) as batch_op:
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('correction')
