"""``fitsflow serve``: the web app under gunicorn; ``fitsflow token``: API tokens."""

from __future__ import annotations

import functools
import itertools
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from .. import security_log
from ..services import auth
from .base import State, actor_id, as_option, echo, pass_state

if TYPE_CHECKING:
    from ..delivery.worker import Background
    from ..services.in_use import UsageLock
    from ..services.runtime import Runtime


@click.command()
@click.option("--bind", help="Address to listen on (default: [server] bind).")
@click.option("--workers", type=int, help="Worker processes (default: [server] workers).")
@click.option("--threads", type=int, help="Threads per worker (default: [server] threads).")
@pass_state
def serve(state: State, bind: str | None, workers: int | None, threads: int | None) -> None:
    """Serve the web interface and API with gunicorn."""
    from gunicorn.app.base import BaseApplication

    from ..services import in_use, schema

    rt = state.runtime  # built once: refuses to start on invalid workflows or configuration
    server = rt.settings.server
    if not schema.is_current(rt.db):
        raise click.ClickException(f"the database {rt.db.display_url} is not up to date: "
                                   "run 'fitsflow init' first")
    state.started()
    in_use.refuse_while_restoring(rt.db)  # at once, not from each worker

    def options_for(server: Any) -> dict[str, Any]:
        """gunicorn's settings: the command's options over the [server] settings."""
        count = threads or server.threads
        return {
            "bind": bind or server.bind, "workers": workers or server.workers, "threads": count,
            "forwarded_allow_ips": server.forwarded_allow_ips, "accesslog": "-", "errorlog": "-",
            "worker_class": "gthread" if count > 1 else "sync",
            # SIGTERM: stop taking connections, finish those held, then exit. SIGHUP:
            # gunicorn starts new workers on the listening socket it keeps and stops the
            # old ones the same way, so no connection is dropped.
            "graceful_timeout": server.graceful_timeout,
            # gunicorn's control socket is one path per user: a second fitsflow on the
            # machine would take it over, and nothing here uses it.
            "control_socket_disable": True,
            # A worker process leaving (a reload, a stop, max requests) gives its delivery
            # slot up, so the next process delivers at once rather than after a heartbeat.
            "worker_exit": _stop_delivery,
            "post_request": _now_and_then_give_memory_back,
        }

    _without_server_header()
    _fewer_malloc_arenas()
    _bank_holidays_apart(rt)
    # A worker's threads share one interpreter lock; a thread back from the database waits for
    # a busy one to let go, by default up to 5 ms each time. 1 ms keeps a quick read quick
    # beside decisions being written (bench/web_bench.py's read under writes).
    sys.setswitchinterval(0.001)
    security_log.install()  # the server's security events, as JSON lines on stderr
    current = _Serving(rt)

    class Server(BaseApplication):
        def load_config(self) -> None:
            # Called at start and, in the master, on each SIGHUP: then the settings and
            # workflows are read again and checked, and only a valid set replaces the old.
            current.loads += 1
            if current.loads > 1:
                _reload(state, current)
            for key, value in options_for(current.runtime.settings.server).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from ..web import create_app

            # Each worker process gets the runtime the master built (inherited at fork),
            # with fresh database connections of its own.
            runtime = current.runtime
            runtime.db.after_fork()
            # Held for this worker process's life, so a restore refuses while it serves.
            _usage.append(in_use.hold(runtime.db))
            app = create_app(runtime)
            if runtime.settings.delivery.in_process:
                from ..delivery.worker import start_in_background

                _delivery.append(start_in_background(runtime))
            _freeze_what_lives()
            return app

    options = options_for(server)
    address = options["bind"]
    echo(f"fitsflow: serving {rt.settings.school.name} from {rt.db.display_url} "
         f"(settings: {rt.settings.source})")
    echo(f"fitsflow: http://{address}/ ({options['workers']} workers × {options['threads']} threads); "
         f"sign in at http://{address}/login")
    if rt.settings.delivery.in_process:
        echo("fitsflow: delivering notices in-process (set delivery.in_process = false "
             "to run 'fitsflow worker' separately)")
    if not rt.settings.web.secure_cookies:
        echo("fitsflow: secure cookies are OFF (plain http): use only on this computer")
    _freeze_what_lives()  # what the master built: the workers fork from it
    Server().run()


# This worker process's delivery thread, if it runs one, and its hold on the database (set
# in the process after fork).
_delivery: list[Background] = []
_usage: list[UsageLock] = []


