"""``fitsflow service``: the service catalogue and its dependencies."""

from __future__ import annotations

import click

from ..services import catalogue
from .base import State, echo, pass_state


@click.group("service")
def service_group() -> None:
    """The services changes affect, and what depends on what."""


@service_group.command("list")
@pass_state
def list_(state: State) -> None:
    """Every service with its dependencies."""
    offset = 0
    while True:
        rows, total = catalogue.page_services(state.runtime, limit=500, offset=offset)
        for s in rows:
            flag = "" if s.active else " (retired)"
            whose = f" [{s.school}]" if s.school else ""
            echo(f"{s.name:<28} depends on: {', '.join(s.depends_on) or '-'}{flag}{whose}")
        offset += len(rows)
        if not rows or offset >= total:
            break


@service_group.command("add")
@click.option("--name", required=True)
@click.option("--description", default="")
@click.option("--depends-on", "depends_on", multiple=True, help="Repeat for several services.")
@click.option("--retired", is_flag=True, help="Changes may no longer choose it.")
@click.option("--school", default="", help="In a trust: the school whose own service a new one is "
                                           "(its short name); without it, the trust's.")
@pass_state
def add(state: State, name: str, description: str, depends_on: tuple[str, ...], retired: bool,
        school: str) -> None:
    """Add a service, or change the one with this name (audited)."""
    saved = catalogue.save_service(state.runtime, actor_id=None, name=name, description=description,
                                   depends_on=depends_on, active=not retired, school=school)
    echo(f"service {saved.name} saved (depends on: {', '.join(saved.depends_on) or '-'})")
