"""The ``fitsflow`` command: set-up, demo data, users, workflows, changes and the audit trail."""

from __future__ import annotations

import click

from ..domain.errors import ConfigError
from .audit import audit
from .backup import backup, restore
from .base import FitsflowGroup, State, fail, pass_state
from .calendar import calendar_group
from .changes import change
from .delivery import outbox_group, worker
from .demo import demo
from .schedule import schedule
from .serve import serve, token
from .services import service_group
from .templates import template_group
from .users import user
from .workflows import workflow


@click.group(cls=FitsflowGroup)
@click.option("--config", "config_path", envvar="FITSFLOW_CONFIG", type=click.Path(dir_okay=False),
              help="Settings file (TOML). Default: built-in settings and FITSFLOW_* variables.")
@click.version_option(package_name="fitsflow")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """fitsflow: change and release management for school ICT, the FITS way."""
    ctx.obj = State(config_path)


@cli.command()
@pass_state
def init(state: State) -> None:
    """Create the database, or migrate it to the current schema."""
    from ..persistence.migrate import current_revision, upgrade

    rt = state.runtime
    before = current_revision(rt.db)
    upgrade(rt.db)
    after = current_revision(rt.db)
    if before == after:
        click.echo(f"database {rt.db.display_url} is up to date (revision {after})")
    else:
        click.echo(f"database {rt.db.display_url}: schema {before or 'empty'} → {after}")
    state.started()  # the workflow files against the changes in the database


for command in (change, user, workflow, audit, calendar_group, service_group, schedule, demo, serve, token,
                worker, outbox_group, template_group, backup, restore):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``fitsflow`` console script."""
    try:
        cli.main(args=argv, prog_name="fitsflow")
    except ConfigError as err:
        fail(str(err))
