"""Everyone who has ever owned a change (requester or co-owner), so that nobody decides on a
change they once owned, whatever happened since

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 09:00:00
"""

import json
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0032'
down_revision: str | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        'change_holders',
        sa.Column('change_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('since', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['change_id'], ['changes.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('change_id', 'user_id'),
    )
    with op.batch_alter_table('change_holders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_holders_user_id'), ['user_id'], unique=False)
    bind = op.get_bind()
    op.execute("INSERT INTO change_holders (change_id, user_id, since) SELECT id, requester_id, created_at "
               "FROM changes")
    op.execute("INSERT INTO change_holders (change_id, user_id, since) SELECT o.change_id, o.user_id, "
               "o.added_at FROM change_owners o JOIN changes c ON c.id = o.change_id "
               "WHERE o.user_id <> c.requester_id")
    known = {(c, u) for c, u in bind.execute(sa.text("SELECT change_id, user_id FROM change_holders"))}
    held: dict[tuple[int, int], datetime] = {}
    # Owners before a handover or a removal are in the audit trail only: by email where it
    # names one (who raised it, to whom it was handed), by name where that is unique.
    ids = {ref: cid for cid, ref in bind.execute(sa.text("SELECT id, ref FROM changes"))}
    by_email = {email: uid for uid, email in bind.execute(sa.text("SELECT id, email FROM users"))}
    names: dict[str, list[int]] = {}
    for uid, name in bind.execute(sa.text("SELECT id, name FROM users")):
        names.setdefault(name, []).append(uid)
    events = bind.execute(sa.text(
        "SELECT change_ref, actor, event_type, payload, at FROM audit_events WHERE event_type IN "
        "('change.raised', 'change.transferred', 'change.co_owner_added')"))
    for ref, actor, kind, payload, at in events:
        change_id = ids.get(ref)
        if change_id is None:
            continue
        data = json.loads(payload)
        if kind == "change.raised":
            user_id = by_email.get(actor)
        elif kind == "change.transferred":
            user_id = by_email.get(data.get("to_email", ""))
        else:
            found = names.get(data.get("user", ""), [])
            user_id = found[0] if len(found) == 1 else None
        if user_id is not None:
            held.setdefault((change_id, user_id), datetime.fromisoformat(at))
    missing = [{"change_id": c, "user_id": u, "since": at}
               for (c, u), at in held.items() if (c, u) not in known]
    if missing:
        op.bulk_insert(table, missing)


def downgrade() -> None:
    with op.batch_alter_table('change_holders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_holders_user_id'))
    op.drop_table('change_holders')
