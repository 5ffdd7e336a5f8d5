"""360-degree feedback on a change's review (issue 23.2).

When a review opens, the people ``review.feedback_from`` names (as notify rules name them)
and a sample of each audience that received a release notice of the change are asked, in
the same transaction as the transition; each is told, and the message opens the form. Each
answers once and may change the answer while the review is open. The requester (and SLT,
the head and auditors) read the answers by group. The review may close once
``review.feedback_quorum_groups`` groups have answered or ``review.feedback_school_days``
school days have passed since it opened (guards.feedback_settled)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain import feedback as domain
from ..domain.actor import Actor
from ..domain.errors import NotAllowed, NotFound
from ..domain.vocabulary import IN_REVIEW
from ..persistence import audit_store, change_store, feedback_store, outbox_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import calendar, common, notifications
from .common import unit_of_work
from .ownership import owns
from .runtime import Runtime

AUDIENCE = notifications.AUDIENCE_PREFIX


def _group(rule: str) -> str:
    """A person's group by the rule that named them: deciders, the requester, an audience
    or a role (slt, head …)."""
    if rule == "deciders":
        return domain.DECIDERS
    if rule == "requester":
        return domain.REQUESTER
    return rule  # a role ("slt") or an audience ("audience:slt"): the two never merge


def _order(rule: str) -> int:
    """Deciders first, then roles, then audiences, the requester last: a person in two is
    counted in the first (a deputy head who decided speaks as a decider)."""
    return 0 if rule == "deciders" else 3 if rule == "requester" else 2 if rule.startswith(AUDIENCE) else 1


def _sample(change_id: int, people: list[int], size: int) -> list[int]:
    """The same few people each time for one change, different ones for the next."""
    return sorted(people, key=lambda uid: hashlib.sha256(f"{change_id}:{uid}".encode()).digest())[:size]


def participants(rt: Runtime, session: Session, change: ChangeRecord, workflow: WorkflowDefinition,
                 ) -> dict[int, str]:
    """Who is asked about this change's review, and their group."""
    rules = workflow.feedback_from or notifications.rule_names(rt.settings.review.feedback_from, rt.roles,
                                                                 "review.feedback_from")
    found: dict[int, str] = {}
    for rule in sorted(rules, key=_order):
        for uid in notifications.rule_members(rule, rt, session, change, workflow, {}):
            found.setdefault(uid, _group(rule))
    size = rt.settings.review.feedback_sample
    if size:
        for audience, people in sorted(feedback_store.notice_receivers(session, change.id).items()):
            for uid in _sample(change.id, [p for p in people if p not in found], size):
                found[uid] = AUDIENCE + audience
    return found


def on_review_opened(change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
                     workflow: WorkflowDefinition, **extra: Any) -> None:
    """Ask the participants and tell everyone the rules name (the participants' message
    opens the form)."""
    people = participants(runtime, session, change, workflow)
    feedback_store.ask(session, change.id, people.items(), runtime.now())
    notifications.queue("review_opened", change, runtime=runtime, session=session, actor=actor,
                        workflow=workflow, also=[uid for uid in people if uid != actor.id],
                        feedback_from=list(people), **extra)


def connect() -> None:
    """Connect the receiver (a module-level function: blinker holds it weakly)."""
    signals.review_opened.connect(on_review_opened)


@dataclass(frozen=True)
class Form:
    """What a participant sees: the change, their group, their answer so far, and whether
    the review is still open to it."""

    ref: str
    title: str
    group: str
    open: bool
    scores: Mapping[str, int]
    worked: str
    improve: str
    answered_at: datetime | None


def _participant(session: Session, rt: Runtime, ref: str, actor_id: int) -> tuple[ChangeRecord, Any, Actor]:
    """The change and the actor's feedback row; NotFound for anyone not asked (students
    and parents asked may answer though they may not read the change)."""
    actor = common.load_actor(rt, session, actor_id)
    change = change_store.load(session, ref)
    row = feedback_store.one(session, change.id, actor.id) if change is not None else None
    if change is None or row is None:
        raise NotFound(f"no feedback of yours is asked for on {ref.strip().upper()[:40]}")
    return change, row, actor


def _open(rt: Runtime, change: ChangeRecord) -> bool:
    return common.workflow_of(rt, change).definition.kind_of(change.state) == IN_REVIEW


def _form(rt: Runtime, change: ChangeRecord, row: Any) -> Form:
    scores = {k: getattr(row, k) for k in domain.QUESTIONS if getattr(row, k) is not None}
    return Form(change.ref, change.title, row.grp, _open(rt, change), scores, row.worked, row.improve,
                row.answered_at)


def form(rt: Runtime, *, actor_id: int, ref: str) -> Form:
    """A participant's form (NotFound for anyone not asked)."""
    with unit_of_work(rt) as session:
        change, row, _actor = _participant(session, rt, ref, actor_id)
        return _form(rt, change, row)


def respond(rt: Runtime, *, actor_id: int, ref: str, data: Mapping[str, Any]) -> Form:
    """Record (or replace) the actor's feedback while the review is open."""
    answer = domain.parse_answer(data)
    with unit_of_work(rt) as session:
        change, row, actor = _participant(session, rt, ref, actor_id)
        if not _open(rt, change):
            raise NotAllowed("give feedback", change.state, [],
                             words=f"The review of {change.ref} has closed: feedback can no longer be given "
                                   "or changed.")
        feedback_store.answer(session, row.id, answer, rt.now())
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="review.feedback",
                           # Who answered, never what: the scores are read by group, by the
                           # summary's readers only (the trail is open to everyone on the change).
                           payload={"group": row.grp, "again": row.answered_at is not None})
        return Form(change.ref, change.title, row.grp, True, dict(answer.scores), answer.worked,
                    answer.improve, rt.now())


