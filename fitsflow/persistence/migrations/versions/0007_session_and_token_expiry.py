"""session idle time, token scope and expiry, progressive sign-in delays

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 20:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                      server_default='write'))
        batch_op.add_column(sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # Tokens made before expiry existed last 90 days from now.
    op.execute("UPDATE api_tokens SET expires_at = CURRENT_TIMESTAMP + INTERVAL '90 days'"
               if op.get_bind().dialect.name == "postgresql"
               else "UPDATE api_tokens SET expires_at = datetime('now', '+90 days')")


def downgrade() -> None:
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_column('last_at')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
