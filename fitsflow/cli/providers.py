"""``fitsflow provider``: external IT providers and their people."""

from __future__ import annotations

import click

from ..services import providers
from .base import State, echo, pass_state


@click.group("provider")
def provider_group() -> None:
    """External IT providers: organisations whose people raise and implement changes."""


@provider_group.command("add")
@click.argument("name")
@click.option("--contract", default="", help="The contract's reference.")
@click.option("--ends", default="", help="The day the contract ends (YYYY-MM-DD).")
@pass_state
def add(state: State, name: str, contract: str, ends: str) -> None:
    """Record a provider organisation."""
    made = providers.add(state.runtime, actor_id=None, name=name, contract=contract,
                         contract_ends=ends or None)
    echo(f"provider {made.id} recorded: {made.name}")


@provider_group.command("member")
@click.argument("email")
@click.argument("provider", default="")
@pass_state
def member(state: State, email: str, provider: str) -> None:
    """Make EMAIL one of PROVIDER's people (they must hold only the requester role), or nobody's
    (no PROVIDER)."""
    providers.set_member(state.runtime, actor_id=None, email=email, provider=provider)
    echo(f"{email}: {'one of ' + provider + chr(39) + 's people' if provider else 'no provider'}")


@provider_group.command("list")
@pass_state
def list_(state: State) -> None:
    """Every provider with its contract and people."""
    found = providers.every(state.runtime, actor_id=None)
    for p in found:
        echo(f"{p.id:>4}  {p.name}" + (f" [{p.contract}]" if p.contract else "")
             + (f" until {p.contract_ends}" if p.contract_ends else "")
             + f": {', '.join(email for _, _, email in p.people) or 'nobody yet'}")
    if not found:
        echo("no providers")
