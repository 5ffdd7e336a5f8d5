"""Alembic migrations build exactly the schema the models declare, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from fitsflow.bootstrap import build_runtime
from fitsflow.persistence import search_store
from fitsflow.persistence.migrate import current_revision, head_revision, upgrade

from .conftest import _settings, postgres_runtime, reset_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request, tmp_path):  # type: ignore[no-untyped-def]
    """A runtime on a database with no tables at all, once per engine."""
    if request.param == "sqlite":
        rt = build_runtime(_settings(), database_url=f"sqlite:///{tmp_path / 'm.db'}")
    else:
        rt = postgres_runtime()
        reset_schema(rt)
    yield rt
    rt.db.dispose()


def test_upgrade_matches_models_and_is_repeatable(empty):
    rt = empty
    upgrade(rt.db)
    upgrade(rt.db)
    assert current_revision(rt.db) == head_revision(rt.db)
    with rt.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": search_store.outside_metadata})
        assert compare_metadata(context, SQLModel.metadata) == []
        assert search_store.count(connection) == 0  # the search index exists (migration 0028)
        head = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
        assert head[0] == 0 and set(head[1]) == {"0"}


def test_upgrade_keeps_the_data_of_a_school_already_running(empty):
    """From the first schema, with users, roles, a change, a decision and a notice in it."""
    rt = empty
    upgrade(rt.db, "0001")
    stamp = "2026-01-05 09:00:00"
    with rt.db.engine.begin() as c:
        c.execute(text("INSERT INTO users (id, name, email, active, created_at) VALUES "
                       "(1, 'Nat', 'nat@old.school', true, :t), (2, 'Ben', 'ben@old.school', true, :t)"),
                  {"t": stamp})
        c.execute(text("INSERT INTO user_roles (user_id, role) VALUES (1, 'requester'), (2, 'finance')"))
        c.execute(text(
            "INSERT INTO changes (id, ref, title, description, category, workflow, requester_id, "
            "affected_services, state, version, approval_round, horizon_years, created_at, updated_at) "
            "VALUES (1, 'CHG-2026-0001', 'Old', '', 'minor', 'fits-change', 1, '', 'proceed_approval', "
            "3, 1, 5, :t, :t)"), {"t": stamp})
        c.execute(text("INSERT INTO approvals (change_id, gate, round, approver_id, role, decision, "
                       "comment, decided_at) VALUES (1, 'proceed', 1, 2, 'finance', 'reject', 'x', :t)"),
                  {"t": stamp})
        c.execute(text("INSERT INTO outbox (created_at, event, change_ref, recipient_id, subject, body, "
                       "payload, status, attempts, available_at, last_error) VALUES "
                       "(:t, 'decided', 'CHG-2026-0001', 1, 's', 'b', '{}', 'pending', 0, :t, '')"),
                  {"t": stamp})
        # Ben raised it and handed it to Nat: the trail is all that says so (migration 0032).
        c.execute(text("INSERT INTO audit_events (seq, at, actor, change_ref, event_type, payload, "
                       "prev_hash, hash) VALUES (1, '2026-01-05T09:00:00.000000+00:00', 'ben@old.school', "
                       "'CHG-2026-0001', 'change.raised', '{}', :z, :z)"), {"z": "0" * 64})
    upgrade(rt.db)
    assert current_revision(rt.db) == head_revision(rt.db)
    with rt.db.engine.connect() as c:
        holders = c.execute(text("SELECT change_id, user_id FROM change_holders ORDER BY user_id")).all()
        assert [tuple(h) for h in holders] == [(1, 1), (1, 2)]
        assert c.execute(text("SELECT count(*) FROM users")).scalar_one() == 2
        assert c.execute(text("SELECT count(*) FROM user_roles")).scalar_one() == 2
        assert c.execute(text("SELECT channel FROM outbox")).scalar_one() == "person"
        assert c.execute(text("SELECT training FROM release_plans")).all() == []
        # A trust of one school (0053): it holds every change and every person.
        assert [tuple(r) for r in c.execute(text("SELECT id, slug FROM schools"))] == [(1, "school")]
        assert [tuple(r) for r in c.execute(text(
            "SELECT school_id, user_id FROM school_members ORDER BY user_id"))] == [(1, 1), (1, 2)]
        assert c.execute(text("SELECT school_id FROM changes")).scalar_one() == 1
    from fitsflow.services import changes as changes_service

    detail = changes_service.get_change(rt, actor_id=1, ref="CHG-2026-0001")
    assert detail.change.state == "proceed_approval" and detail.approvals[0].decision == "reject"
    # A second school added later: the people of the first still see its change, not the other's.
    from fitsflow.services import schools

    with rt.db.engine.begin() as c:  # the trail's head after the event written above
        c.execute(text("UPDATE audit_head SET seq = 1, hash = :z"), {"z": "0" * 64})

    schools.add_school(rt, slug="brook", name="Brook Primary")
    assert changes_service.get_change(rt, actor_id=1, ref="CHG-2026-0001").change.ref == "CHG-2026-0001"
    newcomer = 3
    with rt.db.engine.begin() as c:  # (ids as written above: this database's sequences never moved)
        c.execute(text("INSERT INTO users (id, name, email, active, created_at) VALUES "
                       "(3, 'New', 'new@old.school', true, :t)"), {"t": stamp})
        c.execute(text("INSERT INTO user_roles (user_id, role) VALUES (3, 'requester')"))
    schools.set_user_schools(rt, email="new@old.school", slugs=["brook"])
    with rt.db.engine.begin() as c:
        c.execute(text(
            "INSERT INTO changes (id, ref, title, description, category, workflow, requester_id, "
            "affected_services, state, version, approval_round, horizon_years, created_at, updated_at, "
            "school_id) VALUES "
            "(2, 'CHG-2026-0002', 'Brook Wi-Fi', '', 'minor', 'fits-change', :u, '', 'needs_analysis', "
            "1, 0, 5, :t, :t, 2)"), {"u": newcomer, "t": stamp})
    from fitsflow.domain.errors import NotFound

    with pytest.raises(NotFound):
        changes_service.get_change(rt, actor_id=1, ref="CHG-2026-0002")
    seen = changes_service.get_change(rt, actor_id=newcomer, ref="CHG-2026-0002")
    assert seen.change.title == "Brook Wi-Fi"
