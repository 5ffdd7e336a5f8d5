"""Sustainability after the review: months after a release, is what was bought being used as
intended? (issue 23.3). A check is planned when a change is released
(``review.usage_check_months`` later), the requester is reminded on the day, records the
answer with evidence (changeable), and a check not recorded by its date is listed as overdue."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain.actor import Actor
from ..domain.calendar import add_months
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import may_view_changes
from ..domain.text import text_field
from ..domain.vocabulary import USAGE_RESULTS
from ..persistence import audit_store, change_store, outbox_store, usage_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import common
from .common import unit_of_work
from .ownership import owns
from .queues import Page
from .runtime import Runtime

STATUS_TITLES = usage_store.STATUSES


def on_released(change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
                workflow: WorkflowDefinition, **extra: Any) -> None:
    """Plan the change's usage check, the configured months after the day it was released."""
    months = runtime.settings.review.usage_check_months
    if months:
        usage_store.plan(session, change.id, add_months(runtime.today(), months))


def connect() -> None:
    """Connect the receiver (a module-level function: blinker holds it weakly)."""
    signals.released.connect(on_released)


@dataclass(frozen=True)
class UsageCheck:
    ref: str
    title: str
    requester_name: str
    due_on: date
    overdue: bool
    result: str
    evidence: str
    checked_at: datetime | None

    @property
    def result_title(self) -> str:
        return USAGE_RESULTS.get(self.result, "")


def _view(rt: Runtime, row: Any, ref: str, title: str, requester_name: str) -> UsageCheck:
    overdue = row.checked_at is None and row.due_on < rt.today()
    return UsageCheck(ref, title, requester_name, row.due_on, overdue, row.result, row.evidence,
                      row.checked_at)


def of_change(rt: Runtime, *, actor_id: int, ref: str) -> UsageCheck | None:
    """The change's usage check, if one is planned."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        row = usage_store.one(session, change.id)
        return _view(rt, row, change.ref, change.title, change.requester_name) if row is not None else None


def record(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any]) -> UsageCheck:
    """Record (or correct) the answer: used as intended, partly, or not, with the evidence.
    The change's requester or a co-owner only, once a check is planned."""
    problems: dict[str, str] = {}
    result = str(data.get("result") or "")
    if result not in USAGE_RESULTS:
        problems["result"] = f"must be one of: {', '.join(USAGE_RESULTS)}"
    evidence = text_field(data, "evidence", problems, required=True, maximum=20_000, lines=True)
    if problems:
        raise InvalidInput(problems)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        if not owns(session, change, actor.id):
            raise NotPermitted(f"only the requester or a co-owner of {change.ref} records its usage check")
        row = usage_store.one(session, change.id)
        if row is None:
            raise NotFound(f"{change.ref} has no usage check: it is planned when the change is released")
        now = rt.now()
        usage_store.record(session, change.id, result=result, evidence=evidence, by=actor.id, now=now)
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="usage.checked",
                           payload={"result": result, "due_on": row.due_on.isoformat(),
                                    "again": row.checked_at is not None})
        return UsageCheck(change.ref, change.title, change.requester_name, row.due_on, False, result,
                          evidence, now)


def listing(rt: Runtime, *, actor_id: int, status: str = usage_store.DUE, mine: bool = False,
            limit: int = 25, offset: int = 0) -> Page:
    """Usage checks for people who work on changes: due by today and not recorded (overdue
    ones first), every one not recorded, or those recorded; ``mine``: the actor's changes."""
    if status not in usage_store.STATUSES:
        raise InvalidInput({"status": f"must be one of: {', '.join(usage_store.STATUSES)}"})
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            raise NotPermitted("usage checks are for people who work on changes")
        rows, total = usage_store.page(session, status=status, today=rt.today(),
                                       requester_id=actor.id if mine else None, limit=limit, offset=offset)
        return Page([_view(rt, r, r.ref, r.title, r.requester_name) for r in rows], total, limit, offset)


def remind_due(rt: Runtime, *, now: datetime) -> int:
    """Tell each check's requester on the day it falls due (once; not once recorded); the
    worker runs this with the other reminders. Return how many were told."""
    today = now.astimezone(rt.timezone).date()
    with rt.db.read() as session:
        due = usage_store.unreminded_due(session, today)
    sent = 0
    for change_id, ref in due:
        with rt.db.transaction() as session:
            change = change_store.load(session, ref)
            if change is None or not usage_store.mark_reminded(session, change_id, now):
                continue  # recorded, or told by another worker, since it was read
            outbox_store.add(session, [{
                "created_at": now, "event": "usage_check_due", "change_ref": change.ref,
                "recipient_id": change.requester_id, "channel": "person",
                "subject": f"[{change.ref}] Is it being used as intended?: {change.title}"[:300],
                "body": f"{change.ref}: {change.title} was released some months ago. Is it being used as "
                        "intended? Record what you find, with the evidence (usage figures, a survey, what "
                        "staff say).",
                "payload": json.dumps({"link": f"/changes/{change.ref}/usage"}), "available_at": now}])
            sent += 1
    return sent
