"""What every command shares: lazily loaded settings and runtime, and error reporting."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, cast

import click

from ..domain.errors import FitsflowError, InvalidInput, NotAllowed, WorkflowError
from ..domain.text import visible

# Imported where used: a command loads only what it needs (see LazyGroup).
if TYPE_CHECKING:
    from ..config import Settings
    from ..services.runtime import Runtime
    from ..services.storage import Database


class State:
    """Settings and runtime, loaded once per invocation, on first use."""

    def __init__(self, config_path: str | None):
        self.config_path = config_path
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from ..config import load_settings

            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def db(self) -> Database:
        """The database alone, for commands that need no workflows or notifications (the
        runtime's own when it is built)."""
        if self._runtime is not None:
            return self._runtime.db
        if self._database is None:
            from ..services.storage import open_database

            self._database = open_database(self.settings)
        return self._database

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from ..bootstrap import build_runtime

            self._runtime = build_runtime(self.settings)
        return self._runtime

    def fresh_runtime(self) -> Runtime:
        """A new runtime from the same settings file read again (``serve`` on SIGHUP); this
        state's own is left as it is."""
        from ..bootstrap import build_runtime
        from ..config import load_settings

        return build_runtime(load_settings(self.config_path))

    def close(self) -> None:
        """Close the database connections this command opened."""
        for db in (self._runtime.db if self._runtime else None, self._database):
            if db is not None:
                db.dispose()

    def started(self) -> Runtime:
        """The runtime of a long-running or set-up command, its workflow versions checked
        against the changes in the database: refuses (WorkflowError) when an edited
        workflow file drops a state live changes are in."""
        from ..services import workflow_versions

        rt = self.runtime
        readiness = workflow_versions.prepare(rt)
        for name, count in readiness.adopted.items():
            click.echo(f"fitsflow: {count} existing change(s) of workflow '{name}' now run on its "
                       "current version", err=True)
        for version, count in readiness.earlier.items():
            click.echo(f"fitsflow: {count} live change(s) finish on earlier workflow version {version}",
                       err=True)
        return rt


pass_state = click.make_pass_decorator(State)


def echo(line: str, *, err: bool = False) -> None:
    """Print one line that may hold stored text (a title, a name, a reason). Every printer of
    the command line goes through here: each character the one-line rule refuses is shown
    as its escape (ESC as \\x1b, U+2028 as \\u2028), so what someone typed can neither
    drive the terminal nor forge a line of output."""
    click.echo(visible(line), err=err)


def echo_text(label: str, text: str, indent: str = "      ") -> None:
    """Long stored text (a need, a comment): its own lines under the label, indented, each
    escaped by ``echo``."""
    first, *rest = text.split("\n")
    echo(f"{label}{first}")
    for line in rest:
        echo(f"{indent}{line}")


def lines_for_terminal(text: str) -> str:
    """Several lines of stored text (an export) for a terminal: line ends kept, every other
    character ``echo`` escapes shown escaped."""
    return "\n".join(visible(line.removesuffix("\r")) for line in text.split("\n"))


def fail(message: str, code: int = 1) -> NoReturn:
    click.secho(f"error: {visible(message)}", fg="red", err=True)
    sys.exit(code)


def report(err: FitsflowError) -> NoReturn:
    """Print an error the way a person reads it, then exit 1."""
    if isinstance(err, InvalidInput):
        click.secho("error: invalid input", fg="red", err=True)
        for field, message in err.problems.items():
            echo(f"  {field}: {message}", err=True)
        sys.exit(1)
    if isinstance(err, WorkflowError):
        click.secho("error: invalid workflow definition", fg="red", err=True)
        for problem in err.problems:
            echo(f"  {problem}", err=True)
        sys.exit(1)
    if isinstance(err, NotAllowed) and err.allowed:
        # the command line takes the actions by name: give the names as well as the words
        click.secho(f"error: {visible(str(err))}", fg="red", err=True)
        echo(f"  actions you can type now: {', '.join(err.allowed)}", err=True)
        sys.exit(1)
    fail(str(err))


# Exit statuses (README → The command line): 0 done; 1 refused (bad input, not allowed,
# a check that failed); 2 usage; 3 storage (disk full, read-only, unreachable, busy,
# damaged); 4 any other database error.
STORAGE, DATABASE = 3, 4


class FitsflowGroup(click.Group):
    """Turns every fitsflow error into a clear message and exit status 1, and a database
    failure into one line saying what to do (the traceback only with FITSFLOW_DEBUG=1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FitsflowError as err:
            report(err)
        except Exception as err:
            from ..services import storage

            if not isinstance(err, storage.STORAGE_ERRORS) or os.environ.get("FITSFLOW_DEBUG"):
                raise
            problem = storage.classify(err)
            if problem is not None:
                fail(problem.line(), STORAGE)
            if isinstance(err, OSError):
                raise
            detail = str(getattr(err, "orig", None) or err).splitlines()[0][:300]
            fail(f"database error: {detail} (FITSFLOW_DEBUG=1 shows the traceback)", DATABASE)


def actor_id(rt: Runtime, email: str) -> int:
    """The id of the user acting, by email."""
    from ..services import users

    found = users.id_by_email(rt, email)
    if found is None:
        fail(f"no user with email {email}")
    return found


as_option = click.option("--as", "as_email", required=True, metavar="EMAIL",
                         help="The user acting (their email address).")


@contextmanager
def progress(length: int, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal's stderr; silent when output is piped or logged."""
    stream = sys.stderr
    if not stream.isatty() or length <= 0:
        yield lambda _n: None
        return
    with click.progressbar(length=length, label=label, file=stream) as bar:
        yield cast(Callable[[int], None], getattr(bar, "update"))  # noqa: B009  (click types it as object)
