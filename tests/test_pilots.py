"""Issue 23.4: innovation studies. The `pilot` workflow ships as data beside the others:
hypothesis, trial group and duration, success measures, SLT's approval, the trial, an
evaluation at review (measures assessed, 360° feedback) and an outcome — adopt (the full
change is raised at needs analysis, linked both ways, carrying what was learnt), adapt or
drop."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput
from fitsflow.persistence.models import AuditEvent
from fitsflow.services import auth, gates, stages
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app, post

ADOPT = {
    "outcome": "adopt",
    "adopt_category": "significant",
    "learnt": "Practicals recorded in 40% less time; a charging trolley is needed",
}


def _evaluating(rt, school) -> str:  # type: ignore[no-untyped-def]
    ref = changes_service.raise_change(
        rt, actor_id=school.requester, title="Tablets in Year 8 science", category="pilot"
    ).ref
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_pilot")
    said = str(refused.value)
    for missing in (
        "no needs analysis",
        "no hypothesis (what the pilot tests)",
        "no trial group (who tries it)",
        "no duration (how many weeks)",
    ):
        assert missing in said
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=f.NEEDS)
    stages.record_pilot(rt, actor_id=school.requester, ref=ref, data=f.PILOT)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_pilot")
    assert gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve").outcome == gates.PASSED
    assert f.snapshot(rt, ref)[0] == "trial"
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="evaluate")
    assert f.snapshot(rt, ref)[0] == "evaluation"
    return ref


def test_a_pilot_adopted_raises_the_full_change_linked_both_ways_carrying_what_was_learnt(rt):
    school = f.School(rt)
    ref = _evaluating(rt, school)
    with pytest.raises(GateNotSatisfied) as refused:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert "no pilot outcome (adopt, adapt or drop)" in str(refused.value)
    assert "360° feedback" in str(refused.value)  # the evaluation hears feedback like any review
    stages.record_review(rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref))
    stages.record_pilot_outcome(rt, actor_id=school.requester, ref=ref, data=ADOPT)
    f.give_feedback(rt, ref)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    pilot = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    assert pilot.change.state == "closed" and len(pilot.follow_ups) == 1
    child_ref = pilot.follow_ups[0]
    child = changes_service.get_change(rt, actor_id=school.requester, ref=child_ref)
    assert (child.change.category, child.change.state) == ("significant", "needs_analysis")
    assert child.change.title == "Adopt: Tablets in Year 8 science"
    assert ref in child.change.description and "charging trolley" in child.change.description
    assert child.needs is not None
    assert f.PILOT["hypothesis"] in child.needs.need and "charging trolley" in child.needs.need
    assert [m.statement for m in child.needs.measures] == [f.NEEDS["success_measures"][0]["statement"]]
    assert all(m.result == "" for m in child.needs.measures)  # to be assessed afresh
    assert f"Piloted for 6 weeks with {f.PILOT['trial_group']} ({ref})" in child.needs.options_considered
    with rt.db.read() as session:
        adopted = (
            session.execute(
                select(AuditEvent.payload).where(
                    AuditEvent.change_ref == ref, AuditEvent.event_type == "pilot.adopted"
                )
            )
            .scalars()
            .all()
        )
    assert [json.loads(p) for p in adopted] == [{"change": child_ref, "category": "significant"}]


@pytest.mark.parametrize("outcome", ["adapt", "drop"])
def test_a_pilot_adapted_or_dropped_raises_nothing(rt, outcome):
    school = f.School(rt)
    ref = _evaluating(rt, school)
    stages.record_review(rt, actor_id=school.requester, ref=ref, data=f.review_of(rt, school.requester, ref))
    stages.record_pilot_outcome(
        rt, actor_id=school.requester, ref=ref, data={"outcome": outcome, "learnt": "Not worth it yet"}
    )
    f.give_feedback(rt, ref)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="close")
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).follow_ups == ()


def test_a_bad_design_or_outcome_is_named_and_nothing_is_saved(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="Pilot", category="pilot").ref
    with pytest.raises(InvalidInput) as bad:
        stages.record_pilot(rt, actor_id=school.requester, ref=ref, data={**f.PILOT, "weeks": "sixty"})
    assert bad.value.problems == {"weeks": "must be a whole number of weeks from 1 to 52"}
    evaluating = _evaluating(rt, school)
    for data, key in (
        ({**ADOPT, "adopt_category": "emergency"}, "adopt_category"),
        ({**ADOPT, "adopt_category": ""}, "adopt_category"),
        ({**ADOPT, "learnt": ""}, "learnt"),
        ({**ADOPT, "outcome": "shelve"}, "outcome"),
    ):
        with pytest.raises(InvalidInput) as bad:
            stages.record_pilot_outcome(rt, actor_id=school.requester, ref=evaluating, data=data)
        assert key in bad.value.problems
    assert changes_service.get_change(rt, actor_id=school.requester, ref=evaluating).pilot.outcome == ""  # type: ignore[union-attr]


def test_the_pages_and_the_api_take_the_design_and_the_outcome(rt, tmp_path):
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    me = app.test_client()
    assert login(me, school.emails[school.requester]).status_code == 302
    r = post(me, "/changes/new", {"title": "Visualisers in maths", "category": "pilot"})
    assert r.status_code == 302
    ref = r.headers["Location"].rsplit("/", 1)[1]
    form = me.get(f"/changes/{ref}/stage/pilot").get_data(as_text=True)
    assert 'id="hypothesis"' in form
    version = re.search(r'name="version" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
    r = post(
        me,
        f"/changes/{ref}/stage/pilot",
        {
            "version": version,
            "hypothesis": "Visualisers help",
            "trial_group": "Maths department",
            "weeks": "0",
        },
    )
    assert r.status_code == 400 and 'id="weeks-error"' in r.get_data(as_text=True)
    r = post(
        me,
        f"/changes/{ref}/stage/pilot",
        {
            "version": version,
            "hypothesis": "Visualisers help",
            "trial_group": "Maths department",
            "weeks": "4",
        },
    )
    assert r.status_code == 302
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Visualisers help" in page and "4 weeks" in page
    token = auth.create_token(rt, user_id=school.requester, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    r = me.put(
        f"/api/v1/changes/{ref}/stages/pilot",
        json={"hypothesis": "H", "trial_group": "G", "weeks": 60},
        headers=headers,
    )
    assert r.status_code == 400
    assert (
        me.put(
            f"/api/v1/changes/{ref}/stages/pilot",
            json={"hypothesis": "H", "trial_group": "G", "weeks": 3},
            headers=headers,
        ).status_code
        == 200
    )
    detail = me.get(f"/api/v1/changes/{ref}", headers=headers).get_json()
    assert detail["stages"]["pilot"] == {
        "hypothesis": "H",
        "trial_group": "G",
        "weeks": 3,
        "outcome": "",
        "learnt": "",
        "adopt_category": "",
    }
    r = me.put(f"/api/v1/changes/{ref}/stages/pilot_outcome", json=ADOPT, headers=headers)
    assert r.status_code == 409  # only at the evaluation
    evaluating = _evaluating(rt, school)
    outcome = me.get(f"/changes/{evaluating}/stage/pilot-outcome").get_data(as_text=True)
    assert "Adopt: raise the full change" in outcome
    assert (
        me.put(f"/api/v1/changes/{evaluating}/stages/pilot_outcome", json=ADOPT, headers=headers).status_code
        == 200
    )
