"""Release notices tiered by audience: drafted when a release is scheduled, editable
until published, published on each audience's lead time so that every person
receives exactly one notice per release (their most detailed tier), and acknowledged.

Also the scheduling-time checks that notify people: a window that clashes with
another scheduled change (CAB), and the review reminder after a release."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain import cursor, limits
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from ..domain.notices import TIERS, more_detailed_than
from ..domain.stages import FinancialPlan
from ..domain.text import long_text_problem, normalise_newlines, one_line_problem
from ..domain.vocabulary import IN_REVIEW, LIVE_RELEASE_KINDS
from ..persistence import audit_store, inbox_store, notice_store, school_store, stage_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from . import calendar, common, notifications, schools
from .queues import Page
from .runtime import Runtime
from .subject import ChangeSubject


def _context(rt: Runtime, subject: ChangeSubject) -> dict[str, Any]:
    change = subject.change
    plan = FinancialPlan(change.horizon_years, subject.cost_lines)
    release = subject.release_plan

    def local(moment: datetime | None, fmt: str) -> str:
        return moment.astimezone(rt.timezone).strftime(fmt) if moment else "to be confirmed"

    start = release.window_start if release else None
    end = release.window_end if release else None
    return {
        "requester_name": change.requester_name,
        "public_contact": rt.settings.school.public_contact,
        "change": {"ref": change.ref, "title": change.title, "category": change.category,
                   "affected_services": [s for s in change.affected_services.split("\n") if s]},
        "needs": subject.needs,
        "plan": {"totals": plan.total_by_year(), "total": sum(plan.total_by_year(), Decimal(0)),
                 "horizon": change.horizon_years},
        "release": {"window_start": local(start, "%A %d %B %Y, %H:%M"),
                    "window_end": local(end, "%A %d %B %Y, %H:%M"),
                    "window_day": local(start, "%A %d %B"),
                    "risk": release.risk if release else "", "impact": release.impact if release else "",
                    "backout_plan": release.backout_plan if release else "",
                    "test_plan": release.test_plan if release else "",
                    "training": release.training if release else "",
                    "contact": release.contact if release else ""},
    }


def draft(rt: Runtime, session: Session, change: ChangeRecord, workflow: WorkflowDefinition) -> int:
    """Draft (or re-time) one notice per audience — for a trust-wide change, per audience in
    each school it affects, timed by that school's calendar; published drafts are left alone."""
    subject = ChangeSubject(rt, session, change, workflow)
    context = _context(rt, subject)
    release = subject.release_plan
    now = rt.now()
    start = release.window_start if release and release.window_start else now
    existing = {(row.audience, row.school_id): row for row in notice_store.of_change(session, change.id)}
    reach = (change.school_id,) if change.school_id == school_store.FIRST \
        else school_store.reach(session, change.school_id)
    # Each notice names its school (a trust's schools each have theirs; the first, the settings').
    names = schools.named(rt, session) if reach != (school_store.FIRST,) else {}
    # Each school's own templates, when the trust's template folder holds a folder of them.
    slugs = {sid: school_store.slug_of(session, sid) for sid in reach} if rt.templates.template_dir else {}
    hold_days = rt.settings.notices.hold_within_school_days
    # Inside an agreed maintenance window, a standard change gives the window's own notice
    # (the slot itself was announced): never more than each audience's, never held.
    agreed = subject.maintenance_window
    count = 0
    for school_id in reach:
        school = calendar.school_calendar(rt, session, school_id)
        hold_before = (school.school_days_after(now, hold_days) if hold_days and not workflow.emergency
                       else now)
        for audience in rt.roles.audiences.values():
            lead = min(audience.lead_days, agreed.notice_days) if agreed is not None else audience.lead_days
            publish_at = max(school.publish_moment(start, lead), now)
            held = publish_at < hold_before and agreed is None
            old = existing.get((audience.name, school_id))
            if old is not None:
                if old.status == notice_store.DRAFT:
                    notice_store.retime(session, old.id, publish_at=publish_at, now=now)
                elif old.status == notice_store.HELD and agreed is not None:
                    # Moved into a maintenance window: its notice is the window's, not held.
                    notice_store.retime(session, old.id, publish_at=publish_at, now=now,
                                        status=notice_store.DRAFT)
                continue
            named = {"school": names[school_id]} if school_id in names else {}
            title, body = rt.templates.render(audience.tier, {**context, **named},
                                              school_slug=slugs.get(school_id, ""))
            notice_store.add_draft(session, change_id=change.id, audience=audience.name,
                                   tier=audience.tier, subject=title, body=body, publish_at=publish_at,
                                   now=now, school_id=school_id,
                                   status=notice_store.HELD if held else notice_store.DRAFT)
            count += 1
    return count


