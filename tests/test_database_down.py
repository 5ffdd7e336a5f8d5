"""Issue: while PostgreSQL was unreachable, signed-in web pages answered blank 500s — the
503 page's layout loaded the signed-in person and the navigation's counts from the
database again — and some connection errors became a 500 labelled ``invalid``. The 503
page now needs no database, and every way a connection fails is a 503 with Retry-After,
on the web as in the API.

PostgreSQL is reached through a TCP forwarder the test closes: new connections are
refused and the pooled ones are cut, as when the server goes away."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fitsflow.bootstrap import build_runtime
from fitsflow.persistence import failures

from . import conftest
from .conftest import at_test_time, postgres_runtime
from .web_support import WebSchool, bearer, login, make_app


class Forwarder:
    """127.0.0.1:port → PostgreSQL, until closed (then every connection through it is cut)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.closed.set()
        try:  # wakes the accept() blocked in the other thread; close() alone would not
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def through_forwarder(tmp_path) -> Iterator[tuple]:  # type: ignore[no-untyped-def, type-arg]
    direct = postgres_runtime()  # skips (or fails under CI) without PostgreSQL; makes the schema
    url = make_url(conftest.test_schema_url())
    forwarder = Forwarder((url.host or "127.0.0.1", url.port or 5432))
    rt = at_test_time(build_runtime(direct.settings, database_url=url.set(
        host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)))
    try:
        yield rt, forwarder, make_app(rt, tmp_path)
    finally:
        forwarder.close()
        rt.db.dispose()
        direct.db.dispose()


@pytest.mark.postgres
def test_with_postgresql_gone_pages_and_the_api_answer_503_with_retry_after(through_forwarder):
    rt, forwarder, app = through_forwarder
    school = WebSchool(rt)
    client = app.test_client()
    assert login(client, school.emails[school.requester]).status_code == 302
    assert client.get("/").status_code == 200
    headers = bearer(rt, school.requester)
    assert app.test_client().get("/api/v1/changes", headers=headers).status_code == 200

    forwarder.close()
    for path in ("/", "/changes", "/notices", "/account", "/login"):
        r = client.get(path)
        page = r.get_data(as_text=True)
        assert r.status_code == 503, (path, r.status_code, page[:300])
        assert int(r.headers["Retry-After"]) > 0
        assert "The database cannot be reached" in page and "</html>" in page, path
    r = app.test_client().get("/api/v1/changes", headers=headers)
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.get_json()["code"] == "unavailable"


def test_every_way_a_connection_fails_is_a_storage_problem():
    import psycopg  # a dev dependency (requirements.lock): this test always runs
    from sqlalchemy.exc import InterfaceError, OperationalError

    for orig in (psycopg.OperationalError("consuming input failed: the connection is lost"),
                 psycopg.OperationalError("SSL SYSCALL error: EOF detected"),
                 psycopg.InterfaceError("the connection is closed")):
        wrapped = (OperationalError if isinstance(orig, psycopg.OperationalError) else InterfaceError)(
            "SELECT 1", {}, orig)
        problem = failures.classify(wrapped)
        assert problem is not None and problem.kind == failures.UNREACHABLE, orig
    assert failures.classify(PoolTimeout("QueuePool limit reached")).kind == failures.BUSY  # type: ignore[union-attr]
    assert failures.classify(DisconnectionError("gone")).kind == failures.UNREACHABLE  # type: ignore[union-attr]
    # An error of ours is not a storage problem: it stays a 500.
    assert failures.classify(OperationalError("SELECT 1", {}, psycopg.errors.SyntaxError("bad"))) is None
