"""Issue 23.2: 360° feedback. When a review opens, the people review.feedback_from names and
a sample of each audience that received a release notice are asked, and told (the message
opens the form); each answers once and may change it while the review is open; the owners,
SLT, the head and auditors read the answers by group; the review closes only once enough
groups have answered or its school days have run out. Services, pages, email link and API."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from statistics import mean

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotAllowed, NotFound
from fitsflow.persistence import feedback_store
from fitsflow.persistence.models import AuditEvent, Change, OutboxMessage, ReviewFeedback
from fitsflow.services import auth, feedback
from fitsflow.services import changes as changes_service
from fitsflow.services.common import unit_of_work

from . import factories as f
from .web_support import WebSchool, login, make_app, post

ANSWER = {
    "meets_need": 5,
    "disruption": 4,
    "training": 2,
    "communication": 3,
    "worked": "Fast",
    "improve": "More notice",
}


def _asked(rt, ref: str) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with unit_of_work(rt) as session:
        change_id = session.execute(select(Change.id).where(Change.ref == ref)).scalar_one()
        return feedback_store.asked(session, change_id)


def _deciders(rt, ref: str) -> set[int]:  # type: ignore[no-untyped-def]
    from fitsflow.persistence import queries

    with unit_of_work(rt) as session:
        change_id = session.execute(select(Change.id).where(Change.ref == ref)).scalar_one()
        return set(queries.deciders_of(session, change_id))


def test_the_review_opening_asks_each_group_and_tells_them_with_a_link_to_the_form(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    asked = _asked(rt, ref)
    deciders = _deciders(rt, ref)
    assert deciders and all(asked[uid] == "deciders" for uid in deciders)
    assert asked[school.staff] == "audience:staff"  # sampled from the release notice's audience
    assert asked[school.requester] == "audience:support"  # in the support team: counted there
    assert asked[school.head] in ("deciders", "head")
    for outsider in (school.auditor, school.admin, school.other_requester):
        assert outsider not in asked
        with pytest.raises(NotFound):
            feedback.form(rt, actor_id=outsider, ref=ref)
        with pytest.raises(NotFound):
            feedback.respond(rt, actor_id=outsider, ref=ref, data=ANSWER)
    with unit_of_work(rt) as session:
        told = session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.payload).where(
                OutboxMessage.change_ref == ref, OutboxMessage.event == "review_opened"
            )
        ).all()
    links = {uid: json.loads(payload)["link"] for uid, payload in told}
    assert links[school.staff] == f"/changes/{ref}/feedback"  # not in the rules: told because asked
    assert all(links[uid] == f"/changes/{ref}/feedback" for uid in asked if uid in links)
    assert set(asked) - {school.requester} <= set(links)  # the requester opened it (not told)


def test_the_sample_of_an_audience_is_the_configured_size_and_none_at_zero(rt):
    none = dataclasses.replace(rt, settings=rt.settings.replace(review={"feedback_sample": 0}))
    school = f.School(none)
    ref = f.change_in(none, school, "minor", "in_review")
    assert school.staff not in _asked(none, ref)


def test_one_answer_per_person_changed_until_the_review_closes(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    with pytest.raises(InvalidInput) as bad:
        feedback.respond(
            rt, actor_id=school.staff, ref=ref, data={**ANSWER, "meets_need": 6, "training": "x"}
        )
    assert set(bad.value.problems) == {"meets_need", "training"}
    assert "1 (poor) to 5 (very good)" in bad.value.problems["meets_need"]
    first = feedback.respond(rt, actor_id=school.staff, ref=ref, data=ANSWER)
    assert first.scores == {"meets_need": 5, "disruption": 4, "training": 2, "communication": 3}
    again = feedback.respond(rt, actor_id=school.staff, ref=ref, data={**ANSWER, "meets_need": "2"})
    assert again.scores["meets_need"] == 2
    with unit_of_work(rt) as session:
        rows = session.execute(select(ReviewFeedback).where(ReviewFeedback.user_id == school.staff)).all()
        events = (
            session.execute(
                select(AuditEvent.payload).where(
                    AuditEvent.change_ref == ref, AuditEvent.event_type == "review.feedback"
                )
            )
            .scalars()
            .all()
        )
    assert len(rows) == 1
    assert [json.loads(p)["again"] for p in events] == [False, True]
    f.give_feedback(rt, ref)
    f.stages.record_review(
        rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref)
    )
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    with pytest.raises(NotAllowed, match="has closed"):
        feedback.respond(rt, actor_id=school.staff, ref=ref, data=ANSWER)
    assert feedback.form(rt, actor_id=school.staff, ref=ref).open is False


def test_the_review_cannot_close_before_the_quorum_of_groups_or_the_deadline(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    f.stages.record_review(
        rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref)
    )
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert "360° feedback: 0 of the 2 groups needed have answered" in str(refused.value)
    feedback.respond(rt, actor_id=school.staff, ref=ref, data=ANSWER)
    with pytest.raises(GateNotSatisfied, match="1 of the 2 groups"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    feedback.respond(rt, actor_id=school.requester, ref=ref, data=ANSWER)  # the support team
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert f.snapshot(rt, ref)[0] == "closed"


def test_past_the_deadline_in_school_days_the_review_may_close_unanswered(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    f.stages.record_review(
        rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref)
    )
    summary = feedback.summary(rt, actor_id=school.requester, ref=ref)
    assert summary.deadline is not None and not summary.settled
    rt.clock.advance(summary.deadline - rt.now() + timedelta(minutes=1))
    assert feedback.summary(rt, actor_id=school.requester, ref=ref).settled
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert f.snapshot(rt, ref)[0] == "closed"


def test_the_summary_by_group_matches_the_answers_and_is_for_its_readers_only(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    asked = _asked(rt, ref)
    given: dict[str, list[dict[str, object]]] = {}
    for n, (uid, group) in enumerate(sorted(asked.items())):
        if n % 3 == 2:
            continue
        data = {**ANSWER, "meets_need": 1 + n % 5, "worked": f"worked {n}", "improve": ""}
        feedback.respond(rt, actor_id=uid, ref=ref, data=data)
        given.setdefault(group, []).append(data)
    for reader in (school.requester, school.auditor, school.head):
        summary = feedback.summary(rt, actor_id=reader, ref=ref)
        by_group = {g.group: g for g in summary.groups}
        assert set(by_group) == set(asked.values())
        for group, answers in given.items():
            g = by_group[group]
            assert g.answered == len(answers) and g.asked == sum(1 for v in asked.values() if v == group)
            assert g.averages["meets_need"] == round(mean(a["meets_need"] for a in answers), 2)  # type: ignore[misc]
            assert sorted(g.worked) == sorted(str(a["worked"]) for a in answers)
        assert summary.answered_groups == len(given)
    for outsider in (school.cab[0] if school.cab[0] not in asked else school.other_requester, school.admin):
        with pytest.raises(NotFound):
            feedback.summary(rt, actor_id=outsider, ref=ref)


def test_a_teacher_reaches_the_form_from_the_email_link_and_the_requester_reads_the_summary(rt, tmp_path):
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    ref = f.change_in(rt, school, "minor", "in_review")
    teacher = app.test_client()
    link = f"/changes/{ref}/feedback"
    r = teacher.get(link)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert login(teacher, school.emails[school.staff]).status_code == 302
    page = teacher.get(link).get_data(as_text=True)
    assert "Did it meet the need?" in page and 'name="meets_need" value="5"' in page
    r = post(teacher, link, {"meets_need": "5", "disruption": "4", "training": "9"}, page=link)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'id="training-error"' in page and 'value="5" checked' in page
    r = post(
        teacher,
        link,
        {
            "meets_need": "5",
            "disruption": "4",
            "training": "3",
            "communication": "4",
            "worked": "Rooms ready on Monday",
        },
        page=link,
    )
    assert r.status_code == 302
    assert "You can change your answers" in teacher.get(link).get_data(as_text=True)
    auditor = app.test_client()
    assert login(auditor, school.emails[school.other_requester]).status_code == 302
    assert auditor.get(link).status_code == 404
    owner = app.test_client()
    assert login(owner, school.emails[school.requester]).status_code == 302
    change_page = owner.get(f"/changes/{ref}").get_data(as_text=True)
    assert "360° feedback" in change_page and "Rooms ready on Monday" in change_page
    assert "Give my feedback" in change_page  # the requester is asked too


def test_the_api_gives_takes_and_sums_up_the_feedback(rt, tmp_path):
    school = WebSchool(rt)
    client = make_app(rt, tmp_path).test_client()
    ref = f.change_in(rt, school, "minor", "in_review")

    def call(uid: int, method: str, path: str, json=None, status: int = 200):  # type: ignore[no-untyped-def]
        token = auth.create_token(rt, user_id=uid, name=f"t{uid}{path}{method}")
        r = client.open(
            f"/api/v1{path}", method=method, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == status, r.get_json()
        return r.get_json()

    mine = call(school.staff, "GET", f"/changes/{ref}/feedback")
    assert mine["group"] == "audience:staff" and mine["open"] and mine["meets_need"] is None
    bad = call(school.staff, "PUT", f"/changes/{ref}/feedback", {**ANSWER, "training": 0}, status=400)
    assert set(bad["problems"]) == {"training"}
    given = call(school.staff, "PUT", f"/changes/{ref}/feedback", ANSWER)
    assert given["meets_need"] == 5 and given["answered_at"]
    call(school.other_requester, "PUT", f"/changes/{ref}/feedback", ANSWER, status=404)
    summary = call(school.requester, "GET", f"/changes/{ref}/feedback/summary")
    staff = next(g for g in summary["groups"] if g["group"] == "audience:staff")
    assert staff["answered"] == 1 and staff["averages"]["training"] == 2 and staff["worked"] == ["Fast"]
    call(school.other_requester, "GET", f"/changes/{ref}/feedback/summary", status=404)


def test_those_yet_to_answer_are_reminded_once_after_the_school_days_and_not_once_it_closes(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    feedback.respond(rt, actor_id=school.staff, ref=ref, data=ANSWER)
    asked = _asked(rt, ref)
    assert feedback.remind_due(rt, now=rt.now()) == 0  # too soon
    with unit_of_work(rt) as session:
        from fitsflow.services import calendar

        opened = session.execute(
            select(ReviewFeedback.asked_at).where(ReviewFeedback.user_id == school.staff)
        ).scalar_one()
        due = calendar.school_calendar(rt, session).school_days_after(
            opened, rt.settings.reminders.after_school_days
        )
    assert feedback.remind_due(rt, now=due - timedelta(minutes=1)) == 0
    reminded = feedback.remind_due(rt, now=due)
    assert reminded == len(asked) - 1  # all but the teacher who answered
    assert feedback.remind_due(rt, now=due + timedelta(days=1)) == 0  # once
    with unit_of_work(rt) as session:
        rows = session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.payload).where(
                OutboxMessage.change_ref == ref, OutboxMessage.event == "feedback_reminder"
            )
        ).all()
    assert school.staff not in {uid for uid, _ in rows}
    assert {json.loads(p)["link"] for _, p in rows} == {f"/changes/{ref}/feedback"}

    closed = f.change_in(rt, school, "minor", "in_review")  # closed with answers from two groups only
    feedback.respond(rt, actor_id=school.staff, ref=closed, data=ANSWER)
    feedback.respond(rt, actor_id=school.requester, ref=closed, data=ANSWER)
    f.stages.record_review(
        rt, actor_id=school.requester, ref=closed, data=f.review_of(rt, school.requester, closed)
    )
    changes_service.fire(rt, actor_id=school.requester, ref=closed, trigger="close")
    assert feedback.remind_due(rt, now=rt.now() + timedelta(days=60)) == 0
    with unit_of_work(rt) as session:
        told = session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.change_ref == closed, OutboxMessage.event == "feedback_reminder"
            )
        ).all()
        left = session.execute(
            select(ReviewFeedback.id)
            .join(Change, Change.id == ReviewFeedback.change_id)
            .where(
                Change.ref == closed,
                ReviewFeedback.answered_at.is_(None),
                ReviewFeedback.reminded_at.is_(None),
            )
        ).all()
    assert told == [] and left == []  # looked at once, and never again


def test_a_workflow_names_its_own_feedback_groups_and_a_wrong_one_is_named(rt, tmp_path):
    from fitsflow.domain.errors import WorkflowError
    from fitsflow.workflow.loader import load_definition, shipped_directory

    text = (shipped_directory() / "fits-change.toml").read_text()
    path = tmp_path / "fits.toml"
    path.write_text('feedback_from = ["requester", "audience:bursars"]\n' + text)
    with pytest.raises(WorkflowError) as bad:
        load_definition(path)
    assert any(
        p.startswith(f"{path}: feedback_from: unknown group 'audience:bursars'") for p in bad.value.problems
    )
    path.write_text('feedback_from = ["requester", "slt"]\n' + text)
    narrow = load_definition(path)
    assert narrow.feedback_from == ("requester", "slt")
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "released")
    from fitsflow.persistence import change_store

    with unit_of_work(rt) as session:
        change = change_store.load(session, ref)
        assert change is not None
        asked = feedback.participants(rt, session, change, narrow)
    # Its groups, and the audiences sampled from the release notices; no deciders as such.
    assert "deciders" not in asked.values()
    assert asked[school.requester] == "requester" and asked[school.slt] == "slt"


def test_odd_digits_are_refused_not_a_failure(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    with pytest.raises(InvalidInput) as bad:
        feedback.respond(
            rt, actor_id=school.staff, ref=ref, data={**ANSWER, "meets_need": "²", "training": "٣"}
        )
    assert set(bad.value.problems) == {"meets_need", "training"}
