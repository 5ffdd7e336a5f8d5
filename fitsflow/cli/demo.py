"""``fitsflow demo``: load the demo school and print how to log in."""

from __future__ import annotations

import click

from ..services.demo import build_demo, demo_size
from .base import State, echo, pass_state, progress


@click.command()
@click.option("--password", help="Password for every demo user (default: [demo] password setting).")
@click.option("--trust", is_flag=True, help="A trust of three schools: the demo school as its secondary and "
                                            "two primaries (one in Wales), trust roles, trust-wide changes.")
@pass_state
def demo(state: State, password: str | None, trust: bool) -> None:
    """Create a demo school: users for every role and changes in every state.

    With --trust, the demo school is the secondary of a trust of three schools."""
    from ..services import schema

    schema.migrate(state.runtime.db)
    rt = state.started()
    password = password or state.settings.demo.password
    # One transaction: a failure part-way (a full disk, say) leaves no half-built school.
    what = "demo trust" if trust else "demo school"
    with progress(demo_size(rt), f"building {what}") as step, rt.db.all_or_nothing():
        result = build_demo(rt, password=password, progress=step, trust=trust)
    if result.created:
        echo(f"{what} created: {result.changes} changes, {len(result.users)} users")
    else:
        echo(f"demo school already present ({result.changes} changes); nothing changed")
    echo(f"demo users (password for each: {password}; demo users sign in without the second "
         "factor that admins and approvers of a real school must set up):")
    for name, email, roles in result.users:
        echo(f"  {email:<28} {roles or 'audience only':<16} {name}")
