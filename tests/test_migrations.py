"""Alembic migrations build exactly the schema the models declare, on both engines."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

from fitsflow.persistence.migrate import current_revision, head_revision, upgrade
from fitsflow.services.runtime import build_runtime

from .conftest import POSTGRES_URL, _settings, postgres_runtime, reset_schema


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrade_matches_models_and_is_repeatable(engine, tmp_path):
    if engine == "sqlite":
        rt = build_runtime(_settings(), database_url=f"sqlite:///{tmp_path / 'm.db'}")
    else:
        rt = postgres_runtime()
        reset_schema(rt)
    assert POSTGRES_URL or engine == "sqlite"
    upgrade(rt.db)
    upgrade(rt.db)
    assert current_revision(rt.db) == head_revision(rt.db)
    with rt.db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
        head = connection.execute(text("SELECT seq, hash FROM audit_head")).one()
        assert head[0] == 0 and set(head[1]) == {"0"}
    rt.db.dispose()
