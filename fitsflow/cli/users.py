"""``fitsflow user``: add users and import a staff list."""

from __future__ import annotations

from pathlib import Path

import click
from sqlmodel import col, select

from .. import services
from ..domain.vocabulary import AUDIENCES, ROLES
from ..persistence import queries
from ..persistence.models import User
from .base import State, pass_state, progress


@click.group()
def user() -> None:
    """Manage users, their roles and audiences."""


@user.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES),
              help="Repeat for several roles.")
@click.option("--audience", "audiences", multiple=True, type=click.Choice(AUDIENCES),
              help="Repeat for several audiences.")
@click.option("--password", is_flag=False, flag_value="", default=None,
              help="Set a password; give the flag alone to be prompted.")
@pass_state
def add(state: State, name: str, email: str, roles: tuple[str, ...], audiences: tuple[str, ...],
        password: str | None) -> None:
    """Add a user (or update the one with that email)."""
    if password == "":
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    uid = services.add_user(state.runtime, name=name, email=email, roles=roles, audiences=audiences,
                            password=password)
    click.echo(f"user {email.strip().lower()} saved (id {uid})")


@user.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def import_(state: State, file: Path) -> None:
    """Import a staff list CSV (columns: name, email, roles, audiences).

    Every row is checked first; if any is bad, each bad line is reported and
    nothing is imported. Known emails are updated, new ones created."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = file.read_text(encoding="cp1252")
    rows = max(0, sum(1 for line in text.splitlines() if line.strip()) - 1)
    with progress(rows, "importing") as step:
        result = services.import_users(state.runtime, text=text, progress=step)
    click.echo(f"imported {file}: {result.created} created, {result.updated} updated")


@user.command("list")
@pass_state
def list_(state: State) -> None:
    """List users with their roles and audiences."""
    rt = state.runtime
    with rt.db.read() as session:
        for u in session.exec(select(User).order_by(col(User.email))).all():
            assert u.id is not None
            roles = ",".join(sorted(queries.roles_of(session, u.id))) or "-"
            audiences = ",".join(sorted(queries.audiences_of(session, u.id))) or "-"
            flag = "" if u.active else " (inactive)"
            click.echo(f"{u.email:<36} {u.name:<28} roles={roles} audiences={audiences}{flag}")
