"""``fitsflow calendar``: the school calendar — terms, holidays, INSET days, exams, freezes."""

from __future__ import annotations

from pathlib import Path

import click

from ..domain.calendar import EFFECTS, KIND_TITLES, KINDS
from ..services import calendar
from .base import State, echo, pass_state


@click.group("calendar")
def calendar_group() -> None:
    """Terms, half-terms, holidays, INSET days, exam seasons and freezes."""


@calendar_group.command("list")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind.")
@click.option("--search", "q", default="", help="Part of a title.")
@pass_state
def list_(state: State, kind: str | None, q: str) -> None:
    """Periods in date order, with their effect on changes."""
    rt = state.runtime
    offset = 0
    while True:
        rows, total = calendar.page_periods(rt, q=q, kind=kind or "", limit=500, offset=offset)
        for p in rows:
            first, last = p.days(rt.timezone)
            echo(f"{p.id:>5}  {first} – {last}  {KIND_TITLES[p.kind]:<14} {p.effect:<8} {p.title}"
                 + (f"  ({p.reason})" if p.reason else ""))
        offset += len(rows)
        if not rows or offset >= total:
            break
    if not offset:
        echo("no periods")


@calendar_group.command("add")
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--title", required=True)
@click.option("--start", required=True, help="YYYY-MM-DD (the whole day) or YYYY-MM-DDTHH:MM (local).")
@click.option("--end", default="", help="The last day (included) or the end time; default: as --start.")
@click.option("--effect", type=click.Choice(EFFECTS), help="Default: freeze for exams and freezes, "
                                                           "caution for mocks, info otherwise.")
@click.option("--reason", default="")
@click.option("--school", default="",
              help="One school's calendar (its short name); default: the whole trust's.")
@pass_state
def add(state: State, kind: str, title: str, start: str, end: str, effect: str | None, reason: str,
        school: str) -> None:
    """Add a period (audited)."""
    period = calendar.add_period(state.runtime, actor_id=None, kind=kind, title=title, start=start, end=end,
                                 effect=effect or "", reason=reason, school=school)
    first, last = period.days(state.runtime.timezone)
    echo(f"added {period.id}: {period.title} ({first} – {last}, {period.effect})")


@calendar_group.command("remove")
@click.argument("period_id", type=int)
@pass_state
def remove(state: State, period_id: int) -> None:
    """Remove a period (audited)."""
    calendar.delete_period(state.runtime, actor_id=None, period_id=period_id)
    echo(f"removed {period_id}")


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), help="ICS only: every event is this kind "
                                                       "(default: read from each event's title).")
@pass_state
def import_(state: State, file: Path, kind: str | None) -> None:
    """Import term dates from an ICS file or a CSV (kind, title, start, end, effect, reason):
    every row or none; each bad line or event is named."""
    raw = file.read_bytes()
    if file.suffix.lower() in (".ics", ".ical") or raw.lstrip().startswith(b"BEGIN:"):
        count = calendar.import_ics(state.runtime, data=raw, actor_id=None, kind=kind or "")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        count = calendar.import_csv(state.runtime, text=text, actor_id=None)
    echo(f"imported {file}: {count} periods")
