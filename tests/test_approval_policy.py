"""Issue: the requester's choice of category decided who approved (a £29,100 change stayed
"minor" with one finance approval). Now each gate's approvers are computed from the
change's facts — five-year cost, assessed risk, screening answers, category — by a policy
that is data; a category lighter than the facts is refused, saying what it must be."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fitsflow.config import load_settings
from fitsflow.domain.errors import ConfigError, GateNotSatisfied, InvalidInput, NotAllowed, NotPermitted
from fitsflow.domain.policy import Facts
from fitsflow.services import category as category_service
from fitsflow.services import changes as changes_service
from fitsflow.services import gates, queues, stages

from . import factories as f

POLICY = load_settings(environ={}).policy
BASE = {  # the shipped fits-change workflow's approvers, by gate and category
    ("proceed", "minor"): {"finance": 1}, ("proceed", "significant"): {"finance": 1, "slt": 1},
    ("proceed", "major"): {"finance": 1, "slt": 1, "head": 1},
    ("implement", "minor"): {"cab": 1}, ("implement", "significant"): {"cab": 1, "slt": 1},
    ("implement", "major"): {"cab": 2, "slt": 1, "head": 1},
}


def money(value: Decimal) -> str:
    return f"£{value:,.2f}"


def approvers(gate: str, category: str, cost: str | None, risk: str | None,
              personal: str = "none", safeguarding: str = "no") -> dict[str, int]:
    facts = Facts(category, Decimal(cost) if cost is not None else None, risk,
                  {"personal_data": personal, "safeguarding": safeguarding})
    found = POLICY.requirements(gate, BASE[(gate, category)], facts, money, "the workflow")
    return {role: r.count for role, r in found.items()}


@pytest.mark.parametrize("gate,category,cost,risk,personal,safeguarding,expected", [
    # Cost bands at approval to proceed: £2,000 / £10,000 / £25,000.
    ("proceed", "minor", "1500", None, "none", "no", {"finance": 1}),
    ("proceed", "minor", "2000", None, "none", "no", {"finance": 1}),
    ("proceed", "significant", "2000.01", None, "none", "no", {"finance": 1, "slt": 1}),
    ("proceed", "significant", "10000", None, "none", "no", {"finance": 1, "slt": 1}),
    ("proceed", "significant", "10000.01", None, "none", "no", {"finance": 1, "slt": 1, "head": 1}),
    ("proceed", "major", "25000.01", None, "none", "no", {"finance": 1, "slt": 1, "head": 1, "governors": 1}),
    ("proceed", "major", "29100", "high", "none", "no", {"finance": 1, "slt": 1, "head": 1, "governors": 1}),
    # No financial plan yet: the workflow's approvers only.
    ("proceed", "significant", None, None, "none", "no", {"finance": 1, "slt": 1}),
    # Screening: new processing of personal data brings in the DPO at proceed …
    ("proceed", "minor", "500", None, "new", "no", {"finance": 1, "dpo": 1}),
    ("proceed", "minor", "500", None, "existing", "no", {"finance": 1}),
    ("implement", "minor", "500", "low", "new", "no", {"cab": 1}),
    # … and filtering or safeguarding the DSL at implement.
    ("implement", "minor", "500", "low", "none", "yes", {"cab": 1, "dsl": 1}),
    ("proceed", "minor", "500", None, "none", "yes", {"finance": 1}),
    # Risk at approval to implement: medium + SLT, high + SLT and head; cost does not count there.
    ("implement", "minor", "500", "low", "none", "no", {"cab": 1}),
    ("implement", "significant", "5000", "medium", "none", "no", {"cab": 1, "slt": 1}),
    ("implement", "minor", "500", "medium", "none", "no", {"cab": 1, "slt": 1}),
    ("implement", "major", "90000", "high", "none", "yes", {"cab": 2, "slt": 1, "head": 1, "dsl": 1}),
    ("implement", "significant", "5000", "high", "new", "yes", {"cab": 1, "slt": 1, "head": 1, "dsl": 1}),
])
def test_the_policy_gives_the_exact_set_of_approvers(gate, category, cost, risk, personal, safeguarding,
                                                      expected):
    assert approvers(gate, category, cost, risk, personal, safeguarding) == expected


def test_each_approver_comes_with_the_rules_that_ask_for_it():
    facts = Facts("major", Decimal("29100"), "high", {"personal_data": "new", "safeguarding": "no"})
    found = POLICY.requirements("proceed", BASE[("proceed", "major")], facts, money, "major changes")
    assert found["governors"].why == ("above £25,000.00 over five years",)
    assert found["head"].why == ("major changes", "above £10,000.00 over five years")
    assert found["dpo"].why[0].startswith("Personal data: processed in a new way")


@pytest.mark.parametrize("category,cost,risk,problem", [
    ("minor", "29100", "low", "cannot be minor: it costs £29,100.00 over five years and minor is for up to "
                              "£2,000.00. It must be major"),
    ("significant", "29100", "low", "It must be major"),
    ("minor", "1500", "medium", "its risk is medium and minor is for low risk at most. "
                                "It must be significant"),
    ("significant", "9000", "high", "It must be major"),
    ("minor", "1500", "low", None),
    ("major", "100", "low", None),  # heavier than needed is allowed
    ("minor", None, None, None),  # nothing known yet
])
def test_a_category_lighter_than_the_facts_is_named_with_what_it_must_be(category, cost, risk, problem):
    facts = Facts(category, Decimal(cost) if cost else None, risk, {})
    found = POLICY.category_problem(facts, ("minor", "significant", "major"), money)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_the_demo_s_29100_change_cannot_stay_minor(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    lines = [{"year": 1, "kind": "capital", "amount": "22000", "funding_source": "Devolved capital"}]
    lines += [{"year": y, "kind": "licence", "amount": "1420", "funding_source": "ICT budget"}
              for y in range(1, 6)]
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=lines)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert any("£29,100.00" in m and "must be major" in m for m in err.value.missing)
    with pytest.raises(InvalidInput) as bad:  # not to significant either
        category_service.change_category(rt, actor_id=school.requester, ref=ref, category="significant",
                                         reason="scope")
    assert "must be major" in bad.value.problems["category"]
    category_service.change_category(rt, actor_id=school.requester, ref=ref, category="major",
                                     reason="£29,100")
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    gate = changes_service.get_change(rt, actor_id=school.requester, ref=ref).gate
    assert gate is not None and gate.requirements == {"finance": 1, "slt": 1, "head": 1, "governors": 1}


def test_a_personal_data_change_needs_a_dpia_and_the_dpo(rt):
    school = f.School(rt)
    dpo = f.user(rt, "dpo", "", "DPO")
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data={
        **f.NEEDS, "screening": {"personal_data": "new", "safeguarding": "no"}})
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=f.five_year_lines())
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert any(m.startswith("no DPIA reference") for m in err.value.missing)
    # Financial planning still edits the needs analysis: the reference is added there.
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data={
        **f.NEEDS, "screening": {"personal_data": "new", "safeguarding": "no"}, "dpia_reference": "DPIA-7"})
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    detail = changes_service.get_change(rt, actor_id=school.requester, ref=ref)
    assert detail.gate is not None and detail.gate.requirements == {"finance": 1, "dpo": 1}
    assert [c.ref for c in queues.awaiting_decision(rt, actor_id=dpo).items] == [ref]
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    assert gates.decide(rt, actor_id=dpo, ref=ref, decision="approve").outcome == "passed"


def test_a_filtering_change_needs_the_dsl_at_approval_to_implement(rt):
    school = f.School(rt)
    dsl = f.user(rt, "dsl", "", "DSL")
    ref = f.change_in(rt, school, "minor", "financial_planning", title="Web filter categories")
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data={
        **f.NEEDS, "screening": {"personal_data": "none", "safeguarding": "yes"}})
    planned = next(g for g in changes_service.get_change(rt, actor_id=school.requester, ref=ref).approvers
                   if g.gate == "implement")
    assert not planned.current and {r.role for r in planned.needs} == {"cab", "dsl"}
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=f.five_year_lines())
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data=f.release_plan(rt))
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    assert [c.ref for c in queues.awaiting_decision(rt, actor_id=dsl).items] == [ref]
    assert gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve").outcome == "pending"
    assert gates.decide(rt, actor_id=dsl, ref=ref, decision="approve").outcome == "passed"


def test_the_round_keeps_the_approvers_it_opened_with(rt):
    """Requirements are fixed when a round opens: the queue asks the right people."""
    school = f.School(rt)
    governor = f.user(rt, "governors", "", "Governor")
    ref = f.change_in(rt, school, "major", "financial_planning")
    lines = [{"year": y, "kind": "licence", "amount": "6000", "funding_source": "ICT budget"}
             for y in range(1, 6)]
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=lines)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert [c.ref for c in queues.awaiting_decision(rt, actor_id=governor).items] == [ref]
    small = f.change_in(rt, school, "major", "proceed_approval")
    assert small not in [c.ref for c in queues.awaiting_decision(rt, actor_id=governor).items]
    detail = changes_service.get_change(rt, actor_id=governor, ref=ref)
    assert detail.gate is not None and detail.gate.may_decide
    proceed = next(g for g in detail.approvers if g.gate == "proceed")
    assert proceed.current and any("above £25,000.00" in w for r in proceed.needs for w in r.why)


def test_risk_is_scored_from_the_assessment(rt):
    assert POLICY.score(f.LOW_RISK) == (2, "low")
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "release_planning")
    answers = {**f.LOW_RISK, "people": "school", "tested": "no"}  # 2 - 1 + 3 + 2 = 6
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(rt), "risk_answers": answers})
    plan = changes_service.get_change(rt, actor_id=school.requester, ref=ref).release_plan
    assert plan is not None and (plan.risk, plan.risk_score) == ("medium", 6)
    with pytest.raises(InvalidInput) as err:
        stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data={
            **f.release_plan(rt), "risk_answers": {**f.LOW_RISK, "people": "everyone", "colour": "red"}})
    assert err.value.problems == {"risk_answers.people": "must be one of: few, group, many, school",
                                  "risk_answers.colour": "is not a question of the approval policy"}
    with pytest.raises(InvalidInput, match="risk_answers"):
        stages.record_release_plan(rt, actor_id=school.requester, ref=ref, data={**f.release_plan(rt),
                                                                                 "risk": "low"})
    partial = {k: v for k, v in f.LOW_RISK.items() if k != "data"}
    stages.record_release_plan(rt, actor_id=school.requester, ref=ref,
                                 data={**f.release_plan(rt), "risk_answers": partial})
    with pytest.raises(GateNotSatisfied) as blocked:
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_implement")
    assert "no risk assessment" in blocked.value.missing


@pytest.mark.parametrize("text,message", [
    ("[policy]\ncolour = 1\n", "policy.colour: unknown key"),
    ("[policy]\ncost_bands = [{ above = 'lots', gate = 'proceed', roles = ['head'] }]\n",
     "policy.cost_bands[0].above: must be an amount"),
    ("[policy]\ncost_bands = [{ above = '10', gate = 'proceed', roles = ['bursar'] }]\n",
     "policy.cost_bands[0].roles: unknown role bursar"),
    ("[policy]\nrisk_rules = [{ level = 'extreme', gate = 'implement', roles = ['head'] }]\n",
     "policy.risk_rules[0].level: must be one of low, medium, high"),
    ("[policy]\nhigh_from = 2\n", "policy.high_from: must be above policy.medium_from"),
    ("[policy]\nscreening = [{ question = 'pets', answer = 'yes', gate = 'proceed', roles = ['dpo'] }]\n",
     "policy.screening[0].question: not one of policy.screening_questions"),
])
def test_a_bad_policy_stops_start_up_naming_the_key(tmp_path, text, message):
    path = tmp_path / "fitsflow.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_settings(path, environ={})


def test_a_school_replaces_one_key_of_the_policy(tmp_path):
    path = tmp_path / "fitsflow.toml"
    path.write_text("[policy]\ncost_bands = [{ above = '0', gate = 'proceed', roles = ['finance'] },\n"
                    "  { above = '5000', gate = 'proceed', roles = ['head'] }]\n")
    policy = load_settings(path, environ={}).policy
    assert [b.above for b in policy.cost_bands] == [Decimal("0"), Decimal("5000")]
    assert policy.questions == POLICY.questions  # the rest stays as shipped
    with pytest.raises(ConfigError, match="set in the settings file only"):
        load_settings(environ={"FITSFLOW_POLICY_HIGH_FROM": "9"})


def test_only_the_requester_changes_the_category_and_only_within_the_workflow(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    with pytest.raises(NotPermitted):
        category_service.change_category(rt, actor_id=school.cab[0], ref=ref, category="major",
                                         reason="scope")
    with pytest.raises(InvalidInput, match="category"):
        category_service.change_category(rt, actor_id=school.requester, ref=ref, category="emergency",
                                         reason="scope")
    with pytest.raises(InvalidInput, match="already minor"):
        category_service.change_category(rt, actor_id=school.requester, ref=ref, category="minor",
                                         reason="scope")
    category_service.change_category(rt, actor_id=school.requester, ref=ref, category="significant",
                                     reason="scope")
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).change.category == "significant"
    waiting = f.change_in(rt, school, "minor", "proceed_approval")
    with pytest.raises(NotAllowed, match="“Change the category” is not possible now: the change is at “Aw"):
        category_service.change_category(rt, actor_id=school.requester, ref=waiting, category="major",
                                         reason="scope")
