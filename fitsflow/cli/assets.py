"""``fitsflow asset``: the asset register — import a CSV, list it, raise the renewals due."""

from __future__ import annotations

from pathlib import Path

import click

from ..services import assets
from ..services.runtime import Runtime
from .base import State, actor_id, as_option, echo, pass_state


@click.group("asset")
def asset_group() -> None:
    """The asset register: import, list, and the renewal calendar's needs."""


@asset_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", default="", help="Their school (its short name), for someone in several.")
@as_option
@pass_state
def import_(state: State, path: Path, school: str, as_email: str) -> None:
    """Import assets from a CSV (columns: tag, name, kind, serial, location, warranty_ends,
    licence_ends, subscription_ends, refresh_on; name required): every row or none."""
    rt: Runtime = state.runtime
    added = assets.import_csv(rt, actor_id=actor_id(rt, as_email), text=path.read_text(encoding="utf-8-sig"),
                              school=school)
    echo(f"{added} assets imported")


@asset_group.command("list")
@click.option("--status", type=click.Choice(["", "in_use", "retired"]), default="")
@click.option("--search", "q", default="")
@as_option
@pass_state
def list_(state: State, status: str, q: str, as_email: str) -> None:
    """The register's assets, newest first (the first 100)."""
    rt: Runtime = state.runtime
    page = assets.listing(rt, actor_id=actor_id(rt, as_email), status=status, q=q, limit=100)
    for a in page.items:
        dates = ", ".join(f"{k} {v}" for k, v in (("warranty", a.warranty_ends), ("licence", a.licence_ends),
                                                   ("subscription", a.subscription_ends),
                                                   ("refresh", a.refresh_on)) if v)
        echo(f"{a.id:>5}  {a.label} [{a.kind or '-'}] {a.serial or ''} {a.status_title}"
             + (f"; {dates}" if dates else ""))
    if not page.items:
        echo("no assets")


@asset_group.command("renewals")
@pass_state
def renewals(state: State) -> None:
    """Raise the needs of every renewal now due (the delivery worker does it each minute)."""
    from ..services import renewals

    echo(f"{renewals.raise_renewals(state.runtime)} raised")
