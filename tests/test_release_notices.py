"""Release notices tiered by audience: drafted at scheduling, published on lead times,
one per person (their most detailed tier), acknowledged; tier content; window clashes
and review reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fitsflow.delivery.worker import Worker
from fitsflow.domain.errors import NotAllowed, NotFound, NotPermitted
from fitsflow.domain.notices import most_detailed
from fitsflow.persistence.models import NoticeReceipt, OutboxMessage
from fitsflow.services import audit, notices, users

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def audience_school(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    people = {
        "head_also_staff": f.user(rt, "", "slt staff"),
        "technician": f.user(rt, "", "support"),
        "teacher": f.user(rt, "", "staff"),
        "teacher_parent": f.user(rt, "", "staff parents"),
        "student": f.user(rt, "", "students"),
        "parent": f.user(rt, "", "parents"),
    }
    return school, people


def by_audience(rt, ref):  # type: ignore[no-untyped-def]
    school_admin = f.user(rt, "auditor")
    return {n.audience: n for n in notices.notices_for(rt, actor_id=school_admin, ref=ref)}


def test_tiers():
    tiers = {"slt": "full", "support": "technical", "staff": "staff", "students": "brief", "parents": "brief"}
    assert most_detailed(["staff", "slt"], tiers) == "slt"
    assert most_detailed(["parents", "staff"], tiers) == "staff"


def test_drafts_per_audience_with_tiered_content(rt):
    school, _ = audience_school(rt)
    ref = f.change_in(rt, school, "significant", "scheduled")
    drafted = by_audience(rt, ref)
    assert set(drafted) == {"slt", "support", "staff", "students", "parents"}
    full = drafted["slt"].body
    assert "£1,700.00" in full and "Reimage from backup" in full and "Old PCs are too slow" in full
    assert "Reimage from backup" in drafted["support"].body and "£" not in drafted["support"].body
    for audience in ("staff", "students", "parents"):
        body = drafted[audience].subject + drafted[audience].body
        assert "£" not in body and "1,700" not in body and "Reimage from backup" not in body, audience
    staff = drafted["staff"].body
    assert "Drop-in session on Monday" in staff and "Helpdesk ext. 204" in staff
    # Short, but a parent can act on it: when, what it means for them, who to ask (issue 22.6).
    brief = drafted["parents"].body
    assert len(brief.splitlines()) <= 3
    assert ":" in brief.splitlines()[0] and any(c.isdigit() for c in brief.splitlines()[0])  # a time
    assert "What it means for you:" in brief and f"Questions: {rt.settings.school.public_contact}" in brief
    window = drafted["students"].publish_at
    assert drafted["staff"].publish_at < window and drafted["slt"].publish_at <= drafted["staff"].publish_at


def test_each_person_receives_exactly_one_notice_their_most_detailed(rt):
    school, people = audience_school(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    f.send_held_notices(rt, school, ref)  # the SLT's was held (it would go at once)
    published = 0
    for moment in (FAR, FAR + timedelta(days=1)):
        published += notices.publish_due(rt, now=moment)
    assert published == 5
    with rt.db.read() as session:
        receipts = session.execute(select(NoticeReceipt.user_id, NoticeReceipt.notice_id)).all()
    per_person: dict[int, list[int]] = {}
    for uid, nid in receipts:
        per_person.setdefault(uid, []).append(nid)
    assert all(len(v) == 1 for v in per_person.values())
    drafted = {n.id: n for n in by_audience(rt, ref).values()}
    got = {name: drafted[per_person[uid][0]].audience for name, uid in people.items()}
    assert got == {"head_also_staff": "slt", "technician": "support", "teacher": "staff",
                   "teacher_parent": "staff", "student": "students", "parent": "parents"}
    with rt.db.read() as session:
        mails = session.execute(select(OutboxMessage.recipient_id).where(
            OutboxMessage.event == "release_notice")).scalars().all()
    assert sorted(mails) == sorted(per_person)  # one message per person too


def test_publication_waits_for_each_lead_time(rt):
    school, people = audience_school(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    drafted = by_audience(rt, ref)
    just_before_staff = drafted["staff"].publish_at - timedelta(seconds=1)
    notices.publish_due(rt, now=just_before_staff)
    assert {a for a, n in by_audience(rt, ref).items() if n.status == "published"} <= {"slt"}
    notices.publish_due(rt, now=drafted["staff"].publish_at)
    assert by_audience(rt, ref)["staff"].status == "published"
    assert by_audience(rt, ref)["students"].status == "draft"


def test_requester_edits_drafts_only_and_sees_acknowledgements(rt):
    school, people = audience_school(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    staff_notice = by_audience(rt, ref)["staff"]
    with pytest.raises(NotPermitted):
        notices.edit(rt, actor_id=school.other_requester, ref=ref, notice_id=staff_notice.id,
                     subject="x", body="y")
    notices.edit(rt, actor_id=school.requester, ref=ref, notice_id=staff_notice.id,
                 subject="New PCs in IT1", body="Log in as usual from Monday.")
    notices.publish_due(rt, now=FAR)
    with pytest.raises(NotAllowed):
        notices.edit(rt, actor_id=school.requester, ref=ref, notice_id=staff_notice.id,
                     subject="late", body="late")
    teacher = people["teacher"]
    mine = notices.my_release_notices(rt, actor_id=teacher)
    assert [(n.subject, n.body) for n in mine] == [("New PCs in IT1", "Log in as usual from Monday.")]
    notices.acknowledge(rt, actor_id=teacher, notice_id=staff_notice.id)
    notices.acknowledge(rt, actor_id=teacher, notice_id=staff_notice.id)  # once is enough
    seen = by_audience(rt, ref)["staff"]
    assert seen.acknowledged_count == 1 and seen.waiting_count == seen.recipients - 1 == 2
    for waiting, count in ((False, 1), (True, 2)):
        _, names, total = notices.acknowledgements(rt, actor_id=school.requester, ref=ref,
                                                   notice_id=staff_notice.id, waiting=waiting)
        assert len(names) == total == count
    with pytest.raises(NotFound):
        notices.acknowledge(rt, actor_id=people["student"], notice_id=staff_notice.id)
    assert audit.verify(rt).ok


def test_notices_for_a_backed_out_release_are_cancelled(rt):
    school, _ = audience_school(rt)
    ref = f.change_in(rt, school, "minor", "backed_out")
    # Cancelled at the back-out, held ones too: nothing is left to publish.
    assert {n.status for n in by_audience(rt, ref).values()} == {"cancelled"}
    assert notices.publish_due(rt, now=FAR) == 0


def test_review_reminder_is_sent_when_due_and_cancelled_once_the_review_is_open(rt):
    school, _ = audience_school(rt)
    waiting = f.change_in(rt, school, "minor", "released")
    reviewed = f.change_in(rt, school, "minor", "in_review")
    worker = Worker.from_runtime(rt)
    worker.clock = lambda: FAR
    f.drain(worker)
    with rt.db.read() as session:
        reminders = dict(session.execute(select(OutboxMessage.change_ref, OutboxMessage.status).where(
            OutboxMessage.event == "review_due")).all())
    assert reminders == {waiting: "delivered", reviewed: "cancelled"}


def test_acknowledgements_are_counts_with_a_searchable_list_of_names(sqlite_rt, tmp_path):
    """Issue: the "not yet" cell listed 601 students' names on the change page."""
    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    school = WebSchool(rt)
    for i in range(120):
        users.add_user(rt, name=f"Member of staff {i:03d}", email=f"m{i:03d}@test.school",
                          audiences=["staff"])
    ref = f.change_in(rt, school, "minor", "scheduled")
    notices.publish_due(rt, now=FAR)
    staff_notice = by_audience(rt, ref)["staff"]
    _notice, names, total = notices.acknowledgements(rt, actor_id=school.requester, ref=ref,
                                                     notice_id=staff_notice.id, waiting=True, q="staff 04",
                                                     limit=5)
    assert total == 10 and names == [f"Member of staff {i:03d}" for i in range(40, 45)]
    with pytest.raises(NotFound):  # someone who may not see the names
        notices.acknowledgements(rt, actor_id=school.cab[0], ref=ref, notice_id=staff_notice.id, waiting=True)
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Member of staff 007" not in page  # counts on the change page, not every name
    link = f"/changes/{ref}/notices/{staff_notice.id}/acknowledgements?waiting=1"
    assert link in page
    listing = client.get(link + "&q=staff+11").get_data(as_text=True)
    assert "Member of staff 110" in listing and "Member of staff 007" not in listing


def test_read_and_understood_clears_the_notices_copy_in_the_inbox(rt):
    """Issue 22.6: the unread badge stayed at 1 after "Read and understood" — the inbox held
    a second copy. Read state is one per notice: acknowledging it reads its inbox copy."""
    from fitsflow.delivery.worker import Worker
    from fitsflow.services import inbox

    school, people = audience_school(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")
    staff_notice = by_audience(rt, ref)["staff"]
    notices.publish_due(rt, now=FAR)
    f.drain(Worker(rt, email=None, webhook=None, clock=lambda: FAR))
    teacher = people["teacher"]
    before = inbox.unread_count(rt, actor_id=teacher)
    assert before >= 1 and any(i.event == "release_notice" and i.unread
                               for i in inbox.my_notices(rt, actor_id=teacher).items)
    notices.acknowledge(rt, actor_id=teacher, notice_id=staff_notice.id)
    assert inbox.unread_count(rt, actor_id=teacher) == before - 1
    items = inbox.my_notices(rt, actor_id=teacher).items
    assert not any(i.event == "release_notice" and i.unread for i in items)
