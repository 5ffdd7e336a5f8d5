"""``fitsflow worker`` and ``fitsflow outbox``: deliver notices, see and retry parked ones."""

from __future__ import annotations

import signal
import threading

import click

from .. import security_log
from ..services import outbox
from .base import State, echo, pass_state


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then stop.")
@pass_state
def worker(state: State, once: bool) -> None:
    """Deliver queued notices (in-app, email, webhook) until stopped."""
    from ..delivery.worker import Worker
    from ..services import in_use

    rt = state.started()
    security_log.install()
    in_use.hold(rt.db)  # while this process runs: a restore refuses until it stops
    runner = Worker.from_runtime(rt)
    channels = ["in-app"] + (["email"] if runner.email else []) + (["webhook"] if runner.webhook else [])
    if once:
        total = 0
        while (handled := runner.run_once()):
            total += handled
        echo(f"delivered or rescheduled {total} notices ({', '.join(channels)})")
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    echo(f"fitsflow worker: delivering ({', '.join(channels)}); Ctrl-C to stop")
    runner.run(stop)


@click.group("outbox")
def outbox_group() -> None:
    """The notification outbox."""


@outbox_group.command("status")
@pass_state
def status(state: State) -> None:
    """Counts by status, and every parked notice with its last error."""
    counts = outbox.status_counts(state.runtime)
    echo("  ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "the outbox is empty")
    for row in outbox.parked(state.runtime):
        echo(f"parked #{row.id} {row.change_ref} {row.event} → {row.recipient} "
             f"({row.attempts} attempts): {row.last_error}")


@outbox_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "all_", is_flag=True, help="Retry every parked notice.")
@pass_state
def retry(state: State, ids: tuple[int, ...], all_: bool) -> None:
    """Queue parked notices again."""
    if not ids and not all_:
        raise click.UsageError("name outbox ids to retry, or --all")
    count = outbox.retry(state.runtime, row_ids=None if all_ else list(ids), actor_label="cli")
    echo(f"{count} parked notices queued again")
