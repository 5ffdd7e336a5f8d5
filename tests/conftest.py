"""Fixtures: a fresh runtime per test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from fitsflow.bootstrap import build_runtime
from fitsflow.config import Settings, load_settings
from fitsflow.services.runtime import Runtime

POSTGRES_URL = os.environ.get("FITSFLOW_TEST_POSTGRES_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
# Another schema lets two runs share one database (FITSFLOW_TEST_SCHEMA).
TEST_SCHEMA = os.environ.get("FITSFLOW_TEST_SCHEMA", "fitsflow_test")


def _settings(**sections: dict) -> Settings:
    return load_settings(environ={}).replace(**sections)


# Every test's runtime starts at the same moment, whatever day the suite runs: a term-time
# Tuesday morning (autumn term, no holiday, exam, freeze or clock change within weeks). The
# clock runs on from there, so order and durations are real. A test about another time of
# year sets it (``rt.clock.set``); nothing in a test reads the machine's date.
TEST_NOW = datetime(2026, 11, 17, 10, 0, tzinfo=UTC)


# The year's edges, for the tests whose outcome depends on the calendar: a term-time
# Tuesday, Christmas Eve, the middle of the GCSE series, the night the clocks go back (01:30,
# the hour that happens twice) and a leap day.
YEAR_EDGES = (TEST_NOW, datetime(2026, 12, 24, 10, 0, tzinfo=UTC), datetime(2027, 5, 25, 10, 0, tzinfo=UTC),
              datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2028, 2, 29, 10, 0, tzinfo=UTC))


def at_test_time(rt: Runtime) -> Runtime:
    rt.clock.set(TEST_NOW, running=True)
    return rt


def sqlite_runtime(url: str = "sqlite://") -> Runtime:
    rt = build_runtime(_settings(), database_url=url)
    rt.db.create_all()
    return at_test_time(rt)


def require_postgres() -> str:
    """The PostgreSQL URL the suite runs against: a skip that says why without one, a
    failure under CI (where these tests must run)."""
    if not POSTGRES_URL:
        message = ("PostgreSQL tests did not run: set FITSFLOW_TEST_POSTGRES_URL, e.g. "
                   "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        if IN_CI:
            pytest.fail(message + " (required under CI=true)")
        pytest.skip(message)
    return POSTGRES_URL


def postgres_runtime(**sections: dict) -> Runtime:
    require_postgres()
    rt = build_runtime(_settings(**sections), database_url=test_schema_url())
    reset_schema(rt)
    rt.db.create_all()
    return at_test_time(rt)


def test_schema_url() -> str:
    """The PostgreSQL URL with every connection confined to a schema of the suite's own."""
    url = make_url(POSTGRES_URL)
    url = url.update_query_dict({"options": f"-csearch_path={TEST_SCHEMA}"})
    return url.render_as_string(hide_password=False)


def reset_schema(rt: Runtime) -> None:
    with rt.db.engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {TEST_SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {TEST_SCHEMA}"))


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
