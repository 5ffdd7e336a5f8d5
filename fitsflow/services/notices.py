"""Release notices tiered by audience: drafted when a release is scheduled, editable
until published, published on each audience's lead time so that every person
receives exactly one notice per release (their most detailed tier), and acknowledged.

Also the scheduling-time checks that notify people: a window that clashes with
another scheduled change (CAB), and the review reminder after a release."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from sqlalchemy import and_, exists, func, insert, literal, or_, select, update
from sqlmodel import Session
from sqlmodel.sql.sqltypes import UTCDateTime

from .. import notifications, signals
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotAllowed, NotFound, NotPermitted
from ..domain.notices import TIERS, more_detailed_than, school_days_before
from ..domain.stages import FinancialPlan
from ..persistence import audit_store
from ..persistence.change_store import ChangeRecord
from ..persistence.models import (
    Change,
    NoticeReceipt,
    OutboxMessage,
    ReleaseNotice,
    ReleasePlan,
    User,
    UserAudience,
)
from ..workflow.definition import WorkflowDefinition
from . import common
from .runtime import Runtime
from .subject import ChangeSubject

SETTINGS_KEY = "fitsflow_notice_settings"
SHIPPED = Path(__file__).resolve().parent.parent / "notice_templates"
_NOTICES = ReleaseNotice.__table__  # type: ignore[attr-defined]
_RECEIPTS = NoticeReceipt.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_MEMBERS = UserAudience.__table__  # type: ignore[attr-defined]
_USERS = User.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NoticeSettings:
    tiers: dict[str, str]
    lead_days: dict[str, int]
    school: str
    timezone: ZoneInfo
    currency: str
    review_due_days: int
    template_dir: str = ""
    env: jinja2.Environment = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        folders = [self.template_dir, str(SHIPPED)] if self.template_dir else [str(SHIPPED)]
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), autoescape=False,
                                 undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        object.__setattr__(self, "env", env)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> NoticeSettings:
        return cls(tiers=dict(settings["audiences"]), lead_days=dict(settings["lead_days"]),
                   school=settings["school"]["name"], timezone=ZoneInfo(settings["school"]["timezone"]),
                   currency=settings["planning"]["currency"],
                   review_due_days=int(settings["notices"]["review_due_days"]),
                   template_dir=settings["notices"]["template_dir"])

    def money(self, value: Decimal) -> str:
        symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(self.currency, self.currency + " ")
        return f"{symbol}{value:,.2f}"


def _settings(session: Session) -> NoticeSettings:
    found = session.info.get(SETTINGS_KEY)
    if found is None:
        raise RuntimeError("notice settings missing from the session (build the runtime first)")
    return found


def render(settings: NoticeSettings, tier: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of a tier's template: the first line is the subject."""
    text = settings.env.get_template(f"{tier}.txt").render(money=settings.money, **context)
    subject, _, body = text.strip().partition("\n")
    return subject.strip()[:300], body.strip()


def _context(session: Session, change: ChangeRecord, workflow: WorkflowDefinition,
             settings: NoticeSettings) -> dict[str, Any]:
    subject = ChangeSubject(session, change, workflow)
    plan = FinancialPlan(change.horizon_years, subject.cost_lines)
    release = subject.release_plan

    def local(moment: datetime | None, fmt: str) -> str:
        return moment.astimezone(settings.timezone).strftime(fmt) if moment else "to be confirmed"

    start = release.window_start if release else None
    end = release.window_end if release else None
    return {
        "school": settings.school, "requester_name": change.requester_name,
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


def draft(session: Session, change: ChangeRecord, workflow: WorkflowDefinition) -> int:
    """Draft (or re-time) one notice per audience; published drafts are left alone."""
    settings = _settings(session)
    context = _context(session, change, workflow, settings)
    release = session.get(ReleasePlan, change.id)
    start = release.window_start if release and release.window_start else common.now()
    now = common.now()
    existing = {row.audience: row for row in session.execute(
        select(_NOTICES).where(_NOTICES.c.change_id == change.id)).all()}
    count = 0
    for audience, tier in settings.tiers.items():
        publish_at = max(school_days_before(start, settings.lead_days[audience]), now)
        old = existing.get(audience)
        if old is not None:
            if old.status == "draft":
                session.connection().execute(update(_NOTICES).where(_NOTICES.c.id == old.id)
                                             .values(publish_at=publish_at, updated_at=now))
            continue
        subject, body = render(settings, tier, context)
        session.connection().execute(insert(_NOTICES).values(
            change_id=change.id, audience=audience, tier=tier, subject=subject, body=body,
            status="draft", publish_at=publish_at, recipients=0, updated_at=now))
        count += 1
    return count


def _clashes(session: Session, change: ChangeRecord) -> list[str]:
    plan = session.get(ReleasePlan, change.id)
    if plan is None or plan.window_start is None or plan.window_end is None:
        return []
    changes, plans = Change.__table__, ReleasePlan.__table__  # type: ignore[attr-defined]
    query = (select(changes.c.ref).select_from(changes.join(plans, plans.c.change_id == changes.c.id))
             .where(changes.c.id != change.id, changes.c.state == "scheduled",
                    plans.c.window_start < plan.window_end, plans.c.window_end > plan.window_start)
             .order_by(changes.c.ref))
    return list(session.connection().execute(query).scalars())


def on_scheduled(change: ChangeRecord, *, session: Session, actor: Actor, workflow: WorkflowDefinition,
                 **extra: Any) -> None:
    """Draft the release notices; tell the CAB when the window clashes with another change."""
    draft(session, change, workflow)
    clashes = _clashes(session, change)
    if clashes:
        notifications.queue("window_clash", change, session=session, actor=actor, workflow=workflow,
                            reason="the window overlaps " + ", ".join(clashes))
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="window.clash",
                           payload={"overlaps": clashes})


