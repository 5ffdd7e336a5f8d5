"""The ``fitsflow`` command: set-up, demo data, users, workflows, changes and the audit trail."""

from __future__ import annotations

import importlib

import click

from ..domain.errors import ConfigError
from .base import FitsflowGroup, State, fail, pass_state

# Each command's module is imported only when that command runs: `fitsflow --help` and a
# quick command do not load the whole program. The short help shown by --help is kept
# here (tests/test_cli.py checks it is each command's own).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "asset": ("assets:asset_group", "The asset register: import, list, and the renewal calendar's needs."),
    "audit": ("audit:audit", "The tamper-evident audit trail."),
    "backup": ("backup:backup",
               "Write a consistent copy while the server runs, check it, print the head to publish."),
    "calendar": ("calendar:calendar_group",
                 "Terms, half-terms, holidays, INSET days, exam seasons and freezes."),
    "change": ("changes:change", "Raise changes and take them through their workflow."),
    "demo": ("demo:demo", "Create a demo school: users for every role and changes in every state."),
    "outbox": ("delivery:outbox_group", "The notification outbox."),
    "provider": ("providers:provider_group",
                 "External IT providers: organisations whose people raise and implement changes."),
    "recurrence": ("recurrences:recurrence_group",
                   "Recurring routine work: a standard-change template raised on the days a rule names."),
    "restore": ("backup:restore",
                "Replace the database with a backup (checked first); stop the server before."),
    "school": ("schools:school_group", "The trust's schools, and who belongs to which."),
    "schedule": ("schedule:schedule", "Releases in date order with their windows, services and clashes, then "
                                      "the freezes and caution periods in range."),
    "serve": ("serve:serve", "Serve the web interface and API with gunicorn."),
    "service": ("services:service_group", "The services changes affect, and what depends on what."),
    "template": ("templates:template_group",
                 "Standard-change templates: propose, approve or return, revise, retire."),
    "token": ("serve:token", "API tokens for scripts and integrations."),
    "user": ("users:user", "Manage users, their roles and audiences."),
    "window": ("windows:window_group",
               "Maintenance windows: recurring slots agreed for routine work on a service."),
    "worker": ("delivery:worker", "Deliver queued notices (in-app, email, webhook) until stopped."),
    "workflow": ("workflows:workflow", "Workflow definitions (TOML files)."),
}


class LazyGroup(FitsflowGroup):
    """The top-level group: commands load on use (click's documented lazy pattern), and
    --help lists them from LAZY_COMMANDS without importing them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        width = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                help_text = click.Command(name, help=LAZY_COMMANDS[name][1]).get_short_help_str(width)
            else:
                command = super().get_command(ctx, name)
                help_text = command.get_short_help_str(width) if command else ""
            rows.append((name, help_text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load_command(name: str) -> click.Command:
    module, _, attribute = LAZY_COMMANDS[name][0].partition(":")
    command: click.Command = getattr(importlib.import_module(f".{module}", __name__), attribute)
    return command


@click.group(cls=LazyGroup)
@click.option("--config", "config_path", envvar="FITSFLOW_CONFIG", type=click.Path(dir_okay=False),
              help="Settings file (TOML). Default: built-in settings and FITSFLOW_* variables.")
@click.version_option(package_name="fitsflow")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """fitsflow: change and release management for school ICT, the FITS way."""
    ctx.obj = State(config_path)
    ctx.call_on_close(ctx.obj.close)


@cli.command()
@pass_state
def init(state: State) -> None:
    """Create the database, or migrate it to the current schema."""
    from ..services import schema

    rt = state.runtime
    before, after = schema.migrate(rt.db)
    if before == after:
        click.echo(f"database {rt.db.display_url} is up to date (revision {after})")
    else:
        click.echo(f"database {rt.db.display_url}: schema {before or 'empty'} → {after}")
    state.started()  # the workflow files against the changes in the database


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``fitsflow`` console script."""
    try:
        cli.main(args=argv, prog_name="fitsflow")
    except ConfigError as err:
        fail(str(err))
