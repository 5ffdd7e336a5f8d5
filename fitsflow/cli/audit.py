"""``fitsflow audit``: verify the hash chain and export the trail."""

from __future__ import annotations

import sys
from typing import TextIO

import click

from ..domain.text import visible
from .base import State, echo, lines_for_terminal, pass_state, progress


@click.group()
def audit() -> None:
    """The tamper-evident audit trail."""


@audit.command("verify")
@click.option("--head", "expected_head", metavar="HASH",
              help="A head hash published earlier (printed, emailed to governors): "
                   "fails if the chain no longer contains it.")
@pass_state
def verify(state: State, expected_head: str | None) -> None:
    """Check every link; exit 0 with the count and head hash, or 1 naming the first broken seq."""
    from ..services import audit as audit_service

    with progress(audit_service.event_count(state), "verifying") as step:
        result = audit_service.verify(state, expected_head=expected_head, progress=step)
    if result.ok:
        echo(result.describe())
        return
    click.secho(visible(result.describe()), fg="red")
    sys.exit(1)


@audit.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--change", "change_ref", metavar="REF", help="Only this change's events.")
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="File to write (default: standard output).")
@pass_state
def export(state: State, fmt: str, change_ref: str | None, output: TextIO) -> None:
    """Export the audit trail, with hashes, as CSV or JSON."""
    from ..services import audit as audit_service

    # A file or a pipe gets the trail exactly as stored (its hashes must verify); a terminal
    # gets it with line ends kept and every other control character shown escaped.
    shown = lines_for_terminal if output.isatty() else str
    for chunk in audit_service.export(state, fmt=fmt, change_ref=change_ref):
        output.write(shown(chunk))