def on_released(change: ChangeRecord, *, session: Session, actor: Actor, workflow: WorkflowDefinition,
                **extra: Any) -> None:
    """Remind the requester to open the review if it is not open by then."""
    if "in_review" not in workflow.states:
        return
    due = common.now() + timedelta(days=_settings(session).review_due_days)
    notifications.queue("review_due", change, session=session, actor=actor, workflow=workflow,
                        available_at=due, include_actor=True)


signals.scheduled.connect(on_scheduled)
signals.released.connect(on_released)


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
    acknowledged: tuple[str, ...] = ()
    not_acknowledged: tuple[str, ...] = ()


def notices_for(rt: Runtime, *, actor_id: int, ref: str) -> list[NoticeView]:
    """A release's notices with who has and has not acknowledged each."""
    with rt.db.read() as session:
        actor = common.load_actor(session, actor_id)
        change = common.load_change(session, ref, actor)
        rows = session.execute(select(_NOTICES).where(_NOTICES.c.change_id == change.id)).all()
        acks: dict[int, tuple[list[str], list[str]]] = {row.id: ([], []) for row in rows}
        receipts = session.connection().execute(
            select(_RECEIPTS.c.notice_id, _RECEIPTS.c.acknowledged_at, _USERS.c.name)
            .join(_USERS, _USERS.c.id == _RECEIPTS.c.user_id)
            .where(_RECEIPTS.c.change_id == change.id).order_by(_USERS.c.name))
        for notice_id, acked, name in receipts:
            acks[notice_id][0 if acked else 1].append(name)
        order = {a: i for i, a in enumerate(sorted(rt.settings["audiences"],
                                                   key=lambda a: TIERS.index(rt.settings["audiences"][a])))}
        return sorted((NoticeView(r.id, r.audience, r.tier, r.subject, r.body, r.status, r.publish_at,
                                  r.published_at, r.recipients, tuple(acks[r.id][0]), tuple(acks[r.id][1]))
                       for r in rows), key=lambda n: order.get(n.audience, 99))


def edit(rt: Runtime, *, actor_id: int, ref: str, notice_id: int, subject: str, body: str) -> None:
    """Edit a draft notice before it is published (the change's requester only)."""
    subject, body = (subject or "").strip(), (body or "").strip()
    problems = {}
    if not subject or len(subject) > 300:
        problems["subject"] = "is required (up to 300 characters)"
    if not body or len(body) > 20_000:
        problems["body"] = "is required (up to 20000 characters)"
    if problems:
        raise InvalidInput(problems)
    with common.unit_of_work(rt, ref) as session:
        actor = common.load_actor(session, actor_id)
        change = common.load_change(session, ref, actor)
        if actor.id != change.requester_id:
            raise NotPermitted("only the change's requester may edit its notices")
        row = session.get(ReleaseNotice, notice_id)
        if row is None or row.change_id != change.id:
            raise NotFound("no such notice")
        if row.status != "draft":
            raise NotAllowed("edit notice", row.status, [])
        before = {"subject": row.subject, "body": row.body}
        row.subject, row.body, row.updated_at = subject, body, common.now()
        session.add(row)
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="notice.edited",
                           payload={"audience": row.audience, "before": before,
                                    "after": {"subject": subject, "body": body}})