def _stop_delivery(server: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook, run in the worker process as it exits."""
    while _delivery:
        _delivery.pop().close(timeout=float(worker.cfg.graceful_timeout or 5))
    while _usage:
        _usage.pop().release()


@dataclass
class _Serving:
    """What the gunicorn master serves: replaced as a whole on a valid reload."""

    runtime: Runtime
    loads: int = 0


def _reload(state: State, current: _Serving) -> None:
    """On SIGHUP: settings, roles, workflows and their versions again, from the same file.
    A mistake in them keeps the server on the previous ones and says why."""
    from ..domain.errors import ConfigError, FitsflowError
    from ..services import workflow_versions

    try:
        fresh = state.fresh_runtime()
        workflow_versions.prepare(fresh)
    except (ConfigError, FitsflowError) as err:
        problems = "; ".join(getattr(err, "problems", None) or [str(err)])
        echo(f"fitsflow: reload refused, still serving the previous settings: {problems}", err=True)
        return
    old = current.runtime
    current.runtime = fresh
    old.db.dispose()
    del old
    _freeze_what_lives(thawed=True)
    echo(f"fitsflow: reloaded settings from {fresh.settings.source}", err=True)


def _freeze_what_lives(*, thawed: bool = False) -> None:
    """Move every object alive now (modules, the app, the runtime) out of the garbage
    collector's sight, as Python's docs advise before a fork. Its oldest generation was walked
    whole every few dozen requests: over a worker's 200,000 objects, a pause of about 100 ms
    that one request in sixty waited for (the requester's home in-process: 2.2 ms of collection
    a request, 0.1 ms once frozen). Unseen, a worker's copy of the master's objects is also left
    unwritten, so stays shared. What is garbage now is collected first: a frozen object is
    never freed. ``thawed``: what was frozen before is let go first (the master, after a
    reload: the runtime it replaced is then freed)."""
    import gc

    if thawed:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


# glibc's mallopt parameter for the most arenas it keeps (malloc.h).
_M_ARENA_MAX = -8


def _fewer_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread that meets another in malloc an arena of its own, up to eight
    per core, and memory freed in one arena is reused only there: a gthread worker's threads
    each kept their own share of what they once held (bench/peer's request mix with
    MALLOC_ARENA_MAX=2 in the environment: 133 and 128 MB a worker after 10,000 requests, against
    146 and 141). Set in the master before the workers fork: a forked process's threads keep to
    it. Elsewhere than glibc, nothing to do."""
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, arenas)


# Requests a worker process serves between two returns of freed memory to the system.
_TRIM_EVERY = 200
_served = itertools.count(1)


def _now_and_then_give_memory_back(worker: Any, request: Any, environ: Any, response: Any) -> None:
    """gunicorn's post_request hook. A page's or a list's short-lived objects leave free memory
    inside malloc's heaps that the process keeps holding: glibc's ``malloc_trim`` gives it
    back (one process after 2,600 requests of bench/peer's kinds: 111 → 104 MB, in 0.3 ms).
    Elsewhere than glibc, nothing to do."""
    if next(_served) % _TRIM_EVERY == 0:
        trim = _libc_function("malloc_trim")
        if trim is not None:
            trim(0)


@functools.cache
def _libc_function(name: str) -> Any:
    """A function of the process's own C library, or None where it has none of that name."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None), name, None)
    except OSError:
        return None


def _bank_holidays_apart(rt: Runtime) -> None:
    """Work out the bank holidays of the years around today in a short-lived child process,
    for the workers to inherit at fork: the ``holidays`` package loads every country's rules
    to give Great Britain's, 12 MB in each worker that asks whether a day is a school day
    (the delivery thread asks at its first sweep). A year outside these still asks the
    package, in the worker that needs it."""
    import json
    import subprocess
    from datetime import date

    from ..domain import calendar

    year = rt.today().year
    # A plain child rather than multiprocessing's, which would leave its resource tracker
    # among the server's processes.
    work = ("import json, sys\n"
            "from fitsflow.domain.calendar import bank_holiday_table\n"
            f"table = bank_holiday_table(range({year - 2}, {year + 6}))\n"
            "json.dump([[n, y, [[d.isoformat(), name] for d, name in days.items()]]"
            " for (n, y), days in table.items()], sys.stdout)\n")
    try:
        done = subprocess.run([sys.executable, "-c", work], capture_output=True, text=True, timeout=120,
                              check=True)
        table = {(nation, y): {date.fromisoformat(d): name for d, name in days}
                 for nation, y, days in json.loads(done.stdout)}
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        echo(f"fitsflow: bank holidays not worked out ahead ({e}): each worker loads them itself")
        return
    calendar.know_bank_holidays(table)


def _without_server_header() -> None:
    """gunicorn writes 'Server: gunicorn' into every response and offers no setting to
    leave it out; drop that one line (it only tells an attacker what to try)."""
    from gunicorn.http import wsgi

    original = wsgi.Response.default_headers
    if getattr(original, "_fitsflow", False):
        return

    def default_headers(self: Any) -> list[str]:
        return [h for h in original(self) if not h.startswith("Server:")]

    default_headers._fitsflow = True  # type: ignore[attr-defined]
    wsgi.Response.default_headers = default_headers


@click.group()
def token() -> None:
    """API tokens for scripts and integrations."""


@token.command("create")
@as_option
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", type=click.Choice(auth.SCOPES), default="write", show_default=True,
              help="read: look only; write: act on changes; admin: manage users (administrators only).")
@click.option("--days", type=click.IntRange(1, 365),
              help="Days until it expires (default: [web] token_days).")
@pass_state
def create(state: State, as_email: str, name: str, scope: str, days: int | None) -> None:
    """Create a token for a user and print it (it is shown only once)."""
    rt = state.runtime
    echo(auth.create_token(rt, user_id=actor_id(rt, as_email), name=name, scope=scope, days=days))


@token.command("list")
@as_option
@pass_state
def list_(state: State, as_email: str) -> None:
    """List a user's tokens."""
    rt = state.runtime
    for t in auth.list_tokens(rt, user_id=actor_id(rt, as_email)):
        status = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else \
            f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "active"
        echo(f"{t.id:>5}  {t.name:<30} {t.scope:<6} created {t.created_at:%Y-%m-%d}  {status}")


@token.command("revoke")
@as_option
@click.argument("token_id", type=int)
@pass_state
def revoke(state: State, as_email: str, token_id: int) -> None:
    """Revoke one of a user's tokens by id."""
    rt = state.runtime
    auth.revoke_token(rt, user_id=actor_id(rt, as_email), token_id=token_id)
    echo(f"token {token_id} revoked")
