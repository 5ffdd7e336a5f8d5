"""The forward schedule of change: month and week views, server-rendered and printable."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from markupsafe import Markup

from fitsflow.domain import limits
from fitsflow.domain.calendar import academic_year_start
from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.vocabulary import CATEGORIES
from fitsflow.services import calendar_report, catalogue, maintenance, maintenance_windows, schedule

from .access import SIGNED_IN, VIEWERS, access
from .dashboard import page_args
from .forms import day_arg
from .login import actor, runtime

bp = Blueprint("schedule", __name__)

_DRAWN_MAX = 4_000  # days drawn and kept: a few months of views, grid and list


class _Drawn:
    """Each day of the schedule as drawn, kept by what it shows: after a decision the month is
    drawn again from the days kept, only the day whose releases moved drawn afresh."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._days: OrderedDict[Hashable, Markup] = OrderedDict()

    def __call__(self, kind: str, *args: Hashable) -> Markup:
        key = (kind, *args)
        with self._lock:
            if key in self._days:
                self._days.move_to_end(key)
                return self._days[key]
        macro = getattr(current_app.jinja_env.get_template("_schedule_day.html").module, kind)
        drawn = Markup(macro(*args))
        with self._lock:
            self._days[key] = drawn
            while len(self._days) > _DRAWN_MAX:
                self._days.popitem(last=False)
        return drawn


def _drawn() -> _Drawn:
    """This app's days drawn (each app draws with its own school's time zone)."""
    return current_app.extensions.setdefault("fitsflow.schedule_days", _Drawn())


def _span(view: str, anchor: date) -> tuple[date, int, date, date]:
    """(first day shown, days shown, previous anchor, next anchor)."""
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, 7, start - timedelta(days=7), start + timedelta(days=7)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    previous = (first - timedelta(days=1)).replace(day=1)
    return start, (end - start).days, previous, following


@bp.get("/schedule")
@access(VIEWERS)
def forward() -> Any:
    """Releases by day with terms, holidays, freezes and clashes: month or week."""
    args = request.args
    view = args.get("view", "month")
    problems: dict[str, str] = {}
    if view not in ("month", "week"):
        problems["view"] = "must be month or week"
        view = "month"
    today = runtime().today()
    anchor = today
    if args.get("date"):
        try:
            anchor = date.fromisoformat(args["date"][:10])
            if not limits.FIRST_YEAR <= anchor.year <= limits.LAST_YEAR:
                raise ValueError
        except ValueError:
            problems["date"] = (f"must be a day as YYYY-MM-DD from {limits.FIRST_YEAR} to "
                                f"{limits.LAST_YEAR}")
            anchor = today
    start, days, previous, following = _span(view, anchor)
    filters = {"service": args.get("service", "")[:100], "state": args.get("state", "")[:60],
               "category": args.get("category", "")[:20]}
    result = None
    if not problems:
        try:
            result = schedule.forward_schedule(runtime(), actor_id=actor().id, start=start, days=days,
                                               **filters)
        except InvalidInput as err:
            problems = err.problems
    states = runtime().workflows.state_names()
    grid = Markup("")
    if result is not None:
        # A month lists a few releases a day, then "N more" into that day's week, which lists
        # them all: a busy month stays readable (and quick to draw) at any size of school. Each
        # day is drawn once for what it shows (_Drawn).
        given: dict[str, Any] = {k: v for k, v in filters.items() if v}
        week = url_for("schedule.forward", view="week", **given)
        grid = Markup(render_template(
            "_schedule_grid.html", view=view, month=anchor.replace(day=1), today=today, result=result,
            change_link=url_for("changes.show", ref="_")[:-1], week_link=week + ("&" if "?" in week else "?"),
            day_rows=limits.SCHEDULE_DAY_ROWS if view == "month" else limits.SCHEDULE_DAYS * 1000,
            drawn=_drawn()))
    windows = maintenance_windows.every(runtime(), actor_id=actor().id)
    slots: list[maintenance_windows.Slot] = []
    if filters["service"] and windows and not problems:
        try:  # the next free slots for routine work on the service chosen
            slots = maintenance_windows.next_free(runtime(), actor_id=actor().id,
                                                  services=[filters["service"]])
        except InvalidInput:
            slots = []  # a person of several schools: no one school's windows to search
    return render_template("schedule.html", result=result, problems=problems, view=view, anchor=anchor,
                           windows=windows, slots=slots, tz=runtime().timezone,
                           grid=grid, month=anchor.replace(day=1), previous=previous, following=following,
                           today=today, services=catalogue.active_names(runtime(), actor().id), states=states,
                           categories=CATEGORIES, args=args,
                           as_at=runtime().now().astimezone(runtime().timezone)), 400 if problems else 200


@bp.get("/schedule/exceptions")
@access(VIEWERS)
def exceptions() -> Any:
    """Freezes overridden, caution periods accepted and clashes scheduled over, counted."""
    today = runtime().today()
    problems: dict[str, str] = {}
    first = day_arg(request.args, "from", academic_year_start(today), problems)
    last = day_arg(request.args, "to", today, problems)
    report = None
    if not problems:
        limit, offset = page_args()
        try:
            report = calendar_report.calendar_exceptions(runtime(), actor_id=actor().id, first=first,
                                                         last=last, limit=limit, offset=offset)
        except InvalidInput as err:
            problems = err.problems
    return render_template("schedule_exceptions.html", report=report, problems=problems, first=first,
                           last=last, kinds=calendar_report.EXCEPTIONS,
                           change_link=url_for("changes.show", ref="_")[:-1]), 400 if problems else 200


@bp.get("/maintenance")
@access(SIGNED_IN)
def maintenance_page() -> Any:
    """Planned maintenance for everyone: what is coming, when, and what to expect."""
    items = maintenance.planned(runtime(), actor_id=actor().id)
    days: dict[date, list[maintenance.Planned]] = {}
    for item in items:
        days.setdefault(item.starts.date(), []).append(item)
    return render_template("maintenance.html", days=days, weeks=maintenance.DAYS // 7,
                           windows=maintenance.windows(runtime(), actor_id=actor().id),
                           as_at=runtime().now().astimezone(runtime().timezone))