def on_scheduled(change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
                 workflow: WorkflowDefinition, **extra: Any) -> None:
    """Draft the release notices; tell the CAB when the window clashes with another change
    (each named with its title, window and the services they share)."""
    draft(runtime, session, change, workflow)
    clashes = ChangeSubject(runtime, session, change, workflow).clashes
    if clashes:
        described = [c.describe(runtime.timezone) for c in clashes]
        notifications.queue("window_clash", change, runtime=runtime, session=session, actor=actor,
                            workflow=workflow, reason="the window clashes with " + "; ".join(described))
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="window.clash",
                           payload={"overlaps": [c.ref for c in clashes], "clashes": described})


def on_released(change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
                workflow: WorkflowDefinition, **extra: Any) -> None:
    """Remind the requester to open the review if it is not open by then."""
    if workflow.state_of_kind(IN_REVIEW) is None:
        return
    due = calendar.school_calendar(runtime, session, change.school_id).school_days_after(
        runtime.now(), runtime.settings.notices.review_due_days)
    notifications.queue("review_due", change, runtime=runtime, session=session, actor=actor,
                        workflow=workflow, available_at=due, include_actor=True)


def on_ended(change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
             workflow: WorkflowDefinition, **extra: Any) -> None:
    """Backed out or withdrawn: notices not yet published (drafts, held ones) never go."""
    now = runtime.now()
    for row in notice_store.of_change(session, change.id):
        if row.status in (notice_store.DRAFT, notice_store.HELD):
            notice_store.cancel(session, row.id, now=now)
            audit_store.append(session, actor=actor.label, change_ref=change.ref,
                               event_type="notice.cancelled",
                               payload={"audience": row.audience, "state": change.state,
                                        **({"school": school_store.slug_of(session, row.school_id)}
                                           if row.school_id != change.school_id else {})})


def connect() -> None:
    """Connect the release-notice receivers (called when the runtime is built)."""
    signals.scheduled.connect(on_scheduled)
    signals.released.connect(on_released)
    signals.backed_out.connect(on_ended)
    signals.withdrawn.connect(on_ended)


@dataclass(frozen=True)
class NoticeView:
    id: int
    audience: str
    tier: str
    subject: str
    body: str
    status: str
    publish_at: datetime
    published_at: datetime | None
    recipients: int
    acknowledged_count: int = 0
    waiting_count: int = 0
    # Whether this person may see who (students and parents among them): acknowledgements().
    names_visible: bool = False
    note: str = ""  # why it is not relevant to its audience
    school: str = ""  # whose people it goes to: named for a trust-wide change's notices


def may_see_names(rt: Runtime, actor: Actor, change: ChangeRecord) -> bool:
    """Who acknowledged is for the requester and the roles in notices.acknowledgement_viewers."""
    return actor.id == change.requester_id or bool(actor.roles & rt.settings.notices.viewer_roles)


def notices_for(rt: Runtime, *, actor_id: int, ref: str) -> list[NoticeView]:
    """A release's notices with who has and has not acknowledged each."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        return notices_in(rt, session, actor, common.load_change(session, ref, actor))


def acknowledgements(rt: Runtime, *, actor_id: int, ref: str, notice_id: int, waiting: bool, q: str = "",
                     limit: int | None = 50, offset: int = 0) -> tuple[NoticeView, list[str], int]:
    """Who has (or, with ``waiting``, has not) acknowledged one notice, matching ``q``, a page
    at a time (``limit`` None: every one): the change page shows only the counts."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        found = next((n for n in notices_in(rt, session, actor, change) if n.id == notice_id), None)
        if found is None or not found.names_visible:
            raise NotFound(f"no notice {notice_id} of {ref.strip().upper()[:40]} whose readers you may see")
        names, total = notice_store.reader_names(session, notice_id, acknowledged=not waiting,
                                                 q=q.strip()[:100], limit=limit, offset=offset)
        return found, names, total


def notices_in(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord) -> list[NoticeView]:
    """``notices_for`` inside the caller's read."""
    rows = notice_store.of_change(session, change.id)
    counts = notice_store.receipt_counts(session, change.id)
    tiers = rt.roles.tiers()
    order = {a: i for i, a in enumerate(sorted(tiers, key=lambda a: TIERS.index(tiers[a])))}
    names = may_see_names(rt, actor, change)
    school_names: dict[int, str] = {}
    if len({r.school_id for r in rows}) > 1:
        school_names = schools.named(rt, session)
    # Who acknowledged a school's notice (its pupils and parents among them) is for people of
    # that school: at a trust-wide change, not another affected school's.
    return sorted((NoticeView(r.id, r.audience, r.tier, r.subject, r.body, r.status, r.publish_at,
                              r.published_at, r.recipients, *counts.get(r.id, (0, 0)),
                              names and (actor.schools is None or r.school_id in actor.schools), r.note,
                              school_names.get(r.school_id, ""))
                   for r in rows), key=lambda n: (order.get(n.audience, 99), n.school))


