"""``fitsflow backup`` and ``fitsflow restore``."""

from __future__ import annotations

from pathlib import Path

import click

from ..services import backups
from .base import State, fail, pass_state


@click.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--keep",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Then delete all but the newest N copies in that folder.",
)
@pass_state
def backup(state: State, file: Path | None, keep: int | None) -> None:
    """Write a consistent copy while the server runs, check it, print the head to publish.

    FILE defaults to backups/<database>-<UTC time>.db beside a SQLite database (a
    pg_dump archive, backups/fitsflow-<time>.pgdump, for PostgreSQL)."""
    result = backups.backup(state.runtime, target=file, keep=keep)
    click.echo(f"backup written: {result.path} ({result.size:,} bytes)")
    click.echo(f"  integrity: {result.integrity}")
    click.echo(f"  audit trail: {result.chain.describe()}")
    click.echo(f"  manifest: {result.manifest}")
    for old in result.deleted:
        click.echo(f"  deleted older copy: {old}")
    if not (result.integrity.startswith("ok") and result.chain.ok):
        fail("the copy does not verify: keep the previous backups and investigate")
    click.echo(f"publish this head (governors, email): {result.chain.head_hash}")
    click.echo(f"  check it later with: fitsflow audit verify --head {result.chain.head_hash}")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database newer than the backup.")
@click.option(
    "--after-reference",
    default="",
    metavar="REF",
    help="The highest change reference already sent out (e.g. CHG-2026-0068), when the "
    "database being replaced is lost: numbering continues after it.",
)
@pass_state
def restore(state: State, file: Path, force: bool, after_reference: str) -> None:
    """Replace the database with a backup (checked first); stop the server before."""
    result = backups.restore(state.runtime, source=file, force=force, after_reference=after_reference)
    click.echo(f"restored: {result.restored.count} audit events, head {result.restored.head_hash}")
    if result.replaced is not None:
        click.echo(
            f"  replaced a database with {result.replaced.count} events, head {result.replaced.head_hash}"
        )
    for year, last in sorted(result.counters_raised.items()):
        click.echo(f"  change references for {year} continue after CHG-{year}-{last:04d}")
    if result.marked_delivered:
        click.echo(f"  {result.marked_delivered} notifications delivered after the backup was taken are "
                   "marked delivered (they are not sent again)")
    click.echo(
        f"  the restore is recorded in the audit trail: now {result.head_seq} events, head {result.head_hash}"
    )
