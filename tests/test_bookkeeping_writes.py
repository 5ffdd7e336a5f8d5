"""Issue 21: an API write waited for the disk twice, once for its per-minute count and once
for itself. A bookkeeping write (a count, a last-used stamp) now commits without waiting for
the disk, and the connection it used goes back to the pool waiting again, so no decision is
ever committed on a lighter setting."""

from __future__ import annotations

from typing import Any

import pytest

from fitsflow.services import auth

LEVEL = {"sqlite": "PRAGMA synchronous", "postgresql": "SHOW synchronous_commit"}
LIGHT = {"sqlite": 1, "postgresql": "off"}  # NORMAL: a power cut may lose it, never corrupt
WAITS = {"sqlite": 2, "postgresql": "on"}  # FULL, as database.sqlite_synchronous sets


@pytest.mark.parametrize("which", ["file_rt", pytest.param("pg_rt", marks=pytest.mark.postgres)])
def test_a_bookkeeping_write_does_not_wait_for_the_disk_and_its_connection_goes_back_waiting(which, request):
    rt = request.getfixturevalue(which)
    dialect = rt.db.dialect
    seen: dict[str, Any] = {}

    def note(connection: Any) -> None:
        seen["level"] = connection.exec_driver_sql(LEVEL[dialect]).scalar_one()
        seen["raw"] = connection.connection.dbapi_connection

    rt.db.try_write(note, durable=False)
    assert seen["level"] == LIGHT[dialect]
    light = seen["raw"]
    rt.db.try_write(note)
    assert seen["level"] == WAITS[dialect]
    # The very connection the light write used, taken from the pool again, waits again.
    held = []
    try:
        for _ in range(rt.db.engine.pool.size() + 1):
            connection = rt.db.engine.connect()
            held.append(connection)
            if connection.connection.dbapi_connection is light:
                assert connection.exec_driver_sql(LEVEL[dialect]).scalar_one() == WAITS[dialect]
                break
        else:
            pytest.fail("the light write's connection did not go back to the pool")
    finally:
        for connection in held:
            connection.close()


def test_an_api_write_is_counted_by_a_write_that_does_not_wait_for_the_disk(file_rt, monkeypatch):
    rt = file_rt
    asked: list[bool] = []
    real = rt.db.try_write

    def watched(work: Any, **options: Any) -> Any:
        asked.append(options.get("durable", True))
        return real(work, **options)

    monkeypatch.setattr(rt.db, "try_write", watched)
    auth.count_api_write(rt, user_id=1)
    assert asked == [False]
