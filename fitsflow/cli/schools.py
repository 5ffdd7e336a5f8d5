"""``fitsflow school``: the trust's schools, and who belongs to which."""

from __future__ import annotations

import click

from ..domain.schools import NATIONS
from ..services import schools
from .base import State, echo, pass_state


@click.group("school")
def school_group() -> None:
    """The trust's schools, and who belongs to which."""


@school_group.command("list")
@pass_state
def list_(state: State) -> None:
    """Every school: its short name, name and bank holidays' nation."""
    for school in schools.every_school(state.runtime):
        echo(f"{school.slug:<24} {school.name}  ({school.nation})")


@school_group.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The school's name, as notices and pages show it.")
@click.option("--nation", default="", type=click.Choice(["", *NATIONS]),
              help="Whose bank holidays it keeps (default: the settings' [school] nation).")
@pass_state
def add(state: State, slug: str, name: str, nation: str) -> None:
    """Add a school to the trust (SLUG: its short name, e.g. oakfield-primary). Its people
    are added with `fitsflow school members`."""
    made = schools.add_school(state.runtime, slug=slug, name=name, nation=nation)
    echo(f"school {made.slug} added: {made.name} ({made.nation})")


@school_group.command("members")
@click.argument("email")
@click.argument("slugs", nargs=-1)
@pass_state
def members(state: State, email: str, slugs: tuple[str, ...]) -> None:
    """Say which schools a person belongs to (every one named; none: they leave them all).
    They see those schools' changes; a trust role sees every school's."""
    held = schools.set_user_schools(state.runtime, email=email, slugs=slugs)
    echo(f"{email.strip().lower()} belongs to: {', '.join(held) or 'no school'}")
