"""Recording stage data: needs analysis, financial plan, release plan, review.

Each edit is allowed only in the states whose workflow entry lists the stage, only
by the change's requester, and is audited with what it was before and after."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlmodel import Session

from ..domain import stages
from ..domain.actor import Actor
from ..domain.errors import NotPermitted
from ..domain.vocabulary import FOLLOW_UP_CATEGORIES, STAGE_TITLES
from ..persistence import audit_store, stage_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import approved, common, peer_review, policies
from .common import unit_of_work
from .ownership import owns
from .runtime import Runtime
from .views import ChangeView

Apply = Callable[[Session, ChangeRecord], tuple[Any, Any]]
# Run in the edit's transaction when it changed something (a plan saved asks for its review).
After = Callable[[Session, ChangeRecord, WorkflowDefinition, Actor], None]


def _edit(rt: Runtime, *, actor_id: int, ref: str, stage: str, expected_version: int | None,
          apply: Apply, then: After | None = None) -> ChangeView:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        if "requester" not in actor.roles or not owns(session, change, actor.id):
            raise NotPermitted("only the change's requester or a co-owner may edit its stages")
        definition = common.workflow_of(rt, change).definition
        editable = definition.states[change.state].edits
        if stage not in editable:
            raise definition.not_allowed(f"edit {stage}", change.state, [f"edit {s}" for s in editable],
                                         action=f"Edit the {STAGE_TITLES.get(stage, stage).lower()}",
                                         possible=[f"edit the {STAGE_TITLES[s].lower()}" for s in editable])
        common.check_version(change, expected_version)
        before, after = apply(session, change)
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type=f"stage.{stage}", payload={"before": before, "after": after})
        approved.after_edit(rt, session, change, definition, actor, stage)
        if then is not None and before != after:
            then(session, change, definition, actor)
        return common.view_of(session, rt, change)


def _plain(value: Any) -> Any:
    return asdict(value) if value is not None else None


def _lines(lines: tuple[stages.CostLine, ...]) -> list[dict[str, Any]]:
    return [asdict(line) for line in lines]


def record_needs(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                 expected_version: int | None = None) -> ChangeView:
    """Save the needs analysis: the need, stakeholders consulted, SDP priority, options, the
    screening answers and what success looks like (``success_measures``: statement, method,
    check_by)."""
    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        # The screening questions of the change's school's policy.
        policy = policies.of_school(rt, session, change.school_id)
        needs = stages.parse_needs(data, policy.screening_questions)
        before = _plain(stage_store.needs(session, change.id))
        stage_store.save_needs(session, change.id, needs, rt.now())
        return before, _plain(needs)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="needs", expected_version=expected_version,
                 apply=apply)


def record_financial_plan(rt: Runtime, *, actor_id: int, ref: str,
                          lines: Sequence[Mapping[str, Any]],
                          expected_version: int | None = None) -> ChangeView:
    """Replace the planned cost lines (year 1 … horizon, kind, amount, funding source)."""

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        parsed = stages.parse_cost_lines(lines, change.horizon_years)
        before = _lines(stage_store.cost_lines(session, change.id, actual=False))
        # The total is kept on the change, indexed, for the cost filters and sorting at scale.
        change.planned_cost = stage_store.replace_cost_lines(session, change.id, parsed, actual=False)
        return before, _lines(parsed)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="finance", expected_version=expected_version,
                 apply=apply)


def record_release_plan(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                        expected_version: int | None = None) -> ChangeView:
    """Save the release plan: window, risk, impact, back-out plan and test plan."""
    digests: list[str] = []

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        # Its risk is scored by the change's school's policy.
        plan = stages.parse_release_plan(data, rt.timezone, policies.of_school(rt, session, change.school_id))
        before = _plain(stage_store.release_plan(session, change.id))
        digests.append(peer_review.plan_digest(rt, session, change))
        stage_store.save_release_plan(session, change.id, plan, rt.now())
        return before, _plain(plan)

    def ask(session: Session, change: ChangeRecord, definition: WorkflowDefinition, actor: Actor) -> None:
        if peer_review.plan_digest(rt, session, change) != digests[0]:  # the plan a reviewer reads changed
            peer_review.ask_for_review(rt, session, change, definition, actor)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="release_plan",
                 expected_version=expected_version, apply=apply, then=ask)


def record_review(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                  expected_version: int | None = None) -> ChangeView:
    """Save the post-implementation review: outcome, notes, actual costs and the word on
    each success measure (``measures``: result and evidence, in the needs analysis's order)."""

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        review = stages.parse_review(data, change.horizon_years, stage_store.measures(session, change.id))
        before = _plain(stage_store.review(session, change.id))
        stage_store.save_review(session, change.id, review, rt.now())
        return before, _plain(review)

    return _edit(rt, actor_id=actor_id, ref=ref, stage="review", expected_version=expected_version,
                 apply=apply)


def record_pilot(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                 expected_version: int | None = None) -> ChangeView:
    """Save an innovation study's design: the hypothesis, the trial group and how many weeks."""
    hypothesis, group, weeks = stages.parse_pilot(data)

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        before = _plain(stage_store.pilot(session, change.id))
        stage_store.save_pilot(session, change.id, rt.now(), hypothesis=hypothesis, trial_group=group,
                               weeks=weeks)
        return before, _plain(stage_store.pilot(session, change.id))

    return _edit(rt, actor_id=actor_id, ref=ref, stage="pilot", expected_version=expected_version,
                 apply=apply)


def record_pilot_outcome(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any],
                         expected_version: int | None = None) -> ChangeView:
    """Save the evaluation's outcome: adopt (as a change of a category that starts with a needs
    analysis), adapt or drop, and what was learnt. Adopting raises the full change when the
    pilot closes (services.pilots)."""
    outcome, learnt, category = stages.parse_pilot_outcome(data, FOLLOW_UP_CATEGORIES)

    def apply(session: Session, change: ChangeRecord) -> tuple[Any, Any]:
        before = _plain(stage_store.pilot(session, change.id))
        stage_store.save_pilot(session, change.id, rt.now(), outcome=outcome, learnt=learnt,
                               adopt_category=category)
        return before, _plain(stage_store.pilot(session, change.id))

    return _edit(rt, actor_id=actor_id, ref=ref, stage="pilot_outcome", expected_version=expected_version,
                 apply=apply)


def start_needs(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord,
                needs: stages.Needs) -> None:
    """A new change's needs analysis, written for it in the caller's transaction (a pilot
    adopted, a proposal raised) and audited as the requester's own first save would be."""
    stage_store.save_needs(session, change.id, needs, rt.now())
    audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="stage.needs",
                       payload={"before": None, "after": _plain(needs)})