def _unpublished(rt: Runtime, session: Session, actor_id: int, ref: str, notice_id: int,
                 action: str) -> tuple[Actor, ChangeRecord, Any]:
    """The requester, their change and one of its notices not yet published (draft or held)."""
    actor = common.load_actor(rt, session, actor_id)
    change = common.load_change(session, ref, actor)
    if actor.id != change.requester_id:
        raise NotPermitted("only the change's requester may edit its notices or say when they go")
    row = notice_store.get(session, notice_id)
    if row is None or row.change_id != change.id:
        raise NotFound("no such notice")
    if row.status not in (notice_store.DRAFT, notice_store.HELD):
        raise NotAllowed(action, row.status, [],
                         words=f"“{action.capitalize()}” is not possible: the notice is "
                               f"{row.status.replace('_', ' ')}; only a draft or held notice can be changed.")
    return actor, change, row


def edit(rt: Runtime, *, actor_id: int, ref: str, notice_id: int, subject: str, body: str) -> None:
    """Edit a draft notice before it is published (the change's requester only)."""
    subject, body = (subject or "").strip(), normalise_newlines(body or "").strip()
    problems = {}
    if problem := one_line_problem(subject, limits.NOTICE_SUBJECT):
        problems["subject"] = problem
    if problem := long_text_problem(body, limits.TEXT, required=True):
        problems["body"] = problem
    if problems:
        raise InvalidInput(problems)
    with common.unit_of_work(rt) as session:
        actor, change, row = _unpublished(rt, session, actor_id, ref, notice_id, "edit notice")
        notice_store.set_text(session, notice_id, subject=subject, body=body, now=rt.now())
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="notice.edited",
                           payload={"audience": row.audience,
                                    "before": {"subject": row.subject, "body": row.body},
                                    "after": {"subject": subject, "body": body}})


