"""The in-app inbox is a table of its own, filled by delivery when an item is due:
never before ``available_at``, never when cancelled; read and unread."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from fitsflow.delivery.worker import Worker
from fitsflow.domain.errors import NotFound
from fitsflow.persistence import inbox_store
from fitsflow.persistence.models import InboxItem, OutboxMessage
from fitsflow.services import calendar, inbox
from fitsflow.services import changes as changes_service

from . import factories as f


class Clock:
    def __init__(self, rt) -> None:  # type: ignore[no-untyped-def]
        self.now = rt.now()

    def __call__(self) -> datetime:
        return self.now


def events(rt, uid: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.event for n in inbox.my_notices(rt, actor_id=uid).items]


def test_a_reminder_appears_only_when_due_and_a_cancelled_one_never(rt):
    school = f.School(rt)
    clock = Clock(rt)
    worker = Worker(rt, email=None, webhook=None, clock=clock)
    kept = f.change_in(rt, school, "minor", "released")
    dropped = f.change_in(rt, school, "minor", "released")
    f.drain(worker)
    assert "review_due" not in events(rt, school.requester)  # due in ten school days, not today
    changes_service.fire(rt, actor_id=school.requester, ref=dropped, trigger="open_review")
    days = rt.settings.notices.review_due_days
    clock.now = calendar.calendar_now(rt).school_days_after(clock.now, days) + timedelta(minutes=1)
    f.drain(worker)
    mine = inbox.my_notices(rt, actor_id=school.requester).items
    due = [n.change_ref for n in mine if n.event == "review_due"]
    assert due == [kept]  # the one whose review opened in time was cancelled, never shown
    with rt.db.read() as session:
        status = session.execute(select(OutboxMessage.status).where(
            OutboxMessage.change_ref == dropped, OutboxMessage.event == "review_due")).scalar_one()
    assert status == "cancelled"


def test_read_unread_and_counts(rt):
    school = f.School(rt)
    f.change_in(rt, school, "significant", "proceed_approval")
    Worker(rt, email=None, webhook=None).run_once()
    page = inbox.my_notices(rt, actor_id=school.finance)
    assert page.total == page.unread == 1 and page.items[0].event == "submitted"
    assert page.items[0].link.startswith("/changes/CHG-")
    assert inbox.mark_read(rt, actor_id=school.finance, item_id=page.items[0].id) == 1
    assert inbox.mark_read(rt, actor_id=school.finance, item_id=page.items[0].id) == 0  # once
    assert inbox.unread_count(rt, actor_id=school.finance) == 0
    with pytest.raises(NotFound):
        inbox.mark_read(rt, actor_id=school.slt, item_id=page.items[0].id)  # not theirs
    f.change_in(rt, school, "significant", "proceed_approval")
    f.change_in(rt, school, "significant", "proceed_approval")
    Worker(rt, email=None, webhook=None).run_once()
    assert inbox.unread_count(rt, actor_id=school.finance) == 2
    assert len(inbox.my_notices(rt, actor_id=school.finance, unread_only=True).items) == 2
    assert inbox.mark_read(rt, actor_id=school.finance) == 2
    assert inbox.my_notices(rt, actor_id=school.finance).unread == 0


def test_delivering_a_row_twice_gives_one_inbox_item(sqlite_rt):
    school = f.School(sqlite_rt)
    f.change_in(sqlite_rt, school, "minor", "proceed_approval")
    with sqlite_rt.db.read() as session:
        row = session.execute(select(OutboxMessage.__table__)  # type: ignore[attr-defined]
                              .where(OutboxMessage.event == "submitted")).first()
    assert row is not None and row.recipient_id is not None
    for _ in range(2):  # a worker whose lease ran out, and the one that took over
        with sqlite_rt.db.transaction() as session:
            inbox_store.deliver(session, outbox_id=row.id, user_id=row.recipient_id, event=row.event,
                                change_ref=row.change_ref, subject=row.subject, body=row.body,
                                payload=row.payload, now=sqlite_rt.now())
    with sqlite_rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(InboxItem)).scalar_one() == 1


def test_the_inbox_pages_and_the_api_reports_unread(rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    school = WebSchool(rt)
    for _ in range(3):
        f.change_in(rt, school, "significant", "proceed_approval")
    Worker(rt, email=None, webhook=None).run_once()
    app = make_app(rt, tmp_path)
    client = app.test_client()
    login(client, school.emails[school.finance])
    page = client.get("/notices").get_data(as_text=True)
    assert "3 unread" in page and page.count("Mark read") == 3
    assert post(client, "/notices/inbox/read", page="/notices").status_code == 302
    assert "0 unread" in client.get("/notices").get_data(as_text=True)


def test_notices_are_a_list_of_links_opened_one_at_a_time(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")
    Worker(rt, email=None, webhook=None).run_once()
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.finance])
    listing = client.get("/").get_data(as_text=True)
    assert 'class="count badge"' in listing  # the unread count in the navigation
    page = client.get("/notices").get_data(as_text=True)
    item = inbox.my_notices(rt, actor_id=school.finance).items[0]
    assert f'href="/notices/inbox/{item.id}"' in page
    assert "Your decision is needed at" in page  # its one-line summary
    assert "Five-year cost" not in page  # not the whole body
    opened = client.get(f"/notices/inbox/{item.id}").get_data(as_text=True)
    assert "Five-year cost" in opened and f"/changes/{ref}#decide" in opened
    assert inbox.unread_count(rt, actor_id=school.finance) == 0
    other = make_app(rt, tmp_path).test_client()
    login(other, school.emails[school.cab[0]])
    assert other.get(f"/notices/inbox/{item.id}").status_code == 404  # someone else's


def test_release_notices_are_paged(sqlite_rt, tmp_path):
    from fitsflow.services import notices

    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    school = WebSchool(rt)
    for i in range(12):
        f.change_in(rt, school, "minor", "scheduled", title=f"Release {i}")
    notices.publish_due(rt, now=sqlite_rt.now() + timedelta(days=400))
    page = notices.release_notice_page(rt, actor_id=school.staff, limit=5, offset=10)
    assert page.total == 12 and len(page.items) == 2 and not page.has_next
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.staff])
    listing = client.get("/notices").get_data(as_text=True)
    assert "All 12 release notices" in listing
    second = client.get("/notices/releases?size=10&page=2").get_data(as_text=True)
    assert "11–12 of 12" in second and second.count('href="/notices/') >= 2
