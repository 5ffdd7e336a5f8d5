"""``fitsflow window``: maintenance windows — recurring slots agreed for routine work."""

from __future__ import annotations

import click

from ..domain import limits
from ..domain.maintenance_windows import WHEN
from ..services import maintenance_windows
from ..services.runtime import Runtime
from .base import State, actor_id, as_option, echo, pass_state


@click.group("window")
def window_group() -> None:
    """Maintenance windows: recurring slots agreed for routine work on a service."""


@window_group.command("list")
@as_option
@pass_state
def list_(state: State, as_email: str) -> None:
    """The windows this person's changes may use."""
    rt: Runtime = state.runtime
    found = maintenance_windows.every(rt, actor_id=actor_id(rt, as_email))
    for w in found:
        notice = f"{w.notice_days} school days' notice" if w.notice_days else "no notice"
        echo(f"{w.id:>4}  {w.described}; {notice}" + (f" [{w.school}]" if w.school else ""))
    if not found:
        echo("no maintenance windows")


@window_group.command("add")
@click.option("--title", required=True)
@click.option("--days", "weekdays", required=True, help="mon,tue,… the days it holds on.")
@click.option("--from", "starts", required=True, help="HH:MM, the school's time.")
@click.option("--to", "ends", required=True, help="HH:MM, after --from.")
@click.option("--when", type=click.Choice(WHEN), default="term", show_default=True,
              help="term: school days; holidays: the days that are not; always: both.")
@click.option("--service", default="", help="A catalogue service; left out: every service.")
@click.option("--notice-days", type=int, default=0, show_default=True,
              help="School days of notice a standard change inside it gives (0: none).")
@click.option("--school", default="",
              help="In a trust: the school whose window it is; left out: the trust's.")
@pass_state
def add(state: State, title: str, weekdays: str, starts: str, ends: str, when: str, service: str,
        notice_days: int, school: str) -> None:
    """Agree a maintenance window (audited)."""
    made = maintenance_windows.add(state.runtime, actor_id=None, title=title, service=service,
                                   weekdays=weekdays, starts=starts, ends=ends, when=when,
                                   notice_days=notice_days, school=school)
    echo(f"window {made.id} agreed: {made.described}")


@window_group.command("remove")
@click.argument("window_id", type=click.IntRange(1, limits.ID_MAX))
@pass_state
def remove(state: State, window_id: int) -> None:
    """Remove a maintenance window (audited); changes already scheduled in it stay."""
    maintenance_windows.remove(state.runtime, actor_id=None, window_id=window_id)
    echo(f"window {window_id} removed")


@window_group.command("next")
@click.option("--service", required=True)
@click.option("--minutes", type=int, default=60, show_default=True)
@click.option("--count", type=int, default=3, show_default=True)
@click.option("--school", default="", help="In a trust: whose windows, calendar and changes.")
@as_option
@pass_state
def next_(state: State, service: str, minutes: int, count: int, school: str, as_email: str) -> None:
    """The next free slots for work on a service: inside a window, clear of freezes, caution
    periods, clashes and the window's notice."""
    rt: Runtime = state.runtime
    found = maintenance_windows.next_free(rt, actor_id=actor_id(rt, as_email), services=[service],
                                          minutes=minutes, count=count, school=school)
    for slot in found:
        start, end = slot.starts.astimezone(rt.timezone), slot.ends.astimezone(rt.timezone)
        echo(f"{start:%a %d %b %Y %H:%M}–{end:%H:%M}  ({slot.window})")
    if not found:
        echo("no free slot in the next 120 days")
