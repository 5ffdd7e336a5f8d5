"""Issue: nobody stood in for an approver who was away. Now an approver (or an admin for
them) records an absence with a substitute and dates; meanwhile the substitute receives and
may make that person's decisions, recorded as "X on behalf of Y"; nobody substitutes on a
change they own; the quorum counts the absent person's role once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.persistence.models import OutboxMessage, User
from fitsflow.services import absences, gates, queues
from fitsflow.services import changes as changes_service

from . import factories as f


def _email(rt, uid):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.get(User, uid).email  # type: ignore[union-attr]


def test_a_substitutes_decision_counts_once_and_says_on_behalf_of(rt):
    school = f.School(rt)
    today = absences.today(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")  # finance + SLT
    absences.record(
        rt,
        actor_id=school.finance,
        substitute_email=_email(rt, school.cab[0]),
        first_day=today,
        last_day=today + timedelta(days=5),
        reason="Course",
    )
    # The substitute's queue holds the absent business manager's decisions.
    assert ref in [c.ref for c in queues.awaiting_decision(rt, actor_id=school.cab[0]).items]
    result = gates.decide(
        rt, actor_id=school.cab[0], ref=ref, decision="approve", on_behalf_of=school.finance
    )
    assert result.outcome == "pending"
    assert result.missing == ("needs 1 more approval from Senior leadership (SLT)",)
    # Counted once: the absent person (or their stand-in) cannot decide again this round.
    with pytest.raises(NotPermitted, match="already decided"):
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", on_behalf_of=school.finance)
    with pytest.raises(NotPermitted, match="already decided"):
        gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    approvals = changes_service.get_change(rt, actor_id=school.auditor, ref=ref).approvals
    assert approvals[0].approver == "CAB 0 on behalf of Finance" and approvals[0].role == "finance"


def test_nobody_substitutes_on_their_own_change_nor_without_an_absence(rt):
    school = f.School(rt)
    today = absences.today(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    with pytest.raises(NotPermitted, match="not standing in"):
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", on_behalf_of=school.finance)
    absences.record(
        rt,
        actor_id=school.finance,
        substitute_email=_email(rt, school.requester),
        first_day=today,
        last_day=today,
    )
    with pytest.raises(NotPermitted, match="they own"):
        gates.decide(
            rt, actor_id=school.requester, ref=ref, decision="approve", on_behalf_of=school.finance
        )
    # Dates and people are checked; only the person away or an admin records it.
    with pytest.raises(InvalidInput) as err:
        absences.record(
            rt,
            actor_id=school.finance,
            substitute_email=_email(rt, school.finance),
            first_day=today,
            last_day=today - timedelta(days=1),
        )
    assert set(err.value.problems) == {"last_day"}
    with pytest.raises(NotPermitted):
        absences.record(
            rt,
            actor_id=school.cab[0],
            user_email=_email(rt, school.finance),
            substitute_email=_email(rt, school.slt),
            first_day=today,
            last_day=today,
        )
    absences.record(
        rt,
        actor_id=school.admin,
        user_email=_email(rt, school.head),
        substitute_email=_email(rt, school.slt),
        first_day=today,
        last_day=today,
    )


def test_the_substitute_receives_the_approval_request(rt):
    school = f.School(rt)
    today = absences.today(rt)
    absences.record(
        rt,
        actor_id=school.finance,
        substitute_email=_email(rt, school.slt),
        first_day=today,
        last_day=today + timedelta(days=1),
    )
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    with rt.db.read() as session:
        asked = {
            m.recipient_id
            for m in session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.change_ref == ref, OutboxMessage.event == "submitted"
                )
            )
        }
    assert {school.finance, school.slt} <= asked


def test_the_account_page_records_an_absence_and_the_substitute_decides_on_the_change_page(
    sqlite_rt, tmp_path
):
    from .web_support import WebSchool, csrf_token, login, make_app, post

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "proceed_approval")
    finance = app.test_client()
    login(finance, school.emails[school.finance])
    today = absences.today(sqlite_rt)
    r = post(
        finance,
        "/account/absences",
        {
            "substitute_email": school.emails[school.slt],
            "first_day": today.isoformat(),
            "last_day": today.isoformat(),
        },
        page="/account",
    )
    assert r.status_code == 302
    r = post(
        finance,
        "/account/absences",
        {"substitute_email": "nobody@x.example", "first_day": "x", "last_day": today.isoformat()},
        page="/account",
    )
    assert r.status_code == 400 and "must be a day as YYYY-MM-DD" in r.get_data(as_text=True)
    slt = app.test_client()
    login(slt, school.emails[school.slt])
    page = slt.get(f"/changes/{ref}").get_data(as_text=True)
    assert "on behalf of Finance (away)" in page
    version = changes_service.get_change(sqlite_rt, actor_id=school.slt, ref=ref).change.version
    token = csrf_token(slt, f"/changes/{ref}")
    r = slt.post(
        f"/changes/{ref}/decision",
        data={
            "csrf_token": token,
            "decision": "approve",
            "on_behalf_of": str(school.finance),
            "version": str(version),
        },
    )
    assert r.status_code == 302 and f.snapshot(sqlite_rt, ref)[0] == "release_planning"


def test_a_substitute_who_is_no_approver_decides_on_the_change_page(sqlite_rt, tmp_path):
    """The business manager's deputy (a requester, no approver role) stands in for them."""
    from .web_support import WebSchool, csrf_token, login, make_app

    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "proceed_approval")
    today = absences.today(sqlite_rt).isoformat()
    deputy_email = school.emails[school.other_requester]
    absences.record(sqlite_rt, actor_id=school.finance, substitute_email=deputy_email,
                    first_day=today, last_day=today)
    deputy = app.test_client()
    login(deputy, school.emails[school.other_requester])
    page = deputy.get(f"/changes/{ref}").get_data(as_text=True)
    assert "on behalf of Finance (away)" in page and 'value="">as myself' not in page
    version = changes_service.get_change(sqlite_rt, actor_id=school.other_requester, ref=ref).change.version
    r = deputy.post(f"/changes/{ref}/decision", data={
        "csrf_token": csrf_token(deputy, f"/changes/{ref}"), "decision": "approve",
        "on_behalf_of": str(school.finance), "version": str(version)})
    assert r.status_code == 302 and f.snapshot(sqlite_rt, ref)[0] == "release_planning"
    # Without the absence field the same person is refused: they decide only for the absent.
    ref2 = f.change_in(sqlite_rt, school, "minor", "proceed_approval")
    r = deputy.post(f"/changes/{ref2}/decision", data={
        "csrf_token": csrf_token(deputy, f"/changes/{ref2}"), "decision": "approve"})
    assert r.status_code == 403 and f.snapshot(sqlite_rt, ref2)[0] == "proceed_approval"
