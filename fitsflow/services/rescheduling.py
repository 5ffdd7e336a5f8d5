"""Moving a scheduled release: a new window (through what-was-approved's rules: within
tolerance it stays scheduled once the CAB acknowledges, beyond it approval to implement is
reopened) or back to approved. Drafts not yet published are re-timed or cancelled;
everyone who already received a notice gets one correction; the CAB is told."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlmodel import Session

from ..domain import limits, stages
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.guards import GUARDS
from ..domain.text import one_line_problem
from ..domain.vocabulary import SCHEDULED
from ..persistence import audit_store, notice_store, stage_store
from ..persistence.change_store import ChangeRecord
from ..persistence.db_hooks import clock_now
from ..workflow.definition import WorkflowDefinition
from . import approved, common, notifications, policies
from .common import unit_of_work
from .notices import draft
from .ownership import owns
from .runtime import Runtime
from .subject import ChangeSubject
from .views import ChangeView

# What a person calls the two moves (the change page's buttons say the same).
_TITLES = {"reschedule": "Move the release", "unschedule": "Unschedule the release"}


def _when(rt: Runtime, moment: datetime | None) -> str:
    return moment.astimezone(rt.timezone).strftime("%a %d %b %Y %H:%M") if moment else "no date"


def _scheduled(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord, action: str,
               reason: str) -> WorkflowDefinition:
    if not reason.strip() or len(reason) > limits.REASON:
        raise InvalidInput({"reason": f"say why (up to {limits.REASON} characters): it goes to the CAB"})
    if problem := one_line_problem(reason.strip(), limits.REASON):
        raise InvalidInput({"reason": problem})
    if not owns(session, change, actor.id):
        raise NotPermitted(f"only the change's requester or a co-owner may {action} it")
    definition = common.workflow_of(rt, change).definition
    if definition.kind_of(change.state) != SCHEDULED:
        raise definition.not_allowed(action, change.state, action=_TITLES[action])
    return definition


def _withdraw_drafts(session: Session, change: ChangeRecord) -> None:
    now = clock_now(session)
    for row in notice_store.of_change(session, change.id):
        if row.status == notice_store.DRAFT:
            notice_store.cancel(session, row.id, now=now)


def _tell(rt: Runtime, session: Session, change: ChangeRecord, definition: WorkflowDefinition, actor: Actor,
          what: str, reason: str) -> int:
    """The CAB (notify.rescheduled) and, once, everyone who already received a notice."""
    notifications.queue("rescheduled", change, runtime=rt, session=session, actor=actor, workflow=definition,
                        reason=f"{what}. {reason}")
    return notice_store.correct(session, change_id=change.id, ref=change.ref,
                                subject=f"[{change.ref}] Correction: {change.title}"[:300],
                                body=f"A correction to the release notice you received for {change.ref} "
                                     f"({change.title}): {what}.\nReason: {reason}",
                                correction=f"{what[:1].upper()}{what[1:]}. Reason: {reason}", now=rt.now())


def reschedule(rt: Runtime, *, actor_id: int, ref: str, window_start: str, window_end: str, reason: str,
               expected_version: int | None = None) -> ChangeView:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        definition = _scheduled(rt, session, actor, change, "reschedule", reason)
        common.check_version(change, expected_version)
        old = stage_store.release_plan(session, change.id)
        assert old is not None
        data = {**asdict(old), "window_start": window_start, "window_end": window_end,
                "risk_answers": dict(old.risk_answers)}
        data.pop("risk")
        plan = stages.parse_release_plan(data, rt.timezone, policies.of_school(rt, session, change.school_id))
        if plan.window_start is None or plan.window_end is None:
            raise InvalidInput({"window_start": "a new window needs a start and an end"})
        if (plan.window_start, plan.window_end) == (old.window_start, old.window_end):
            raise InvalidInput({"window_start": "this is the window already scheduled"})
        stage_store.save_release_plan(session, change.id, plan, rt.now())
        subject = ChangeSubject(rt, session, change, definition)
        problems = [m for name in ("window_timely", "window_clear_of_freezes") for m in GUARDS[name](subject)]
        if problems:
            raise InvalidInput({"window_start": "; ".join(problems)})
        moved = f"moved from {_when(rt, old.window_start)} to {_when(rt, plan.window_start)}"
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="release.rescheduled",
                           payload={"from": [_iso(old.window_start), _iso(old.window_end)],
                                    "to": [_iso(plan.window_start), _iso(plan.window_end)],
                                    "reason": reason.strip()})
        reopened = approved.after_edit(rt, session, change, definition, actor, "release_plan")
        if reopened:  # beyond tolerance: not scheduled until approved again
            _withdraw_drafts(session, change)
            what = f"postponed: {moved} is waiting for {reopened.lower()} again"
        else:
            draft(rt, session, change, definition)  # unpublished drafts re-timed
            what = moved
        _tell(rt, session, change, definition, actor, what, reason.strip())
        return common.view_of(session, rt, change)


def unschedule(rt: Runtime, *, actor_id: int, ref: str, reason: str,
               expected_version: int | None = None) -> ChangeView:
    """Back to the state it was scheduled from (approved): no date for now."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        definition = _scheduled(rt, session, actor, change, "unschedule", reason)
        common.check_version(change, expected_version)
        back = next(s for t in definition.transitions if t.dest == change.state
                    for s in t.sources if s != change.state)
        before = change.state
        change.state = back
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="release.unscheduled",
                           payload={"from": before, "to": back, "reason": reason.strip()})
        _withdraw_drafts(session, change)
        _tell(rt, session, change, definition, actor, "postponed: no new date yet", reason.strip())
        return common.view_of(session, rt, change)


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""
