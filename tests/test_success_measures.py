"""Issue 23.1: what success looks like is recorded at needs analysis (a measurable statement,
how and by when it will be checked) and assessed at the review (met, partly, not met, with
the evidence). A change of a category that asks for them cannot leave needs analysis without
one, nor close its review with one unassessed — by the services, the command line (test_cli),
the API and the pages alike."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from fitsflow.config import load_settings
from fitsflow.domain.errors import ConfigError, GateNotSatisfied, InvalidInput
from fitsflow.persistence.models import Change
from fitsflow.services import auth, stages
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app, post

MEASURE = {
    "statement": "Every Year 7 class signs in within two minutes",
    "method": "Timed in six lessons",
    "check_by": "2027-02-12",
}
WITHOUT = {k: v for k, v in f.NEEDS.items() if k != "success_measures"}


def _raised(rt, school, category: str = "minor") -> str:  # type: ignore[no-untyped-def]
    return changes_service.raise_change(rt, actor_id=school.requester, title="Suite", category=category).ref


def test_a_change_cannot_leave_needs_analysis_without_a_success_measure(rt):
    school = f.School(rt)
    ref = _raised(rt, school)
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=WITHOUT)
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    assert "no success measure (what success looks like, how and by when it will be checked)" in str(
        refused.value
    )
    assert f.snapshot(rt, ref)[0] == "needs_analysis"
    stages.record_needs(
        rt, actor_id=school.requester, ref=ref, data={**WITHOUT, "success_measures": [MEASURE]}
    )
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    needs = changes_service.get_change(rt, actor_id=school.requester, ref=ref).needs
    assert needs is not None and [m.statement for m in needs.measures] == [MEASURE["statement"]]
    assert needs.measures[0].check_by.isoformat() == "2027-02-12" and needs.measures[0].result == ""


def test_a_category_the_school_exempts_may_go_without_and_standard_is_never_asked(rt):
    relaxed = dataclasses.replace(rt, settings=rt.settings.replace(review={"success_measures_for": "major"}))
    school = f.School(relaxed)
    ref = _raised(relaxed, school)
    stages.record_needs(relaxed, actor_id=school.requester, ref=ref, data=WITHOUT)
    changes_service.fire(relaxed, actor_id=school.requester, ref=ref, trigger="complete_needs")
    with pytest.raises(ConfigError, match="standard changes are pre-approved"):
        load_settings(environ={"FITSFLOW_REVIEW_SUCCESS_MEASURES_FOR": "minor, standard"})
    with pytest.raises(ConfigError, match="unknown category tiny"):
        load_settings(environ={"FITSFLOW_REVIEW_SUCCESS_MEASURES_FOR": "tiny"})


@pytest.mark.parametrize(
    ("measure", "key", "said"),
    [
        ({**MEASURE, "method": ""}, "success measure 1 method", "required"),
        ({**MEASURE, "check_by": ""}, "success measure 1 check_by", "the date by which it will be checked"),
        (
            {**MEASURE, "check_by": "next summer"},
            "success measure 1 check_by",
            "must be a date such as 2027-03-31",
        ),
        ({**MEASURE, "check_by": "1850-01-01"}, "success measure 1 check_by", "must be in the years"),
        ({**MEASURE, "statement": "x" * 1001}, "success measure 1 statement", "1000"),
    ],
)
def test_a_bad_measure_is_named_and_nothing_is_saved(rt, measure, key, said):
    school = f.School(rt)
    ref = _raised(rt, school)
    with pytest.raises(InvalidInput) as bad:
        stages.record_needs(
            rt, actor_id=school.requester, ref=ref, data={**WITHOUT, "success_measures": [measure]}
        )
    assert key in bad.value.problems and said in bad.value.problems[key]
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).needs is None
    with pytest.raises(InvalidInput) as many:
        stages.record_needs(
            rt, actor_id=school.requester, ref=ref, data={**WITHOUT, "success_measures": [MEASURE] * 11}
        )
    assert many.value.problems == {"success_measures": "at most 10 success measures"}


def _in_review(rt, school) -> str:  # type: ignore[no-untyped-def]
    ref = f.change_in(rt, school, "minor", "in_review")
    return ref


def test_the_review_cannot_close_until_each_measure_is_assessed_with_evidence(rt):
    school = f.School(rt)
    ref = _in_review(rt, school)
    statement = f.NEEDS["success_measures"][0]["statement"]
    stages.record_review(rt, actor_id=school.requester, ref=ref, data=f.REVIEW)  # no word on the measure
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert f"success measure not assessed: {statement}" in str(refused.value)
    for said, key, words in (
        ({"result": "met"}, "measure 1 evidence", "is required"),
        ({"evidence": "Timed"}, "measure 1 result", "is required with evidence"),
        ({"result": "smashed_it", "evidence": "Timed"}, "measure 1 result", "must be one of: met, partly"),
    ):
        with pytest.raises(InvalidInput) as bad:
            stages.record_review(
                rt, actor_id=school.requester, ref=ref, data={**f.REVIEW, "measures": [said]}
            )
        assert words in bad.value.problems[key]
    with pytest.raises(InvalidInput) as extra:
        stages.record_review(
            rt,
            actor_id=school.requester,
            ref=ref,
            data={**f.REVIEW, "measures": [{"result": "met", "evidence": "a"}] * 2},
        )
    assert "has 1 success measure(s), not 2" in extra.value.problems["measures"]
    stages.record_review(
        rt,
        actor_id=school.requester,
        ref=ref,
        data={
            **f.REVIEW,
            "measures": [{"result": "partly", "evidence": "Four lessons of six under a minute"}],
        },
    )
    f.give_feedback(rt, ref)
    review = changes_service.get_change(rt, actor_id=school.requester, ref=ref).review
    assert review is not None and review.assessments[0].result == "partly"
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert f.snapshot(rt, ref)[0] == "closed"


def test_needs_edited_again_keep_the_assessment_of_a_measure_kept_word_for_word(rt):
    from fitsflow.persistence import stage_store
    from fitsflow.services.common import unit_of_work

    school = f.School(rt)
    ref = _in_review(rt, school)
    stages.record_review(rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref))
    with unit_of_work(rt) as session:
        change_id = session.execute(select(Change.id).where(Change.ref == ref)).scalar_one()
    kept = dict(f.NEEDS["success_measures"][0])
    with unit_of_work(rt) as session:  # as a reopened change's needs analysis would save them
        from fitsflow.domain.stages import parse_needs

        stage_store.save_needs(
            session,
            change_id,
            parse_needs(
                {**f.NEEDS, "success_measures": [kept, MEASURE]}, rt.settings.policy.screening_questions
            ),
            rt.now(),
        )
    with unit_of_work(rt) as session:
        found = stage_store.measures(session, change_id)
    assert [(m.statement, m.result) for m in found] == [
        (kept["statement"], "met"),
        (MEASURE["statement"], ""),
    ]


def test_the_api_takes_and_gives_the_measures_and_their_assessments(rt, tmp_path):
    school = WebSchool(rt)
    client = make_app(rt, tmp_path).test_client()
    token = auth.create_token(rt, user_id=school.requester, name="test")

    def call(method: str, path: str, json=None, status: int = 200):  # type: ignore[no-untyped-def]
        r = client.open(
            f"/api/v1{path}", method=method, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == status, r.get_json()
        return r.get_json()

    ref = call("POST", "/changes", {"title": "Suite", "category": "minor"}, status=201)["ref"]
    call("PUT", f"/changes/{ref}/stages/needs", WITHOUT)
    problem = call("POST", f"/changes/{ref}/actions/complete_needs", status=409)
    assert problem["missing"] == [
        "no success measure (what success looks like, how and by when it will be checked)"
    ]
    bad = call(
        "PUT",
        f"/changes/{ref}/stages/needs",
        {**WITHOUT, "success_measures": [{**MEASURE, "check_by": "soon"}]},
        status=400,
    )
    assert set(bad["problems"]) == {"success_measures.0.check_by"}
    call("PUT", f"/changes/{ref}/stages/needs", {**WITHOUT, "success_measures": [MEASURE]})
    detail = call("GET", f"/changes/{ref}")
    assert detail["stages"]["needs"]["success_measures"] == [MEASURE]
    # What GET gives, PUT takes back.
    call("PUT", f"/changes/{ref}/stages/needs", detail["stages"]["needs"])
    call("POST", f"/changes/{ref}/actions/complete_needs")


def test_the_pages_record_and_assess_the_measures(rt, tmp_path):
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    me = app.test_client()
    assert login(me, school.emails[school.requester]).status_code == 302
    ref = f.change_in(rt, school, "minor", "in_review")
    form = me.get(f"/changes/{ref}/stage/review").get_data(as_text=True)
    statement = f.NEEDS["success_measures"][0]["statement"]
    assert statement in form and 'name="measure_1_result" value="partly"' in form
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    base = {"version": version, "outcome": "successful", "notes": "Fine"}
    r = post(me, f"/changes/{ref}/stage/review", {**base, "measure_1_result": "met"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert 'id="measure_1_evidence-error"' in page and "say what shows it" in page
    assert 'value="met" checked' in page  # what was chosen is kept
    r = post(
        me,
        f"/changes/{ref}/stage/review",
        {**base, "measure_1_result": "not_met", "measure_1_evidence": "Two minutes in most lessons"},
    )
    assert r.status_code == 302
    review = changes_service.get_change(rt, actor_id=school.requester, ref=ref).review
    assert review is not None and [(a.result, a.evidence) for a in review.assessments] == [
        ("not_met", "Two minutes in most lessons")
    ]
    assert "Not met" in me.get(f"/changes/{ref}").get_data(as_text=True)
