"""Home: what waits for me. The approver's queue and my notices."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from fitsflow.domain import cursor, limits
from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.roles import REQUESTER, is_approver, may_view_changes
from fitsflow.services import change_search, inbox, peer_review, queues, recurrences, schedule, usage
from fitsflow.services import notices as release_notices

from .access import APPROVERS, SIGNED_IN, VIEWERS, access
from .errors import render_error
from .forms import whole
from .login import actor, runtime

bp = Blueprint("dashboard", __name__)


PAGE_SIZES = (10, 25, 50, 100)


def page_args() -> tuple[int, int]:
    """(limit, offset) from ?page=N&size=S (a size offered by the pager, else the setting)."""
    size = whole(request.args.get("size", ""), maximum=100) or 0
    if size not in PAGE_SIZES:
        size = int(current_app.config["PAGE_SIZE"])
    page = max(1, whole(request.args.get("page", "1"), maximum=100_000) or 1)
    return size, (page - 1) * size


def page_positions() -> tuple[str, str]:
    """(after, before) from the pager's Next and Previous links on lists that keep positions
    (domain.cursor): ?page=N then only says which page that is."""
    return (request.args.get("after", "")[:cursor.MAX_TEXT + 1],
            request.args.get("before", "")[:cursor.MAX_TEXT + 1])


@bp.get("/")
@access(SIGNED_IN)
def home() -> Any:
    """Each person's starting point: their changes, their queue, their notices."""
    me = actor()
    rt = runtime()
    mine = change_search.mine_by_phase(rt, actor_id=me.id) if REQUESTER in me.roles else None
    waiting = queues.awaiting_decision(rt, actor_id=me.id, limit=10) if is_approver(me.roles, rt.roles) \
        else None
    inbox_page = inbox.my_notices(rt, actor_id=me.id, limit=5)
    to_review = peer_review.waiting_for(rt, actor_id=me.id, limit=10)
    checks = usage.listing(rt, actor_id=me.id, status="due", mine=True, limit=5) if mine is not None else None
    missed = recurrences.missed(rt, actor_id=me.id, limit=10) if mine is not None else []
    # Requesters and approvers see the next two weeks of the forward schedule.
    ahead = None
    if mine is not None or waiting is not None:
        ahead = schedule.forward_schedule(rt, actor_id=me.id, start=rt.today(), days=14)
    # Day by day, what will happen: withdrawn and backed-out releases are not coming. Each day
    # lists as many as a day of the month view, then "N more" into that day's week.
    upcoming = [(d.day, live) for d in ahead.days if (live := [r for r in d.releases if not r.cancelled])] \
        if ahead else []
    return render_template("home.html", mine=mine, waiting=waiting, notices=inbox_page.items,
                           notice_count=inbox_page.total, sees_changes=may_view_changes(me.roles),
                           ahead=ahead, upcoming=upcoming, to_review=to_review, checks=checks,
                           missed=missed, day_rows=limits.SCHEDULE_DAY_ROWS,
                           change_link=url_for("changes.show", ref="_")[:-1])


@bp.get("/approvals")
@access(APPROVERS)
def approvals() -> Any:
    """Changes waiting for my decision."""
    limit, offset = page_args()
    sort = request.args.get("sort", "")[:20] or "waiting"
    page = queues.approval_queue(runtime(), actor_id=actor().id, limit=limit, offset=offset, sort=sort)
    return render_template("approvals.html", page=page, sort=sort)


@bp.get("/notices")
@access(SIGNED_IN)
def notices() -> Any:
    """Release notices meant for me (to acknowledge), then my other notifications."""
    limit, offset = page_args()
    after, before = page_positions()
    me = actor().id
    try:
        page = inbox.my_notices(runtime(), actor_id=me, limit=limit, offset=offset, after=after,
                                before=before, unread_only=request.args.get("unread") == "1")
    except InvalidInput as err:
        return render_error(400, "That page of notifications does not exist.", list(err.problems.values()))
    releases = release_notices.release_notice_page(runtime(), actor_id=me, limit=10)
    return render_template("notices.html", page=page, releases=releases,
                           unread_only=request.args.get("unread") == "1")


@bp.get("/notices/releases")
@access(SIGNED_IN)
def releases() -> Any:
    """Every release notice I received, newest first, paged."""
    limit, offset = page_args()
    after, before = page_positions()
    try:
        page = release_notices.release_notice_page(runtime(), actor_id=actor().id, limit=limit, offset=offset,
                                                   after=after, before=before)
    except InvalidInput as err:
        return render_error(400, "That page of release notices does not exist.", list(err.problems.values()))
    return render_template("release_notices.html", page=page)


@bp.get("/usage-checks")
@access(VIEWERS)
def usage_checks() -> Any:
    """Usage checks: due (overdue first), every one not yet recorded, or those recorded;
    mine only or everyone's."""
    limit, offset = page_args()
    status = request.args.get("status", "due")
    mine = request.args.get("mine") == "1"
    try:
        page = usage.listing(runtime(), actor_id=actor().id, status=status, mine=mine, limit=limit,
                             offset=offset)
    except InvalidInput as err:
        return render_error(400, "That list of usage checks does not exist.", list(err.problems.values()))
    return render_template("usage_checks.html", page=page, status=status, mine=mine,
                           statuses=usage.STATUS_TITLES)


@bp.get("/notices/inbox/<int:item_id>")
@access(SIGNED_IN)
def inbox_item(item_id: int) -> Any:
    """One notification in full (opening it marks it read)."""
    notice = inbox.open_notice(runtime(), actor_id=actor().id, item_id=item_id)
    return render_template("inbox_item.html", n=notice)


@bp.post("/notices/inbox/<int:item_id>/read")
@access(SIGNED_IN)
def mark_read(item_id: int) -> Any:
    """Mark one notification read."""
    inbox.mark_read(runtime(), actor_id=actor().id, item_id=item_id)
    return redirect(url_for("dashboard.notices"))


@bp.post("/notices/inbox/read")
@access(SIGNED_IN)
def mark_all_read() -> Any:
    """Mark every notification read."""
    count = inbox.mark_read(runtime(), actor_id=actor().id)
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.")
    return redirect(url_for("dashboard.notices"))


@bp.get("/notices/<int:notice_id>")
@access(SIGNED_IN)
def notice(notice_id: int) -> Any:
    """One release notice, printable."""
    item = release_notices.read_notice(runtime(), actor_id=actor().id, notice_id=notice_id)
    return render_template("notice.html", n=item)


@bp.post("/notices/<int:notice_id>/acknowledge")
@access(SIGNED_IN)
def acknowledge(notice_id: int) -> Any:
    """Read and understood."""
    release_notices.acknowledge(runtime(), actor_id=actor().id, notice_id=notice_id)
    flash("Thank you: acknowledged.")
    return redirect(request.referrer or url_for("dashboard.notices"))