def publish_due(rt: Runtime, *, now: datetime | None = None) -> int:
    """Publish every draft whose time has come; return how many notices were published."""
    now = now or datetime.now(UTC)
    published = 0
    while True:
        with rt.db.transaction() as session:
            notice = session.execute(
                select(_NOTICES).where(_NOTICES.c.status == "draft", _NOTICES.c.publish_at <= now)
                .order_by(_NOTICES.c.publish_at, _NOTICES.c.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if notice is None:
                return published
            _publish(session, rt, notice, now)
            published += 1


def _publish(session: Session, rt: Runtime, notice: Any, now: datetime) -> None:
    connection = session.connection()
    state = connection.execute(select(Change.__table__.c.state, Change.__table__.c.ref)  # type: ignore[attr-defined]
                               .where(Change.__table__.c.id == notice.change_id)).one()  # type: ignore[attr-defined]
    if state.state not in ("scheduled", "released"):
        connection.execute(update(_NOTICES).where(_NOTICES.c.id == notice.id).values(
            status="cancelled", updated_at=now))
        audit_store.append(session, actor="fitsflow", change_ref=state.ref, event_type="notice.cancelled",
                           payload={"audience": notice.audience, "state": state.state})
        return
    tiers = rt.settings["audiences"]
    # Set-based: the people whose most detailed audience is this one and who have no
    # notice for this release yet get a receipt, then one outbox row per new receipt.
    richer = more_detailed_than(notice.audience, tiers)
    members, other = _MEMBERS.alias("m"), _MEMBERS.alias("o")
    eligible = (
        select(literal(notice.change_id), literal(notice.id), members.c.user_id, literal(now, UTCDateTime()))
        .select_from(members.join(_USERS, _USERS.c.id == members.c.user_id))
        .where(members.c.audience == notice.audience, _USERS.c.active.is_(True),
               ~exists().where(_RECEIPTS.c.change_id == notice.change_id,
                               _RECEIPTS.c.user_id == members.c.user_id)))
    if richer:
        eligible = eligible.where(~exists().where(other.c.user_id == members.c.user_id,
                                                  other.c.audience.in_(richer)))
    connection.execute(_RECEIPTS.insert().from_select(
        ["change_id", "notice_id", "user_id", "created_at"], eligible))
    # (rowcount of INSERT … SELECT is not reported by every driver)
    added = connection.execute(select(func.count()).select_from(_RECEIPTS)
                               .where(_RECEIPTS.c.notice_id == notice.id)).scalar_one()
    payload = json.dumps({"event": "release_notice", "ref": state.ref, "link": f"/notices/{notice.id}"},
                         sort_keys=True)
    connection.execute(_OUTBOX.insert().from_select(
        ["created_at", "event", "change_ref", "recipient_id", "subject", "body", "payload", "status",
         "attempts", "available_at", "last_error", "channel"],
        select(_RECEIPTS.c.created_at, literal("release_notice"), literal(state.ref), _RECEIPTS.c.user_id,
               literal(notice.subject), literal(notice.body), literal(payload), literal("pending"),
               literal(0), _RECEIPTS.c.created_at, literal(""), literal("person"))
        .where(_RECEIPTS.c.notice_id == notice.id)))
    people = added
    connection.execute(update(_NOTICES).where(_NOTICES.c.id == notice.id).values(
        status="published", published_at=now, recipients=people, updated_at=now))
    audit_store.append(session, actor="fitsflow", change_ref=state.ref, event_type="notice.published",
                       payload={"audience": notice.audience, "tier": notice.tier, "recipients": people})


@dataclass(frozen=True)
class Received:
    notice_id: int
    change_ref: str
    subject: str
    body: str
    received_at: datetime
    acknowledged_at: datetime | None


def my_release_notices(rt: Runtime, *, actor_id: int, limit: int = 50) -> list[Received]:
    with rt.db.read() as session:
        common.load_actor(session, actor_id)
        changes = Change.__table__  # type: ignore[attr-defined]
        rows = session.connection().execute(
            select(_NOTICES.c.id, changes.c.ref, _NOTICES.c.subject, _NOTICES.c.body,
                   _RECEIPTS.c.created_at, _RECEIPTS.c.acknowledged_at)
            .select_from(_RECEIPTS.join(_NOTICES, _NOTICES.c.id == _RECEIPTS.c.notice_id)
                         .join(changes, changes.c.id == _RECEIPTS.c.change_id))
            .where(_RECEIPTS.c.user_id == actor_id).order_by(_RECEIPTS.c.id.desc()).limit(limit)).all()
        return [Received(*row) for row in rows]


def read_notice(rt: Runtime, *, actor_id: int, notice_id: int) -> Received:
    """One notice the person received (404 for anyone it was not sent to)."""
    for item in my_release_notices(rt, actor_id=actor_id, limit=10_000):
        if item.notice_id == notice_id:
            return item
    raise NotFound("no such notice for you")


def acknowledge(rt: Runtime, *, actor_id: int, notice_id: int) -> None:
    """Record "read and understood"; once."""
    with common.unit_of_work(rt) as session:
        actor = common.load_actor(session, actor_id)
        result = session.connection().execute(
            update(_RECEIPTS).where(and_(_RECEIPTS.c.notice_id == notice_id, _RECEIPTS.c.user_id == actor.id,
                                         or_(_RECEIPTS.c.acknowledged_at.is_(None))))
            .values(acknowledged_at=common.now()))
        if result.rowcount != 1:
            exists = session.connection().execute(select(_RECEIPTS.c.id).where(
                _RECEIPTS.c.notice_id == notice_id, _RECEIPTS.c.user_id == actor.id)).first()
            if exists is None:
                raise NotFound("no such notice for you")
            return
        ref = session.connection().execute(
            select(Change.__table__.c.ref).join(_NOTICES, _NOTICES.c.change_id == Change.__table__.c.id)  # type: ignore[attr-defined]
            .where(_NOTICES.c.id == notice_id)).scalar_one()
        audit_store.append(session, actor=actor.label, change_ref=ref, event_type="notice.acknowledged",
                           payload={"notice": notice_id})


