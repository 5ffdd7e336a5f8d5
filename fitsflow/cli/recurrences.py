"""``fitsflow recurrence``: routine work raised again and again from a standard-change template."""

from __future__ import annotations

import click

from ..domain import limits
from ..domain.recurrence import ON_CLOSED
from ..services import recurrences
from ..services.runtime import Runtime
from .base import State, actor_id, as_option, echo, pass_state


@click.group("recurrence")
def recurrence_group() -> None:
    """Recurring routine work: a standard-change template raised on the days a rule names."""


@recurrence_group.command("add")
@click.option("--template", required=True, help="The standard-change template (STD-0001).")
@click.option("--title", required=True)
@click.option("--rule", required=True,
              help="An iCalendar RRULE (FREQ=MONTHLY;BYDAY=1TU) or termly[:N] (the Nth school day of "
                   "each term).")
@click.option("--from", "first_day", required=True, help="The first day it may fall on (YYYY-MM-DD).")
@click.option("--at", "starts", required=True, help="HH:MM, the school's time.")
@click.option("--minutes", type=int, default=60, show_default=True)
@click.option("--on-closed", type=click.Choice(ON_CLOSED), default="next_school_day", show_default=True,
              help="A day that is not a school day: skipped, or moved to the next school day.")
@click.option("--ahead", "ahead_days", type=int, default=14, show_default=True,
              help="Each occurrence is raised this many days before it.")
@click.option("--cost", default="", help="Each occurrence's estimate (default: the template's most).")
@as_option
@pass_state
def add(state: State, template: str, title: str, rule: str, first_day: str, starts: str, minutes: int,
        on_closed: str, ahead_days: int, cost: str, as_email: str) -> None:
    """Agree a recurrence (a requester)."""
    rt: Runtime = state.runtime
    made = recurrences.add(rt, actor_id=actor_id(rt, as_email), template=template, title=title, rule=rule,
                           first_day=first_day, starts=starts, minutes=minutes, on_closed=on_closed,
                           ahead_days=ahead_days, cost=cost)
    echo(f"recurrence {made.id} agreed; next: {', '.join(d.isoformat() for d in made.next_days) or 'none'}")


@recurrence_group.command("list")
@as_option
@pass_state
def list_(state: State, as_email: str) -> None:
    """This person's recurrences, with their next school days."""
    rt: Runtime = state.runtime
    found = recurrences.mine(rt, actor_id=actor_id(rt, as_email))
    for r in found:
        status = "" if r.active else " (stopped)"
        echo(f"{r.id:>4}  {r.title} [{r.rule}] {r.starts} from {r.template}{status}; next: "
             f"{', '.join(d.isoformat() for d in r.next_days) or '-'}")
    if not found:
        echo("no recurrences")


@recurrence_group.command("run")
@pass_state
def run(state: State) -> None:
    """Raise every occurrence now due (the delivery worker does it each minute)."""
    echo(f"{recurrences.raise_due(state.runtime)} raised")


@recurrence_group.command("stop")
@click.argument("recurrence_id", type=click.IntRange(1, limits.ID_MAX))
@as_option
@pass_state
def stop(state: State, recurrence_id: int, as_email: str) -> None:
    """Stop a recurrence (its requester): no more occurrences are raised."""
    rt: Runtime = state.runtime
    recurrences.stop(rt, actor_id=actor_id(rt, as_email), recurrence_id=recurrence_id)
    echo(f"recurrence {recurrence_id} stopped")
