"""Fixtures: a fresh runtime per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from fitsflow.config import load_config
from fitsflow.services.runtime import Runtime, build_runtime

POSTGRES_URL = os.environ.get("FITSFLOW_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _settings() -> dict:
    return load_config(environ={})


def sqlite_runtime(url: str = "sqlite://") -> Runtime:
    rt = build_runtime(_settings(), database_url=url)
    rt.db.create_all()
    return rt


def postgres_runtime() -> Runtime:
    if not POSTGRES_URL:
        message = ("PostgreSQL tests did not run: set FITSFLOW_TEST_POSTGRES_URL, e.g. "
                   "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    rt = build_runtime(_settings(), database_url=POSTGRES_URL)
    with rt.db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    rt.db.create_all()
    return rt


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def rt(request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """A runtime on an empty database, once per engine."""
    runtime = sqlite_runtime() if request.param == "sqlite" else postgres_runtime()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def sqlite_rt() -> Iterator[Runtime]:
    runtime = sqlite_runtime()
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def file_rt(tmp_path) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    """SQLite in a file (WAL, several connections), as a school would run it."""
    runtime = sqlite_runtime(f"sqlite:///{tmp_path / 'fitsflow.db'}")
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def pg_rt() -> Iterator[Runtime]:
    runtime = postgres_runtime()
    yield runtime
    runtime.db.dispose()
