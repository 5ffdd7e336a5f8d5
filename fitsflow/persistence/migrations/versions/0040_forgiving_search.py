"""The search index again, as it is now written: accents taken off and compounds also as one
word ("Wi-Fi" → wifi), so "wifi", "Wi-Fi" and "wi fi" find the same changes

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

from alembic import op

from fitsflow.persistence import search_store

revision: str = '0040'
down_revision: str | None = '0039'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    search_store.reindex(op.get_bind())


def downgrade() -> None:
    search_store.reindex(op.get_bind())  # the older reader finds in it all it found before
