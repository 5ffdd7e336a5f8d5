"""Issue 23.3: sustainability. Actual against planned cost per financial year with the
variance; a usage check review.usage_check_months after release, reminded to the requester
on the day, recorded with evidence, listed as overdue when missed; a refresh or end-of-life
date on the review. Services, worker, pages and API."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from fitsflow.domain.calendar import add_months
from fitsflow.domain.errors import InvalidInput, NotFound, NotPermitted
from fitsflow.domain.stages import CostLine, variance_by_year
from fitsflow.persistence.models import AuditEvent, OutboxMessage
from fitsflow.services import auth, stages, usage
from fitsflow.services import changes as changes_service
from fitsflow.services.common import unit_of_work

from . import factories as f
from .web_support import WebSchool, login, make_app, post

FOUND = {"result": "partly", "evidence": "Logins: 40% of staff weekly; the science block not at all"}


def test_variance_is_actual_less_planned_for_each_year_of_the_horizon():
    planned = (
        CostLine(0, "capital", Decimal("1000"), "grant"),
        CostLine(1, "licence", Decimal("200"), "ICT"),
        CostLine(1, "licence", Decimal("50"), "ICT"),
        CostLine(7, "licence", Decimal("9"), "ICT"),
    )
    actual = (CostLine(0, "capital", Decimal("1100"), "grant"), CostLine(2, "support", Decimal("30"), "ICT"))
    found = variance_by_year(planned, actual, 3)
    assert [(v.year, v.planned, v.actual, v.variance) for v in found] == [
        (1, Decimal("1000"), Decimal("1100"), Decimal("100")),
        (2, Decimal("250"), Decimal("0"), Decimal("-250")),
        (3, Decimal("0"), Decimal("30"), Decimal("30")),
    ]


def test_a_release_plans_a_usage_check_months_later_and_a_second_release_keeps_it(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "released")
    check = usage.of_change(rt, actor_id=school.requester, ref=ref)
    assert check is not None and check.due_on == add_months(rt.today(), rt.settings.review.usage_check_months)
    assert not check.overdue and check.checked_at is None
    none = f.change_in(rt, school, "minor", "scheduled")
    assert usage.of_change(rt, actor_id=school.requester, ref=none) is None


def test_no_check_is_planned_when_the_school_turns_them_off(rt):
    import dataclasses

    off = dataclasses.replace(rt, settings=rt.settings.replace(review={"usage_check_months": 0}))
    school = f.School(off)
    ref = f.change_in(off, school, "minor", "released")
    assert usage.of_change(off, actor_id=school.requester, ref=ref) is None


def test_the_requester_is_reminded_on_the_day_once_and_not_once_it_is_recorded(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "released")
    other = f.change_in(rt, school, "minor", "released")
    due = usage.of_change(rt, actor_id=school.requester, ref=ref).due_on  # type: ignore[union-attr]
    day_before = rt.now() + (due - rt.today()) - timedelta(days=1)
    assert usage.remind_due(rt, now=day_before) == 0
    usage.record(rt, actor_id=school.requester, ref=other, data=FOUND)  # recorded early: no reminder
    on_the_day = day_before + timedelta(days=1, hours=1)
    assert usage.remind_due(rt, now=on_the_day) == 1
    assert usage.remind_due(rt, now=on_the_day + timedelta(days=3)) == 0
    with unit_of_work(rt) as session:
        told = session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.change_ref, OutboxMessage.payload).where(
                OutboxMessage.event == "usage_check_due"
            )
        ).all()
    assert [(uid, r, json.loads(p)["link"]) for uid, r, p in told] == [
        (school.requester, ref, f"/changes/{ref}/usage")
    ]


def test_only_the_owners_record_it_with_evidence_and_the_lists_show_what_is_overdue(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "released")
    for who in (school.other_requester, school.auditor, school.cab[0]):
        with pytest.raises(NotPermitted):
            usage.record(rt, actor_id=who, ref=ref, data=FOUND)
    with pytest.raises(InvalidInput) as bad:
        usage.record(rt, actor_id=school.requester, ref=ref, data={"result": "maybe", "evidence": " "})
    assert set(bad.value.problems) == {"result", "evidence"}
    unreleased = f.change_in(rt, school, "minor", "approved")
    with pytest.raises(NotFound, match="planned when the change is released"):
        usage.record(rt, actor_id=school.requester, ref=unreleased, data=FOUND)
    assert usage.listing(rt, actor_id=school.auditor, status="due").total == 0  # not due yet
    assert [u.ref for u in usage.listing(rt, actor_id=school.auditor, status="all").items] == [ref]
    due = usage.of_change(rt, actor_id=school.requester, ref=ref).due_on  # type: ignore[union-attr]
    rt.clock.advance(timedelta(days=(due - rt.today()).days + 1))
    listed = usage.listing(rt, actor_id=school.auditor, status="due")
    assert [(u.ref, u.overdue) for u in listed.items] == [(ref, True)]
    assert usage.listing(rt, actor_id=school.other_requester, status="due", mine=True).total == 0
    recorded = usage.record(rt, actor_id=school.requester, ref=ref, data=FOUND)
    assert recorded.result_title == "Partly used"
    assert usage.listing(rt, actor_id=school.auditor, status="due").total == 0
    assert [u.ref for u in usage.listing(rt, actor_id=school.auditor, status="checked").items] == [ref]
    usage.record(rt, actor_id=school.requester, ref=ref, data={**FOUND, "result": "in_use"})  # corrected
    with unit_of_work(rt) as session:
        events = (
            session.execute(
                select(AuditEvent.payload).where(
                    AuditEvent.change_ref == ref, AuditEvent.event_type == "usage.checked"
                )
            )
            .scalars()
            .all()
        )
    assert [(json.loads(p)["result"], json.loads(p)["again"]) for p in events] == [
        ("partly", False),
        ("in_use", True),
    ]
    with pytest.raises(InvalidInput):
        usage.listing(rt, actor_id=school.auditor, status="someday")
    with pytest.raises(NotPermitted):
        usage.listing(rt, actor_id=school.staff, status="due")


def test_the_review_records_a_refresh_date_and_the_pages_show_variance_and_the_check(rt, tmp_path):
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "in_review")
    app = make_app(rt, tmp_path)
    me = app.test_client()
    assert login(me, school.emails[school.requester]).status_code == 302
    review = f.review_of(rt, school.requester, ref)
    with pytest.raises(InvalidInput) as bad:
        stages.record_review(rt, actor_id=school.requester, ref=ref, data={**review, "refresh_on": "soon"})
    assert "refresh_on" in bad.value.problems
    form = me.get(f"/changes/{ref}/stage/review").get_data(as_text=True)
    assert 'id="refresh_on"' in form
    import re

    version = re.search(r'name="version" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
    data = {
        "version": version,
        "outcome": "successful",
        "notes": "",
        "refresh_on": "2031-08-31",
        "measure_1_result": "met",
        "measure_1_evidence": "Timed",
        "rows": "1",
        "year-0": "1",
        "kind-0": "capital",
        "amount-0": "12,300",
        "funding_source-0": "Capital grant",
    }
    assert post(me, f"/changes/{ref}/stage/review", data).status_code == 302
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Sun 31 Aug 2031" in page and "Planned against actual cost by financial year" in page
    assert "over" in page  # year 1: £12,300 actual against less planned
    assert "Is it being used as intended?" in page  # released before its review: a check is planned
    usage_page = me.get(f"/changes/{ref}/usage").get_data(as_text=True)
    assert "Record the usage check" in usage_page
    r = post(me, f"/changes/{ref}/usage", {"result": "in_use"}, page=f"/changes/{ref}/usage")
    assert r.status_code == 400 and 'id="evidence-error"' in r.get_data(as_text=True)
    r = post(
        me,
        f"/changes/{ref}/usage",
        {"result": "in_use", "evidence": "Used daily"},
        page=f"/changes/{ref}/usage",
    )
    assert r.status_code == 302
    listed = me.get("/usage-checks?status=checked").get_data(as_text=True)
    assert ref in listed and "Used as intended" in listed
    assert me.get("/usage-checks?status=bogus").status_code == 400

    token = auth.create_token(rt, user_id=school.requester, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    detail = me.get(f"/api/v1/changes/{ref}", headers=headers).get_json()
    assert detail["stages"]["review"]["refresh_on"] == "2031-08-31"
    first = detail["cost_variance"][0]
    assert first["year"] == 1 and first["actual"] == "12300.00"
    assert Decimal(first["variance"]) == Decimal(first["actual"]) - Decimal(first["planned"])
    check = me.get(f"/api/v1/changes/{ref}/usage-check", headers=headers).get_json()
    assert check["result"] == "in_use"
    r = me.put(
        f"/api/v1/changes/{ref}/usage-check",
        json={"result": "not_used", "evidence": "Stopped"},
        headers=headers,
    )
    assert r.status_code == 200 and r.get_json()["result"] == "not_used"
    assert (
        me.put(
            f"/api/v1/changes/{ref}/usage-check", json={"result": "x", "evidence": "y"}, headers=headers
        ).status_code
        == 400
    )
    body = me.get("/api/v1/usage-checks?status=checked", headers=headers).get_json()
    assert [i["ref"] for i in body["items"]] == [ref] and body["more"] is False
    changes_service.get_change(rt, actor_id=school.requester, ref=ref)