@dataclass(frozen=True)
class GroupSummary:
    group: str
    title: str
    asked: int
    answered: int
    averages: Mapping[str, float | None]
    worked: tuple[str, ...]
    improve: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    groups: tuple[GroupSummary, ...]
    quorum: int
    answered_groups: int
    deadline: datetime | None
    settled: bool


def group_title(rt: Runtime, group: str) -> str:
    """A group as people read it: "Deciders at the gates", "Senior leadership (SLT)", "Staff"."""
    if group in domain.GROUP_TITLES:
        return domain.GROUP_TITLES[group]
    if group.startswith(AUDIENCE):
        return rt.roles.audience_label(group[len(AUDIENCE):])
    return rt.roles.label(group)


def _summary(rt: Runtime, session: Session, change: ChangeRecord) -> Summary:
    rows = feedback_store.all_of(session, change.id)
    groups: list[GroupSummary] = []
    for group in dict.fromkeys(r.grp for r in rows):
        mine = [r for r in rows if r.grp == group]
        done = [r for r in mine if r.answered_at is not None]
        averages = {k: (round(mean(getattr(r, k) for r in done), 2) if done else None)
                    for k in domain.QUESTIONS}
        groups.append(GroupSummary(group, group_title(rt, group), len(mine), len(done), averages,
                                   tuple(r.worked for r in done if r.worked),
                                   tuple(r.improve for r in done if r.improve)))
    problems, deadline = settled_problems(rt, session, change)
    return Summary(tuple(groups), rt.settings.review.feedback_quorum_groups,
                   sum(1 for g in groups if g.answered), deadline, not problems)


def _reader(rt: Runtime, session: Session, change: ChangeRecord, actor: Actor) -> bool:
    return owns(session, change, actor.id) or bool(actor.roles & set(rt.settings.review.feedback_readers))


def summary(rt: Runtime, *, actor_id: int, ref: str) -> Summary:
    """The answers by group: for the change's owners and the roles review.feedback_readers
    names."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        if not _reader(rt, session, change, actor):
            raise NotFound(f"no feedback summary of {change.ref} for you")
        return _summary(rt, session, change)


def settled_problems(rt: Runtime, session: Session,
                     change: ChangeRecord) -> tuple[list[str], datetime | None]:
    """What keeps the review from closing for want of feedback (nothing once the quorum of
    groups has answered or the deadline has passed, or when nobody was asked), and the
    deadline."""
    first, groups = feedback_store.state(session, change.id)
    if first is None:
        return [], None
    settings = rt.settings.review
    deadline = calendar.school_calendar(rt, session, change.school_id).school_days_after(
        first, settings.feedback_school_days)
    if len(groups) >= settings.feedback_quorum_groups or rt.now() >= deadline:
        return [], deadline
    return [f"360° feedback: {len(groups)} of the {settings.feedback_quorum_groups} groups needed have "
            f"answered; the review may close once they have, or from "
            f"{deadline.astimezone(rt.timezone):%a %d %b %Y}"], deadline


@dataclass(frozen=True)
class OnPage:
    """What the change page shows of the feedback: the actor's own (when asked) and the
    summary (when they may read it and anyone was asked)."""

    mine: Form | None
    summary: Summary | None


def on_change_page(rt: Runtime, *, actor_id: int, ref: str) -> OnPage:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        row = feedback_store.one(session, change.id, actor.id)
        mine = _form(rt, change, row) if row is not None else None
        summary = _summary(rt, session, change) if _reader(rt, session, change, actor) \
            and feedback_store.state(session, change.id)[0] else None
        return OnPage(mine, summary)


# How far back reminders look: a review's feedback is due within its school days, so a
# request older than this belongs to a review long settled (and the read stays bounded).
REMIND_LOOKBACK = timedelta(days=120)


def remind_due(rt: Runtime, *, now: datetime) -> int:
    """Remind, once, each person asked whose answer has not come ``reminders.after_school_days``
    school days after they were asked, while the review is open (the worker runs this with
    the gate reminders); return how many were reminded. What is due is found in a read; each
    is marked inside the write, so two workers never remind one person twice."""
    days = rt.settings.reminders.after_school_days
    with rt.db.read() as session:
        rows = feedback_store.unreminded(session, now - REMIND_LOOKBACK, now)
        # Each in its change's school's calendar (read once a school).
        due = [r for r in rows if now >= calendar.school_calendar(rt, session, r.school_id)
               .school_days_after(r.asked_at, days)]
    if not due:
        return 0
    by_ref: dict[str, list[Any]] = {}
    for row in due:
        by_ref.setdefault(row.ref, []).append(row)
    sent = 0
    with rt.db.transaction() as session:
        for ref, rows in by_ref.items():
            change = change_store.load(session, ref)
            if change is None or not _open(rt, change):
                feedback_store.mark_reminded(session, [r.id for r in rows], now)  # nothing left to remind of
                continue
            people = [r.user_id for r in rows if feedback_store.mark_reminded(session, [r.id], now)]
            since = min(r.asked_at for r in rows).astimezone(rt.timezone)
            message = {
                "created_at": now, "event": "feedback_reminder", "change_ref": change.ref,
                "channel": "person",
                "subject": f"[{change.ref}] Reminder: your feedback is wanted: {change.title}"[:300],
                "body": f"{change.ref}: {change.title} has been in its review since {since:%a %d %b %Y}, "
                        "and your feedback is still wanted: four questions and two boxes, a minute or two.",
                "payload": json.dumps({"link": f"/changes/{change.ref}/feedback"}), "available_at": now}
            outbox_store.add(session, [{**message, "recipient_id": uid} for uid in people])
            sent += len(people)
    return sent
