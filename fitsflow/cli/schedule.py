"""``fitsflow schedule``: the forward schedule of change, for a CAB agenda or a script."""

from __future__ import annotations

from datetime import date, datetime

import click

from ..domain import limits
from ..domain.vocabulary import CATEGORIES
from .base import State, echo, pass_state


@click.command("schedule")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: today).")
@click.option("--days", type=click.IntRange(1, limits.SCHEDULE_DAYS), default=28, show_default=True)
@click.option("--service", default="", help="Only releases touching this service or what it depends on "
                                            "(or what depends on it).")
@click.option("--state", "state_name", default="", help="Only changes in this workflow state.")
@click.option("--category", type=click.Choice(CATEGORIES))
@pass_state
def schedule(state: State, start: datetime | None, days: int, service: str, state_name: str,
             category: str | None) -> None:
    """Releases in date order with their windows, services and clashes, then the freezes
    and caution periods in range."""
    from ..services import schedule as forward

    rt = state.runtime
    first: date = start.date() if start else rt.today()
    if not limits.FIRST_YEAR <= first.year <= limits.LAST_YEAR:
        raise click.BadParameter(f"must be from {limits.FIRST_YEAR} to {limits.LAST_YEAR}",
                                 param_hint="--from")
    found = forward.forward_schedule(rt, actor_id=None, start=first, days=days, service=service,
                                     state=state_name, category=category or "")
    releases = {r.ref: r for d in found.days for r in d.releases}
    echo(f"forward schedule {found.start} – {found.end}: {len(releases)} release(s)")
    tz = rt.timezone
    for r in sorted(releases.values(), key=lambda r: (r.window_start, r.ref)):
        begin, end = r.window_start.astimezone(tz), r.window_end.astimezone(tz)
        until = end.strftime("%H:%M") if end.date() == begin.date() else end.strftime("%Y-%m-%d %H:%M")
        line = (f"{begin:%Y-%m-%d %a %H:%M}–{until}  {r.ref}  {r.state_title:<22} {r.title}"
                f"  [{', '.join(r.services) or 'no services'}]")
        if r.cancelled:
            line += "  (cancelled)"
        if r.clashes_with:
            line += f"  CLASHES WITH {', '.join(r.clashes_with)}"
        echo(line)
    for period in found.periods:
        echo(f"period: {period}")
