"""Changing a change's category while it is planned: to one the same workflow serves, and
never lighter than the approval policy allows for its facts."""

from __future__ import annotations

from dataclasses import replace

from ..domain import limits
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.text import one_line_problem
from ..persistence import audit_store
from . import common
from .common import unit_of_work
from .runtime import Runtime
from .subject import ChangeSubject
from .views import ChangeView


def change_category(rt: Runtime, *, actor_id: int, ref: str, category: str, reason: str = "",
                    expected_version: int | None = None) -> ChangeView:
    """The requester moves their change to another category of its workflow, saying why
    (audited: the category decides who must approve it)."""
    category = (category or "").strip()
    if wrong := one_line_problem(reason.strip(), limits.REASON, required=False):
        raise InvalidInput({"reason": wrong})
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        if actor.id != change.requester_id:
            raise NotPermitted("only the change's requester may change its category")
        definition = common.workflow_of(rt, change).definition
        if not definition.states[change.state].edits:
            raise definition.not_allowed("change category", change.state, action="Change the category")
        if not reason.strip():
            raise InvalidInput({"reason": "say why the category changes (it decides who must approve)"})
        try:
            serving = rt.workflows.for_category(category).name
        except NotFound:
            serving = ""
        if category not in definition.categories or serving != change.workflow:
            raise InvalidInput({"category": f"must be one of: {', '.join(definition.categories)} "
                                            f"(the categories of the {definition.title} workflow)"})
        if category == change.category:
            raise InvalidInput({"category": f"the change is already {category}"})
        subject = ChangeSubject(rt, session, change, definition)
        facts = subject.facts
        problem = subject.policy.category_problem(
            replace(facts, category=category), definition.categories, rt.money)
        if problem:
            raise InvalidInput({"category": problem})
        common.check_version(change, expected_version)
        before = change.category
        change.category = category
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="change.recategorised",
                           payload={"from": before, "to": category, "reason": reason.strip()})
        return common.view_of(session, rt, change)