def publish_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Publish every draft whose time has come; return how many notices were published."""
    now = now or rt.now()
    published = 0
    while True:
        with rt.db.transaction() as session:
            notice = notice_store.next_due(session, now)
            if notice is None:
                return published
            _publish(rt, session, notice, now)
            published += 1


def _publish(rt: Runtime, session: Session, notice: Any, now: datetime) -> None:
    change = notice_store.change_of(session, notice.change_id)
    kind = common.workflow_of(rt, change).definition.kind_of(change.state)
    if kind not in LIVE_RELEASE_KINDS:
        notice_store.cancel(session, notice.id, now=now)
        audit_store.append(session, actor="fitsflow", change_ref=change.ref, event_type="notice.cancelled",
                           payload={"audience": notice.audience, "state": change.state})
        return
    richer = more_detailed_than(notice.audience, rt.roles.tiers())
    people = notice_store.publish(session, notice, ref=change.ref, richer=richer, now=now)
    audit_store.append(session, actor="fitsflow", change_ref=change.ref, event_type="notice.published",
                       payload={"audience": notice.audience, "tier": notice.tier, "recipients": people})


@dataclass(frozen=True)
class Received:
    notice_id: int
    change_ref: str
    subject: str
    body: str
    received_at: datetime
    acknowledged_at: datetime | None
    correction: str = ""  # the release moved or was postponed since: what it is now
    corrected_at: datetime | None = None
    receipt_id: int = 0  # where it is in the person's list (a position, domain.cursor)


def my_release_notices(rt: Runtime, *, actor_id: int, limit: int = 50) -> list[Received]:
    """The newest release notices this person received."""
    return list(release_notice_page(rt, actor_id=actor_id, limit=limit).items)


RECEIVED = "received"  # the list a position among the notices received names (domain.cursor)


def release_notice_page(rt: Runtime, *, actor_id: int, limit: int = 25, offset: int = 0, after: str = "",
                        before: str = "") -> Page:
    """Every release notice this person received, newest first, a page at a time; ``after`` /
    ``before``: the position (Page.next_after/prev_before) it starts after or ends before."""
    after_id, before_id = cursor.ids(after, before, sort=RECEIVED)
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        rows, total, offset, earlier = notice_store.received_page(
            session, actor_id, limit=limit, offset=offset, after=after_id, before=before_id)
    items = [Received(**row._mapping) for row in rows]
    next_after, prev_before = cursor.either_side(RECEIVED, [i.receipt_id for i in items],
                                                 earlier=bool(offset or earlier))
    return Page(items, total, limit, offset, next_after, prev_before)


def read_notice(rt: Runtime, *, actor_id: int, notice_id: int) -> Received:
    """One notice the person received (404 for anyone it was not sent to)."""
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        rows = notice_store.received(session, actor_id, notice_id=notice_id)
        if not rows:
            raise NotFound("no such notice for you")
        return Received(**rows[0]._mapping)


def acknowledge(rt: Runtime, *, actor_id: int, notice_id: int) -> None:
    """Record "read and understood"; once."""
    with common.unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        ref = notice_store.acknowledge(session, notice_id=notice_id, user_id=actor.id, now=rt.now())
        if ref is None:
            raise NotFound("no such notice for you")
        # Its copy in the inbox is the same notice: read with it (the badge counted it still).
        inbox_store.mark_read_linking(session, actor.id, link=notice_store.link_of(notice_id), now=rt.now())
        if ref:
            audit_store.append(session, actor=actor.label, change_ref=ref, event_type="notice.acknowledged",
                               payload={"notice": notice_id})


RELEASE_ACTIONS = ("send_now", "send_at", "not_relevant")
# What becomes of a notice still unsent when its change is released or closed.
SETTLE_ACTIONS = ("publish", "cancel")


def settle(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord,
           choices: Mapping[int, tuple[str, str]]) -> None:
    """Before a release (or a close): each unsent notice in ``choices`` (id → (action,
    reason)) published now, or cancelled with its reason, in the caller's transaction."""
    problems: dict[str, str] = {}
    for notice_id, (action, reason) in choices.items():
        if action not in SETTLE_ACTIONS:
            problems[f"notice_{notice_id}"] = f"must be one of: {', '.join(SETTLE_ACTIONS)}"
        elif action == "cancel" and not reason.strip():
            problems[f"notice_{notice_id}_reason"] = "say why this notice will not go"
        elif wrong := one_line_problem(reason.strip(), limits.REASON, required=False):
            problems[f"notice_{notice_id}_reason"] = wrong
    if problems:
        raise InvalidInput(problems)
    now = rt.now()
    for notice_id, (action, reason) in choices.items():
        row = notice_store.get(session, notice_id)
        if row is None or row.change_id != change.id:
            raise InvalidInput({f"notice_{notice_id}": "is not a notice of this change"})
        if row.status not in (notice_store.DRAFT, notice_store.HELD):
            continue  # published (or cancelled) meanwhile: nothing left to decide
        if action == "publish":
            _publish(rt, session, row, now)
        else:
            notice_store.cancel(session, notice_id, now=now)
            audit_store.append(session, actor=actor.label, change_ref=change.ref,
                               event_type="notice.cancelled",
                               payload={"audience": row.audience, "reason": reason.strip()})


def release_notice(
    rt: Runtime, *, actor_id: int, ref: str, notice_id: int, action: str, at: str = "", reason: str = ""
) -> None:
    """The requester's word on a notice before it goes: send it now, send it at a time (before
    the window), or mark it not relevant to its audience with a reason."""
    problems: dict[str, str] = {}
    if action not in RELEASE_ACTIONS:
        problems["action"] = f"must be one of: {', '.join(RELEASE_ACTIONS)}"
    reason = (reason or "").strip()
    if action == "not_relevant" and not reason:
        problems["reason"] = "say why this audience need not hear of the release"
    if wrong := one_line_problem(reason, limits.REASON, required=False):
        problems["reason"] = wrong
    when: datetime | None = None
    if action == "send_at":
        try:
            when = datetime.fromisoformat((at or "").strip())
            when = (when if when.tzinfo else when.replace(tzinfo=rt.timezone)).astimezone(UTC)
        except ValueError:
            problems["at"] = "must be a date and time such as 2026-07-20T08:00"
    if problems:
        raise InvalidInput(problems)
    with common.unit_of_work(rt) as session:
        actor, change, row = _unpublished(rt, session, actor_id, ref, notice_id, action.replace("_", " "))
        now = rt.now()
        plan = stage_store.release_plan(session, change.id)
        if when is not None and (when < now or (plan and plan.window_start and when > plan.window_start)):
            raise InvalidInput({"at": "must be from now until the window starts"})
        if action == "not_relevant":
            notice_store.release(
                session,
                row.id,
                status=notice_store.NOT_RELEVANT,
                publish_at=row.publish_at,
                note=reason,
                now=now,
            )
        else:
            notice_store.release(
                session, row.id, status=notice_store.DRAFT, publish_at=when or now, note="", now=now
            )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type=f"notice.{action}",
            payload={"audience": row.audience, "at": (when or now).isoformat(), "reason": reason},
        )
