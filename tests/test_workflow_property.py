"""Stateful property test: random triggers, stage edits and decisions by random users,
checked against the plain transition table of each shipped workflow."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotAllowed, NotFound, NotPermitted
from fitsflow.domain.permissions import may_fire
from fitsflow.domain.vocabulary import UNDOING_KINDS
from fitsflow.services import audit as audit_service
from fitsflow.services import changes, stages
from fitsflow.services import gates as gates_service

from . import factories as f
from .conftest import TEST_NOW, sqlite_runtime

PEOPLE = ("requester", "other_requester", "cab0", "cab1", "slt", "finance", "head", "auditor",
          "admin", "staff")
ROLES = {"requester": {"requester"}, "other_requester": {"requester"}, "cab0": {"cab"},
         "cab1": {"cab"}, "slt": {"slt"}, "finance": {"finance"}, "head": {"head"},
         "auditor": {"auditor"}, "admin": {"admin"}, "staff": set()}
# Weighted so that runs get deep into each workflow as well as trying the wrong people.
MOSTLY_REQUESTER = ("requester",) * len(PEOPLE) + PEOPLE
STAGE_DATA = {
    "needs": [f.NEEDS, {"need": "Something", "stakeholders": [], "options_considered": ""}],
    "finance": [f.five_year_lines(), f.five_year_lines(years=2)],
    "release_plan": [f.release_plan_from(TEST_NOW + timedelta(days=10)),
                     {**f.release_plan_from(TEST_NOW + timedelta(days=10)), "backout_plan": ""}],
    "review": [f.REVIEW, None],
}


def machine_for(category: str) -> type[RuleBasedStateMachine]:
    class WorkflowMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.rt = sqlite_runtime()
            school = f.School(self.rt)
            self.ids = {"requester": school.requester, "other_requester": school.other_requester,
                        "cab0": school.cab[0], "cab1": school.cab[1], "slt": school.slt,
                        "finance": school.finance, "head": school.head, "auditor": school.auditor,
                        "admin": school.admin, "staff": school.staff}
            self.definition = self.rt.workflows.for_category(category).definition
            self.ref = f.change_in(self.rt, school, category, self.definition.initial, title="P")
            self.table = self.definition.table()
            self.state = self.definition.initial
            self.decided: set[str] = set()

        def teardown(self) -> None:
            self.rt.db.dispose()

        def stored(self) -> tuple[str, int]:
            state, _, _ = f.snapshot(self.rt, self.ref)
            return state, f.counts(self.rt)[0]

        def unchanged(self, before: tuple[str, int]) -> None:
            assert self.stored() == before

        @rule(data=st.data(), who=st.sampled_from(MOSTLY_REQUESTER))
        def fire(self, data: st.DataObject, who: str) -> None:
            here = [t.trigger for t in self.definition.transitions_from(self.state)
                    if t.trigger != "withdraw"]
            anything = [*self.definition.triggers(), "bogus"]
            trigger = data.draw(st.sampled_from(here * 4 + anything) if here else st.sampled_from(anything))
            self._fire(trigger, who)

        def _fire(self, trigger: str, who: str) -> None:
            before = self.stored()
            spec = self.definition.transition(trigger, self.state)
            # Undoing the work (withdraw, back out) needs a reason: the rule is tested on its own.
            undoing = spec is not None and self.definition.kind_of(spec.dest) in UNDOING_KINDS
            try:
                changes.fire(self.rt, actor_id=self.ids[who], ref=self.ref, trigger=trigger,
                              reason="Property test: undone" if undoing else "")
            except NotFound:
                assert who == "staff"
                self.unchanged(before)
                return
            except NotAllowed:
                assert spec is None or trigger in self.definition.gate_triggers()
                self.unchanged(before)
                return
            except NotPermitted:
                assert spec is not None
                assert not may_fire(ROLES[who], spec.roles, is_requester=who == "requester")
                self.unchanged(before)
                return
            except GateNotSatisfied as err:
                assert spec is not None and spec.guards and err.missing
                self.unchanged(before)
                return
            assert who != "staff" and spec is not None and trigger not in self.definition.gate_triggers()
            assert may_fire(ROLES[who], spec.roles, is_requester=who == "requester")
            new_state, audit = self.stored()
            assert new_state == self.table[(self.state, trigger)]
            assert audit > before[1]
            self.state = new_state
            if self.definition.gate_at(new_state):
                self.decided = set()

        @rule(data=st.data(), good=st.sampled_from([True, True, True, False]),
              who=st.sampled_from(MOSTLY_REQUESTER))
        def edit(self, data: st.DataObject, good: bool, who: str) -> None:
            here = list(self.definition.states[self.state].edits)
            stage = data.draw(st.sampled_from(here * 4 + list(STAGE_DATA)))
            self._edit(stage, good, who)

        def _edit(self, stage: str, good: bool, who: str) -> None:
            payload = STAGE_DATA[stage][0 if good else 1]
            before = self.stored()
            call = {"needs": lambda: stages.record_needs(self.rt, actor_id=self.ids[who], ref=self.ref,
                                                           data=payload),
                    "finance": lambda: stages.record_financial_plan(self.rt, actor_id=self.ids[who],
                                                                      ref=self.ref, lines=payload),
                    "release_plan": lambda: stages.record_release_plan(
                        self.rt, actor_id=self.ids[who], ref=self.ref, data=payload),
                    "review": lambda: stages.record_review(self.rt, actor_id=self.ids[who],
                                                             ref=self.ref, data=payload or {}),
                    }[stage]
            try:
                call()
            except (NotFound, NotPermitted):
                assert who != "requester"
                self.unchanged(before)
                return
            except NotAllowed:
                assert stage not in self.definition.states[self.state].edits
                self.unchanged(before)
                return
            except InvalidInput:
                assert payload is None
                self.unchanged(before)
                return
            assert who == "requester" and stage in self.definition.states[self.state].edits
            state, audit = self.stored()
            if state != self.state:
                # An edit of what a passed gate approved reopens that gate in a new round.
                gate = next(g for g in self.definition.gates.values() if g.state == state)
                assert stage in self.rt.settings.policy.approves.get(gate.name, ())
                assert audit == before[1] + 2  # the edit, and the reopening
                self.state = state
                self.decided = set()
            else:  # the edit (and a request to acknowledge a small window move)
                assert audit in (before[1] + 1, before[1] + 2)

        @precondition(lambda self: self.definition.gate_at(self.state) is not None)
        @rule(who=st.sampled_from(PEOPLE), approve=st.sampled_from([True, True, True, False]))
        def decide(self, who: str, approve: bool) -> None:
            self._decide(who, approve)

        @rule()
        def advance(self) -> None:
            """One step along the happy path, so runs reach every state (still checked)."""
            gate = self.definition.gate_at(self.state)
            if gate is not None:
                for role in gate.requirements(category):
                    for who in PEOPLE:
                        if role in ROLES[who] and who not in self.decided:
                            self._decide(who, True)
                            return
                return
            for stage in self.definition.states[self.state].edits:
                self._edit(stage, True, "requester")
            onward = [t.trigger for t in self.definition.transitions_from(self.state)
                      if t.trigger != "withdraw"]
            if onward:
                self._fire(onward[0], "requester")

        def _decide(self, who: str, approve: bool) -> None:
            gate = self.definition.gate_at(self.state)
            assert gate is not None
            before = self.stored()
            try:
                result = gates_service.decide(self.rt, actor_id=self.ids[who], ref=self.ref,
                                         decision="approve" if approve else "reject",
                                         comment="" if approve else "Not yet")
            except NotFound:
                assert who == "staff"
                self.unchanged(before)
                return
            except NotPermitted:
                requirements = gate.requirements(category)
                assert (who == "requester" or not ROLES[who] & set(requirements) or who in self.decided)
                self.unchanged(before)
                return
            assert who != "requester" and ROLES[who] & set(gate.requirements(category))
            assert who not in self.decided
            self.decided.add(who)
            new_state, _ = self.stored()
            expected = {"pending": self.state, "passed": self.table[(self.state, gate.approve)],
                        "rejected": self.table[(self.state, gate.reject)]}[result.outcome]
            assert new_state == expected == result.change.state
            if result.outcome == "rejected":
                assert not approve
            self.state = new_state

        @invariant()
        def state_is_known_and_chain_holds(self) -> None:
            assert self.state in self.definition.states
            event(f"reached {self.state}")
            assert audit_service.verify(self.rt).ok

    WorkflowMachine.__name__ = f"WorkflowMachine_{category}"
    return WorkflowMachine


@pytest.mark.parametrize("category", ["significant", "standard", "emergency", "major"])
def test_workflow_follows_its_transition_table(category):
    machine = machine_for(category)
    machine.TestCase.settings = settings(max_examples=20, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    machine.TestCase().runTest()
