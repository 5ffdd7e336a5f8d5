"""Issue 21.2/21.3: a page calls several services, and each loaded the acting person again (7
times for a requester's home) and the badge counted the unread notifications twice. Now a
request reads them once; any unit of work in the request forgets them, so it never shows
what it wrote as it was before."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from . import factories as f
from .web_support import WebSchool, login, make_app


def test_a_request_remembers_its_reads_until_a_unit_of_work(rt):
    reads: list[int] = []

    def read() -> int:
        reads.append(1)
        return len(reads)

    assert rt.db.remembered("k", read) == 1 and rt.db.remembered("k", read) == 2  # not remembering
    with rt.db.remembering():
        assert rt.db.remembered("k", read) == 3 and rt.db.remembered("k", read) == 3
        with rt.db.transaction():
            pass
        assert rt.db.remembered("k", read) == 4  # forgotten by the unit of work
    assert rt.db.remembered("k", read) == 5


def test_a_page_reads_the_acting_person_once_and_sees_its_own_writes(rt, tmp_path):
    school = WebSchool(rt)
    f.change_in(rt, school, "minor", "released")  # the requester is told at each step
    client = make_app(rt, tmp_path).test_client()
    assert login(client, school.emails[school.requester]).status_code == 302
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", seen)  # the read engine's too (its options')
    try:
        assert client.get("/").status_code == 200
        actor_reads = [s for s in statements if "must_change_password" in s and "FROM users" in s]
        badge = [s for s in statements if "inbox_items" in s and "read_at IS NULL" in s]
        assert len(actor_reads) == 1, "\n\n".join(actor_reads)  # the home page calls six services
        assert len(badge) == 1, len(badge)
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", seen)
    # A request that writes sees what it wrote: the badge after marking one read.
    from fitsflow.delivery.worker import Worker
    from fitsflow.services import inbox

    f.drain(Worker(rt, email=None, webhook=None, clock=rt.now))
    with rt.db.remembering():
        before = inbox.unread_count(rt, actor_id=school.requester)
        assert before >= 1 and inbox.my_notices(rt, actor_id=school.requester, limit=5).unread == before
        inbox.mark_read(rt, actor_id=school.requester, item_id=inbox.my_notices(
            rt, actor_id=school.requester, limit=1).items[0].id)
        assert inbox.unread_count(rt, actor_id=school.requester) == before - 1


def test_the_approvals_page_counts_what_waits_once(rt, tmp_path):
    """The approvals page counted the approver's queue for its total and again, per gate, for
    the navigation: the same numbers, now read once a request (and they agree)."""
    school = WebSchool(rt)
    for _ in range(3):
        f.change_in(rt, school, "minor", "implement_approval")
    client = make_app(rt, tmp_path).test_client()
    assert login(client, school.emails[school.cab[0]]).status_code == 302
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(rt.db.engine, "before_cursor_execute", seen)
    try:
        page = client.get("/approvals")
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", seen)
    assert page.status_code == 200
    counts = [s for s in statements if "count(" in s.lower() and "approval" in s.lower()
              and "changes.workflow" in s and "FROM changes" in s]
    assert len(counts) == 1, "\n\n".join(counts)
    html = page.get_data(as_text=True)
    assert "1–3 of 3" in html


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def pooled_rt(request, tmp_path):  # type: ignore[no-untyped-def]
    """A database whose pool hands out connections of its own (not one shared in-memory one)."""
    return request.getfixturevalue("file_rt" if request.param == "sqlite" else "pg_rt")


def test_a_requests_reads_share_one_connection_each_its_own_transaction(pooled_rt):
    """A page's services each open a read; in a request they take the pool's connection once
    (on PostgreSQL each checkout cost a ping), and each read is still its own transaction: a
    unit of work between two reads is seen by the second, a read inside a read takes its own
    connection, and the connection goes back to the pool when the request ends (or a unit of
    work begins)."""
    from sqlalchemy import text

    rt = pooled_rt
    school = f.School(rt)
    checkouts: list[int] = []

    def out(dbapi_connection, record, proxy):  # type: ignore[no-untyped-def]
        checkouts.append(id(dbapi_connection))

    event.listen(rt.db.engine.pool, "checkout", out)
    try:
        with rt.db.remembering():
            with rt.db.read() as session:
                before = session.execute(text("SELECT count(*) FROM changes")).scalar_one()
                with rt.db.read() as inner:  # the shared connection is in a transaction: another
                    assert inner.execute(text("SELECT count(*) FROM changes")).scalar_one() == before
                assert session.execute(text("SELECT count(*) FROM changes")).scalar_one() == before
            assert len(checkouts) == 2 and checkouts[0] != checkouts[1]
            f.change_in(rt, school, "minor", "needs_analysis")  # units of work: their own connection
            writes = len(checkouts)
            for _ in range(3):
                with rt.db.read() as session:
                    assert session.execute(text("SELECT count(*) FROM changes")).scalar_one() == before + 1
            # The units of work put the request's idle read connection back before writing: the
            # first of the three reads takes one again, the other two share it.
            assert len(checkouts[writes:]) == 1
        assert rt.db.engine.pool.checkedout() == 0  # back in the pool at the request's end
        with rt.db.read() as session:  # outside a request: a connection of its own each time
            session.execute(text("SELECT 1"))
        assert len(checkouts) == writes + 2
    finally:
        event.remove(rt.db.engine.pool, "checkout", out)


def test_requests_that_read_then_write_never_wait_for_each_others_read_connections(file_rt):
    """As many requests at once as the pool has connections, each holding its read connection
    when it comes to write: the write puts the idle read connection back first, so every
    request has one connection at a time and none waits for the pool (it waited for ever —
    until the pool's timeout — when each kept its read connection through the write)."""
    import threading

    from sqlalchemy import text

    rt = file_rt
    pool = rt.db.engine.pool
    threads = pool.size() + pool._max_overflow  # type: ignore[attr-defined]  # every connection it gives
    all_reading = threading.Barrier(threads, timeout=20)
    failures: list[BaseException] = []

    def request() -> None:
        try:
            with rt.db.remembering():
                with rt.db.read() as session:
                    session.execute(text("SELECT count(*) FROM changes")).scalar_one()
                all_reading.wait()  # every thread now holds its read connection
                with rt.db.transaction() as session:
                    session.execute(text("UPDATE audit_head SET id = id WHERE id = 1"))
                rt.db.try_write(lambda connection: connection.execute(text("SELECT 1")), wait_ms=10_000)
                with rt.db.read() as session:
                    session.execute(text("SELECT 1")).scalar_one()
        except BaseException as err:  # noqa: BLE001 - reported below
            failures.append(err)

    running = [threading.Thread(target=request, daemon=True) for _ in range(threads)]
    for t in running:
        t.start()
    for t in running:
        t.join(timeout=25)
    assert not [t for t in running if t.is_alive()], "a request still waits for a connection"
    assert failures == []
    assert pool.checkedout() == 0
