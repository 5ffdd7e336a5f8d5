"""The database tables."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Integer, LargeBinary, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=500)
    active: bool = True
    created_at: datetime
    # Set when an administrator set the password: the person must choose their own.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # The second factor: a TOTP secret (base32), set at enrolment and in force once
    # confirmed (``totp_enabled_at``); the last time step accepted, so a code works once.
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_enabled_at: datetime | None = None
    totp_last_step: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Demo users only (``fitsflow demo``): may sign in without a second factor.
    mfa_exempt: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class RecoveryCode(SQLModel, table=True):
    """A single-use code that stands in for the authenticator app; only its hash is kept."""

    __tablename__ = "recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = None


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    role: str = Field(max_length=20, primary_key=True, index=True)


class RoleGrant(SQLModel, table=True):
    """A privileged act one administrator asked for, waiting for a second to confirm: an
    approver or admin role given or taken away, an administrator deactivated, an absence
    with a substitute recorded for someone else."""

    __tablename__ = "role_grants"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    role: str = Field(max_length=20)
    requested_by: int = Field(foreign_key="users.id")
    requested_at: datetime
    status: str = Field(default="pending", max_length=10, index=True)  # pending | confirmed | refused
    # What waits: giving ``role`` (grant), taking it away (remove), deactivating the person
    # (deactivate), or an absence with a substitute recorded for them (absence).
    act: str = Field(default="grant", max_length=12)
    absence_id: int | None = Field(default=None, foreign_key="absences.id")
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None


class UserAudience(SQLModel, table=True):
    __tablename__ = "user_audiences"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    audience: str = Field(max_length=20, primary_key=True, index=True)


class School(SQLModel, table=True):
    """A school of the trust (the installation). The first is the school an installation had
    before it held several; an empty name is the one the settings give ([school] name)."""

    __tablename__ = "schools"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(default="", max_length=120)
    nation: str = Field(default="", max_length=20)  # bank holidays' nation; "" = the settings'
    created_at: datetime
    # Not a school: the schools a trust-wide change affects (school_set_members), so that its
    # change belongs to one row the school scope reads like any school's. Never listed.
    is_set: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class SchoolSetMember(SQLModel, table=True):
    """A school a set of schools (a trust-wide change's) holds."""

    __tablename__ = "school_set_members"

    set_id: int = Field(foreign_key="schools.id", primary_key=True)
    school_id: int = Field(foreign_key="schools.id", primary_key=True, index=True)


class SchoolMember(SQLModel, table=True):
    """Who belongs to which school: they see its changes (trust roles see every school's)."""

    __tablename__ = "school_members"

    school_id: int = Field(foreign_key="schools.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)


class Change(SQLModel, table=True):
    __tablename__ = "changes"
    # One index for each filter and sort the lists offer, so a page costs what it shows, not
    # the school's history (tests/test_query_plans.py reads the plans on both databases).
    __table_args__ = (
        Index("ix_changes_state_workflow", "workflow", "state"),
        Index("ix_changes_phase_updated", "workflow", "state", "updated_at", "id"),
        Index("ix_changes_requester_phase", "requester_id", "workflow", "state", "updated_at", "id"),
        Index("ix_changes_requester_updated", "requester_id", "updated_at", "id"),
        # A requester's changes in their school's view, at a step and newest first (the home's)
        # or all of them (their occurrences missed): with the requester alone, SQLite took the
        # view's school index and walked the school's history; with (requester, school) alone,
        # PostgreSQL read all of the requester's there at each step.
        Index("ix_changes_requester_school", "requester_id", "school_id", "workflow", "state", "updated_at",
              "id"),
        Index("ix_changes_updated", "updated_at", "id"),
        # A school's changes newest first (a person who sees one school: the view's filter).
        Index("ix_changes_school_updated", "school_id", "updated_at", "id"),
        # A school's changes at a step (a school's person in a trust: their view's filter and the
        # step's): a stretch of one index, where the school's index alone walks its whole history.
        Index("ix_changes_school_phase", "school_id", "workflow", "state", "updated_at", "id"),
        Index("ix_changes_created", "created_at", "id"),
        Index("ix_changes_state_updated", "state", "updated_at", "id"),
        Index("ix_changes_category_updated", "category", "updated_at", "id"),
        Index("ix_changes_title", "title", "id"),
        # A range's version (feed_store.range_version) read from indexes alone.
        Index("ix_changes_id_version", "id", "version", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=20, unique=True, index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=20)
    workflow: str = Field(max_length=60)
    requester_id: int = Field(foreign_key="users.id")
    affected_services: str = Field(default="", max_length=2000)
    state: str = Field(max_length=60)
    # Optimistic locking: change_store saves with UPDATE … WHERE version = :seen.
    version: int = Field(default=1, sa_column=Column("version", Integer, nullable=False))
    approval_round: int = 0
    horizon_years: int = 5
    parent_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    created_at: datetime
    updated_at: datetime
    # An emergency's reason why it cannot wait for the normal approvals.
    urgency: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # … and which: restore a service that is down, or protect one at risk (EMERGENCY_PURPOSES).
    emergency_purpose: str = Field(default="", max_length=10)
    # A standard change's template (the CAB approved it; the change stays within it).
    template_id: int | None = Field(default=None, foreign_key="standard_templates.id", index=True)
    # The workflow version (content hash, workflow_versions) the change runs on: an edited
    # workflow file applies to new changes; this one finishes where it started.
    workflow_version: str | None = Field(default=None, max_length=16, index=True)
    # The planned cost over the horizon (the sum of the plan's lines, kept by
    # stage_store.replace_cost_lines), indexed for the register's cost filter and sort.
    planned_cost: Decimal = Field(default=Decimal(0), sa_column=Column(
        Numeric(14, 2), nullable=False, server_default="0", index=True))
    # The school it belongs to (schools): people of other schools never see it.
    school_id: int = Field(default=1, foreign_key="schools.id", index=True,
                           sa_column_kwargs={"server_default": "1"})


class WorkflowVersion(SQLModel, table=True):
    """A workflow definition as it was when a change first used it, by content hash."""

    __tablename__ = "workflow_versions"

    version: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=60, index=True)
    source: str = Field(max_length=500)  # the file it was read from
    body: str = Field(sa_column=Column(Text, nullable=False))  # the TOML text
    created_at: datetime


class NeedsAnalysis(SQLModel, table=True):
    __tablename__ = "needs_analyses"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    need: str = Field(sa_column=Column(Text, nullable=False))
    stakeholders: str = Field(default="", sa_column=Column(Text, nullable=False))
    sdp_priority: str = Field(default="", max_length=500)
    options_considered: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The approval policy's screening answers (JSON: question → answer) and, when they ask
    # for one, the data-protection impact assessment's reference.
    screening: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    dpia_reference: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    updated_at: datetime


class SuccessMeasure(SQLModel, table=True):
    """What success looks like, recorded at needs analysis (how and when it will be checked)
    and assessed at the review (met, partly, not met, with the evidence)."""

    __tablename__ = "success_measures"
    __table_args__ = (UniqueConstraint("change_id", "position", name="uq_success_measure_position"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    position: int
    statement: str = Field(sa_column=Column(Text, nullable=False))
    method: str = Field(sa_column=Column(Text, nullable=False))
    check_by: date
    result: str = Field(default="", max_length=10, sa_column_kwargs={"server_default": ""})
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class ReviewFeedback(SQLModel, table=True):
    """One participant's 360-degree feedback on a change's review: asked when the review
    opens (their group: deciders, SLT, the support team, the requester or the audience they
    were sampled from), answered once, editable until the review closes."""

    __tablename__ = "review_feedback"
    __table_args__ = (UniqueConstraint("change_id", "user_id", name="uq_review_feedback_once"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    grp: str = Field(max_length=40)
    asked_at: datetime = Field(index=True)
    answered_at: datetime | None = None
    # When the reminder went (or was found no longer needed: the review had closed).
    reminded_at: datetime | None = None
    meets_need: int | None = None
    disruption: int | None = None
    training: int | None = None
    communication: int | None = None
    worked: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    improve: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class CostLine(SQLModel, table=True):
    __tablename__ = "cost_lines"

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    actual: bool = False
    year_offset: int
    kind: str = Field(max_length=20)
    amount: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    funding_source: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=500)


class ReleasePlan(SQLModel, table=True):
    __tablename__ = "release_plans"
    # The schedule's and the feeds' range reads, and their version, from these indexes alone:
    # by the end of the window, so a range from today on reads the windows still to come and
    # never the history before it (by the start, "starts before the range ends" is every
    # window since the school began).
    __table_args__ = (Index("ix_release_plans_window", "window_start", "window_end", "change_id"),
                      Index("ix_release_plans_window_end", "window_end", "window_start", "change_id"))

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    window_start: datetime | None = None
    window_end: datetime | None = None
    backout_plan: str = Field(default="", sa_column=Column(Text, nullable=False))
    test_plan: str = Field(default="", sa_column=Column(Text, nullable=False))
    risk: str = Field(default="", max_length=10)  # the level the risk assessment scored
    # The risk assessment's answers (JSON: question → answer) and their points.
    risk_answers: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    risk_score: int | None = None
    impact: str = Field(default="", sa_column=Column(Text, nullable=False))
    training: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    contact: str = Field(default="", max_length=300)
    # Raised whenever the window moves: calendar feeds' SEQUENCE, so clients update it.
    window_sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    updated_at: datetime


class Review(SQLModel, table=True):
    __tablename__ = "reviews"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    outcome: str = Field(max_length=30)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime
    # When what was bought needs refreshing or reaches its end of life.
    refresh_on: date | None = Field(default=None, index=True)


class Comment(SQLModel, table=True):
    """A message in a change's discussion (Markdown, shown sanitised)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_change", "change_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id")
    author_id: int = Field(foreign_key="users.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime


class Attachment(SQLModel, table=True):
    """A file a change carries, kept in the database (backups and restores carry it); removed
    files keep their row (name, size, SHA-256, who and when) without their content."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_change", "change_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id")
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    uploaded_by: int = Field(foreign_key="users.id")
    uploaded_at: datetime
    removed_by: int | None = Field(default=None, foreign_key="users.id")
    removed_at: datetime | None = None


class Proposal(SQLModel, table=True):
    """A need proposed by any member of staff: what, why, who it affects; triaged by a
    requester into a change (raised, or merged into one already raised) or declined with a
    reason the proposer sees."""

    __tablename__ = "proposals"
    __table_args__ = (Index("ix_proposals_status", "status", "id"),
                      Index("ix_proposals_proposer", "proposer_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    proposer_id: int = Field(foreign_key="users.id")
    what: str = Field(max_length=200)
    why: str = Field(sa_column=Column(Text, nullable=False))
    affects: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime
    status: str = Field(default="open", max_length=10)
    change_id: int | None = Field(default=None, foreign_key="changes.id")
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    triaged_by: int | None = Field(default=None, foreign_key="users.id")
    triaged_at: datetime | None = None
    # The school whose need it is: its requesters triage it; nobody else sees it.
    school_id: int = Field(default=1, foreign_key="schools.id", index=True,
                           sa_column_kwargs={"server_default": "1"})


class PilotStudy(SQLModel, table=True):
    """An innovation study's design and, at its evaluation, its outcome (and the change it
    was adopted as)."""

    __tablename__ = "pilots"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    hypothesis: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    trial_group: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    weeks: int | None = None
    outcome: str = Field(default="", max_length=10, sa_column_kwargs={"server_default": ""})
    learnt: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    adopt_category: str = Field(default="", max_length=20, sa_column_kwargs={"server_default": ""})
    adopted_as: int | None = Field(default=None, foreign_key="changes.id")
    updated_at: datetime


class UsageCheck(SQLModel, table=True):
    """Months after a release, is what was bought used as intended? Due on ``due_on``, the
    requester reminded then; recorded with evidence, or listed as overdue."""

    __tablename__ = "usage_checks"
    # The lists read the checks not yet recorded (checked_at null) by date, or the recorded
    # ones newest first: never every check the school has had.
    __table_args__ = (Index("ix_usage_checks_open", "checked_at", "due_on", "change_id"),)

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    due_on: date
    reminded_at: datetime | None = None
    checked_at: datetime | None = None
    checked_by: int | None = Field(default=None, foreign_key="users.id")
    result: str = Field(default="", max_length=10, sa_column_kwargs={"server_default": ""})
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Approval(SQLModel, table=True):
    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("change_id", "gate", "round", "approver_id", name="uq_approval_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    gate: str = Field(max_length=60)
    round: int
    approver_id: int = Field(foreign_key="users.id")
    role: str = Field(max_length=20)
    decision: str = Field(max_length=10)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    decided_at: datetime
    # A substitute's decision is the absent approver's (approver_id), made by acted_by.
    acted_by: int | None = Field(default=None, foreign_key="users.id")


class AuditEvent(SQLModel, table=True):
    """One link of the hash chain. ``at`` and ``payload`` are stored as the exact
    text that was hashed, so verification never depends on a driver's round-trip."""

    __tablename__ = "audit_events"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: str = Field(max_length=40, index=True)
    actor: str = Field(default="", max_length=320)
    change_ref: str = Field(default="", max_length=20, index=True)
    event_type: str = Field(max_length=60)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain head: one row, locked by every writer to serialise the chain. Beside it, each
    cached read's version (``domain.events.READS``): the event that last could change what it
    shows — the hash as well as the number, as after a restore the same number can come round
    again with other data behind it. Written in the head's own update, so a version costs no
    statement of its own."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)
    schedule_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    schedule_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    calendar_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    calendar_hash: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})


class AuditCheckpoint(SQLModel, table=True):
    """How far the chain was last verified: ``seq`` and its ``hash`` (the hash is the
    chain's own, so a later check first confirms the event at ``seq`` still has it) and
    when; ``full_at`` is when the whole chain was last walked from the start."""

    __tablename__ = "audit_checkpoint"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)
    verified_at: datetime
    full_at: datetime | None = None


class HealthProbe(SQLModel, table=True):
    """One row /healthz rewrites to prove a write commits (disk not full, not read-only)."""

    __tablename__ = "health_probe"

    id: int = Field(default=1, primary_key=True)
    at: datetime


class WorkerSlot(SQLModel, table=True):
    """A delivery worker's turn: only a process holding a slot (until ``until``, renewed as
    it works) delivers, so however many server processes run, ``delivery.workers`` deliver."""

    __tablename__ = "worker_slots"

    slot: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    holder: str = Field(max_length=200)
    until: datetime


class IdempotencyKey(SQLModel, table=True):
    """An API write made with an Idempotency-Key: the request's fingerprint and, once it has
    finished, its answer (``status`` None: still running), replayed for a retry."""

    __tablename__ = "idempotency_keys"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    key: str = Field(max_length=200, primary_key=True)
    fingerprint: str = Field(max_length=64)
    status: int | None = None
    response: str = Field(default="", sa_column=Column(Text, nullable=False))
    location: str = Field(default="", max_length=300)
    created_at: datetime = Field(index=True)
    # The process running the first request (fitsflow.process.identity), while it runs.
    holder: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})


class OutboxMessage(SQLModel, table=True):
    """A notification written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_available", "status", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    event: str = Field(max_length=60)
    change_ref: str = Field(default="", max_length=20, index=True)
    # "person": the recipient's in-app notice, also emailed when SMTP is on;
    # "webhook": one JSON POST per event to the configured hook (no recipient).
    channel: str = Field(default="person", max_length=20)
    recipient_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    available_at: datetime
    lease_until: datetime | None = None
    last_error: str = Field(default="", sa_column=Column(Text, nullable=False))
    delivered_at: datetime | None = None


class InboxItem(SQLModel, table=True):
    """A person's in-app notification, written by delivery when its outbox row is due
    (never before ``available_at``, never when cancelled); read or unread."""

    __tablename__ = "inbox_items"
    # Unread counts from the first; a page of the newest from the second, stopping at the page.
    __table_args__ = (Index("ix_inbox_user_read", "user_id", "read_at"),
                      Index("ix_inbox_user_id", "user_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    outbox_id: int = Field(foreign_key="outbox.id", unique=True)
    event: str = Field(max_length=60)
    change_ref: str = Field(default="", max_length=20)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str = Field(default="", max_length=300)
    created_at: datetime
    read_at: datetime | None = None


class RefCounter(SQLModel, table=True):
    """The last change number issued per year (CHG-2026-0001 …)."""

    __tablename__ = "ref_counters"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    # read | write | admin (each includes the ones before it).
    scope: str = Field(default="write", max_length=10)
    expires_at: datetime | None = None


class RateCounter(SQLModel, table=True):
    """Requests counted per key (a user's API writes) in the current minute, in the database
    so that every server process sees the same count."""

    __tablename__ = "rate_counters"

    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime
    count: int = 0


class LoginFailure(SQLModel, table=True):
    """Recent failed logins per key (an email, or an address), for throttling."""

    __tablename__ = "login_failures"

    key: str = Field(primary_key=True, max_length=400)
    count: int = 0
    first_at: datetime
    last_at: datetime | None = None


class ReleaseNotice(SQLModel, table=True):
    """The notice one audience receives about one release, drafted from its tier's
    template, editable until published at ``publish_at``."""

    __tablename__ = "release_notices"
    __table_args__ = (UniqueConstraint("change_id", "audience", "school_id", name="uq_notice_audience"),
                      Index("ix_notices_due", "status", "publish_at"))

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    audience: str = Field(max_length=20)
    tier: str = Field(max_length=20)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="draft", max_length=20)
    publish_at: datetime
    published_at: datetime | None = None
    recipients: int = 0
    updated_at: datetime
    # Why it was marked not relevant to its audience.
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    # Once published: the latest correction (the release moved or was postponed), and when.
    correction: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    corrected_at: datetime | None = None
    # The school whose people it goes to, from its calendar: the change's own, or for a
    # trust-wide change one notice per audience for each school it affects.
    school_id: int = Field(default=1, foreign_key="schools.id", sa_column_kwargs={"server_default": "1"})


class NoticeReceipt(SQLModel, table=True):
    """One person's copy of a release's notice: exactly one per person per release."""

    __tablename__ = "notice_receipts"
    # (user_id, id): a person's notices newest first, and their count, read from the index
    # however many notices the school has sent.
    __table_args__ = (UniqueConstraint("change_id", "user_id", name="uq_receipt_once"),
                      Index("ix_notice_receipts_user", "user_id", "id"))

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    notice_id: int = Field(foreign_key="release_notices.id", index=True)
    user_id: int = Field(foreign_key="users.id")
    created_at: datetime
    acknowledged_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie carries a random id; only its SHA-256 is kept.
    Signing out revokes the row, so a copied cookie stops working too."""

    __tablename__ = "web_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime
    revoked_at: datetime | None = None
    # Refreshed at most once a minute: the idle timeout counts from here.
    last_seen_at: datetime | None = None


class RememberedDevice(SQLModel, table=True):
    """A browser that passed the second factor and asked not to be asked again. Its cookie
    carries a random id (only the SHA-256 is kept) and is honoured only from the browser
    whose device id (the sign-in device cookie's, also as a hash) it was made for. Listed on
    My account; revoked one by one there, all at once by signing out everywhere, a password
    change or reset, or the factor's reset."""

    __tablename__ = "remembered_devices"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    device_hash: str = Field(max_length=64)
    label: str = Field(max_length=100)  # "Firefox on Linux", from the browser's User-Agent
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class AccountLink(SQLModel, table=True):
    """A one-time link sent by email: an invitation to choose a first password, or a
    password reset. Only the token's SHA-256 is kept; it works once (``used_at``), until
    ``expires_at``, unless a newer link (or its use) revoked it."""

    __tablename__ = "account_links"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    purpose: str = Field(max_length=10)  # invite | reset
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime
    expires_at: datetime
    created_by: str = Field(max_length=320)  # an administrator, "cli", or "self" (a reset asked for)
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class CalendarPeriod(SQLModel, table=True):
    """A term, holiday, INSET day, exam season, freeze or event (fitsflow.domain.calendar)."""

    __tablename__ = "calendar_periods"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    title: str = Field(max_length=200)
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)  # exclusive
    effect: str = Field(max_length=10)
    reason: str = Field(default="", max_length=500)
    created_at: datetime
    created_by: str = Field(default="", max_length=320)
    # The school whose calendar it is in; None: every school's (the trust's).
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)


class CalendarFeed(SQLModel, table=True):
    """A person's secret calendar-feed address; only the secret's SHA-256 is kept."""

    __tablename__ = "calendar_feeds"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=10)  # mine | schedule
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime
    revoked_at: datetime | None = None


class Service(SQLModel, table=True):
    """An IT service in the school's catalogue (core network, Wi-Fi, MIS …). Names are
    kept for ever (changes name the services they affect); retire one with ``active``."""

    __tablename__ = "services"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    description: str = Field(default="", max_length=500)
    active: bool = True
    created_at: datetime
    # The school whose own service it is (its changes choose it, its administrators edit it);
    # None: the trust's, for every school.
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)


class ServiceDependency(SQLModel, table=True):
    """``service_id`` depends on ``depends_on_id`` (Wi-Fi on the core network)."""

    __tablename__ = "service_dependencies"

    service_id: int = Field(foreign_key="services.id", primary_key=True)
    depends_on_id: int = Field(foreign_key="services.id", primary_key=True)


class GateRequirement(SQLModel, table=True):
    """Who must approve one round of a gate, computed by the approval policy from the
    change's facts when the round opened, with why (one row per role)."""

    __tablename__ = "gate_requirements"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    gate: str = Field(max_length=60, primary_key=True)
    round: int = Field(primary_key=True)
    role: str = Field(max_length=20, primary_key=True, index=True)
    needed: int
    why: str = Field(default="", max_length=1000)
    position: int = 0  # the policy's order: the workflow's approvers first
    opened_at: datetime | None = None  # when the round opened (reminders count from it)


class ApprovedSnapshot(SQLModel, table=True):
    """What a gate approved the last time it passed: the fields it covers (JSON) and their
    digest. ``active`` while that approval stands (a new round of the gate ends it);
    ``acknowledge`` holds the changes within tolerance waiting for an acknowledgement."""

    __tablename__ = "approved_snapshots"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    gate: str = Field(max_length=60, primary_key=True)
    round: int
    digest: str = Field(max_length=64)
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = True
    acknowledge: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    approved_at: datetime


class ChangeOwner(SQLModel, table=True):
    """A co-owner of a change: edits its stages beside its requester (and, like them, never
    decides on it)."""

    __tablename__ = "change_owners"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    added_at: datetime


class ChangeService(SQLModel, table=True):
    """A service a change affects, one row each (``changes.affected_services`` as rows), so the
    lists' service filter reads an index instead of every change's text."""

    __tablename__ = "change_services"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    service: str = Field(max_length=200, primary_key=True, index=True)


class ChangeHolder(SQLModel, table=True):
    """Everyone who has ever owned a change, as its requester or a co-owner: never removed,
    so a handover or a removal never lets a past owner decide on it."""

    __tablename__ = "change_holders"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    since: datetime


class PeerReview(SQLModel, table=True):
    """FITS's technical peer review of a release plan by a member of the support team other
    than its owners: approved, or returned with comments; ``digest`` is of the plan reviewed."""

    __tablename__ = "peer_reviews"

    id: int | None = Field(default=None, primary_key=True)
    change_id: int = Field(foreign_key="changes.id", index=True)
    reviewer_id: int = Field(foreign_key="users.id")
    outcome: str = Field(max_length=10)  # approve | return
    comments: str = Field(default="", sa_column=Column(Text, nullable=False))
    digest: str = Field(max_length=64)
    reviewed_at: datetime


class Absence(SQLModel, table=True):
    """An approver away from ``first_day`` to ``last_day`` (school days, inclusive): their
    substitute receives and may make their decisions meanwhile."""

    __tablename__ = "absences"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    substitute_id: int = Field(foreign_key="users.id", index=True)
    first_day: date
    last_day: date
    reason: str = Field(default="", max_length=500)
    created_by: str = Field(default="", max_length=320)
    created_at: datetime
    cancelled_at: datetime | None = None
    # The approver roles the substitute may decide in, given for this absence by the person
    # away or by administrators (space-separated).
    roles: str = Field(default="", max_length=400)
    # None while a second administrator has still to confirm an absence another recorded.
    confirmed_at: datetime | None = None


class GateReminder(SQLModel, table=True):
    """A reminder (or an escalation) sent for one round of a gate: each is sent once."""

    __tablename__ = "gate_reminders"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    gate: str = Field(max_length=60, primary_key=True)
    round: int = Field(primary_key=True)
    kind: str = Field(max_length=20, primary_key=True)  # reminder | escalation
    sent_at: datetime


class StandardTemplate(SQLModel, table=True):
    """A standard-change template: pre-approved, low-risk work done often. A requester
    proposes it, the CAB approves it through its own small workflow (domain.templates), and
    only an active template can be used, within its cost and services, by the roles it names."""

    __tablename__ = "standard_templates"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    services: str = Field(default="", max_length=2000)  # one per line, catalogue names
    max_cost: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    steps: str = Field(sa_column=Column(Text, nullable=False))
    backout_plan: str = Field(sa_column=Column(Text, nullable=False))
    used_by: str = Field(default="requester", max_length=500)  # roles, one per line
    state: str = Field(max_length=20, index=True)
    proposed_by: int = Field(foreign_key="users.id", index=True)
    created_at: datetime
    updated_at: datetime
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    # The CAB's comment when approving, its reason when rejecting, the reason for retiring.
    note: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The approval policy's screening answers for the work it covers (JSON: question → answer):
    # personal data or safeguarding bring the DPO's or the DSL's approval beside the CAB's.
    screening: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    # This round's approvals so far (JSON: role → who gave it); it is active once every
    # role it needs has approved.
    approvals: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    version: int = Field(default=1, sa_column=Column("version", Integer, nullable=False))
    # The school whose template it is (its people see and use it, its CAB approves it);
    # None: the trust's, for every school.
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)
    # What its uses are evidence of (evidence tags, one per line): each change raised from it
    # starts with them.
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class SsoIdentity(SQLModel, table=True):
    """A person's account at a sign-in provider (``[sso.NAME]``): bound at their first
    single sign-on, so the provider's subject, not only an email address that could be
    given to someone else later, names them from then on. ``mapped_roles`` and
    ``mapped_audiences`` are what the provider's groups gave at the last sign-in (JSON
    lists): only those are taken away when a group is; what an administrator gave stays."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_sso_subject"),
                      UniqueConstraint("provider", "user_id", name="uq_sso_user"))

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    subject: str = Field(max_length=255)
    user_id: int = Field(foreign_key="users.id", index=True)
    mapped_roles: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    mapped_audiences: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    created_at: datetime
    last_sign_in_at: datetime


class MaintenanceWindowRow(SQLModel, table=True):
    """A recurring slot agreed for routine work on a service (domain.maintenance_windows)."""

    __tablename__ = "maintenance_windows"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    service: str = Field(default="", max_length=100)  # "": every service
    weekdays: str = Field(max_length=20)  # "0,3": Monday and Thursday
    starts: str = Field(max_length=5)  # HH:MM, the school's time
    ends: str = Field(max_length=5)
    holds: str = Field(max_length=10)  # term, holidays or always
    notice_days: int = 0
    # The school whose window it is; None: the trust's, for every school.
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)
    created_at: datetime
    created_by: str = Field(default="", max_length=320)


class Recurrence(SQLModel, table=True):
    """Routine work raised again and again from a standard-change template (domain.recurrence)."""

    __tablename__ = "recurrences"

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="standard_templates.id", index=True)
    title: str = Field(max_length=200)
    rule: str = Field(max_length=300)  # an RRULE, or termly[:N]
    first_day: date
    starts: str = Field(max_length=5)  # HH:MM, the school's time
    minutes: int
    on_closed: str = Field(max_length=20)  # skip, or next_school_day
    ahead_days: int  # each occurrence is raised this many days before it
    cost: Decimal = Field(sa_column=Column(Numeric(12, 2), nullable=False))
    requester_id: int = Field(foreign_key="users.id", index=True)
    school_id: int = Field(default=1, foreign_key="schools.id", index=True)
    active: bool = True
    created_at: datetime


class RecurrenceOccurrence(SQLModel, table=True):
    """One day a recurrence named: the change raised for it, or none (skipped: no school)."""

    __tablename__ = "recurrence_occurrences"

    recurrence_id: int = Field(foreign_key="recurrences.id", primary_key=True)
    planned_on: date = Field(primary_key=True)
    happens_on: date | None = None
    change_id: int | None = Field(default=None, foreign_key="changes.id", index=True)
    created_at: datetime


class ChangeEvidence(SQLModel, table=True):
    """What a change is evidence of (domain.evidence): its tags, and for a security update the
    day its vendor released it (Cyber Essentials counts the days to our release)."""

    __tablename__ = "change_evidence"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    tags: str = Field(default="", sa_column=Column(Text, nullable=False))  # one per line
    vendor_released_on: date | None = None
    updated_at: datetime


class FilterRequest(SQLModel, table=True):
    """A web-filtering request (domain.filtering): a site or category to allow or block, why,
    for whom, until when; the safeguarding lead's decision with its reason, when it was applied
    on the filter and when put back. Its states are the lifecycle file's."""

    __tablename__ = "filter_requests"
    __table_args__ = (Index("ix_filter_requests_school_state", "school_id", "state", "id"),
                      Index("ix_filter_requests_asker", "asker_id", "id"),
                      Index("ix_filter_requests_decided", "school_id", "decided_at"))

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    asker_id: int = Field(foreign_key="users.id")
    created_at: datetime
    what: str = Field(max_length=300)
    action: str = Field(max_length=10)  # allow or block
    why: str = Field(sa_column=Column(Text, nullable=False))
    for_whom: str = Field(max_length=300)
    until: date | None = None
    state: str = Field(max_length=30)
    version: int = 1
    updated_at: datetime
    decision: str = Field(default="", max_length=40)  # the trigger that decided (agree, refuse…)
    decided_by: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = None
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    applied_by: int | None = Field(default=None, foreign_key="users.id")
    applied_at: datetime | None = None
    reverted_by: int | None = Field(default=None, foreign_key="users.id")
    reverted_at: datetime | None = None
    withdrawn_reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Asset(SQLModel, table=True):
    """Something the school owns that changes touch (domain.assets): the register's entry, its
    renewal dates (each raises a need ahead of time) and, once retired, its disposal evidence."""

    __tablename__ = "assets"
    __table_args__ = (Index("ix_assets_school_status", "school_id", "status", "id"),
                      # A tag is the school's once, case aside (NULL: no tag; NULLs never clash).
                      UniqueConstraint("school_id", "tag_key", name="uq_assets_school_tag"),
                      Index("ix_assets_warranty", "warranty_ends"),
                      Index("ix_assets_licence", "licence_ends"),
                      Index("ix_assets_subscription", "subscription_ends"),
                      Index("ix_assets_refresh", "refresh_on"))

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id")
    tag: str = Field(default="", max_length=60)
    tag_key: str | None = Field(default=None, max_length=60)  # the tag case-folded; None without one
    name: str = Field(max_length=200)
    kind: str = Field(default="", max_length=60)
    serial: str = Field(default="", max_length=100)
    location: str = Field(default="", max_length=200)
    status: str = Field(default="in_use", max_length=10)
    warranty_ends: date | None = None
    licence_ends: date | None = None
    subscription_ends: date | None = None
    refresh_on: date | None = None
    created_at: datetime
    updated_at: datetime
    retired_at: datetime | None = None
    wiped_on: date | None = None
    wiped_by: str = Field(default="", max_length=300)
    certificate: str = Field(default="", max_length=300)
    weee: str = Field(default="", max_length=300)


class ChangeAsset(SQLModel, table=True):
    """A change's link to an asset: it touches it (linked while planned), or — the register's
    update at close — it added, retired or replaced it."""

    __tablename__ = "change_assets"
    __table_args__ = (Index("ix_change_assets_asset", "asset_id", "change_id"),)

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    asset_id: int = Field(foreign_key="assets.id", primary_key=True)
    link: str = Field(max_length=10)
    created_at: datetime


class RegisterUpdate(SQLModel, table=True):
    """The register's update for a change was recorded (what it added, retired or replaced, or
    that it left the register as it was): closing a change that touches assets needs it."""

    __tablename__ = "register_updates"

    change_id: int = Field(foreign_key="changes.id", primary_key=True)
    recorded_by: int = Field(foreign_key="users.id")
    recorded_at: datetime
    unchanged: bool = False


class RenewalRaised(SQLModel, table=True):
    """A renewal date's need was raised (once per asset, date field and day)."""

    __tablename__ = "renewals_raised"

    asset_id: int = Field(foreign_key="assets.id", primary_key=True)
    field_name: str = Field(max_length=20, primary_key=True)
    due_on: date = Field(primary_key=True)
    change_id: int | None = Field(default=None, foreign_key="changes.id")
    created_at: datetime


class Provider(SQLModel, table=True):
    """An external IT provider organisation under contract to the school or trust: its people
    raise and implement changes as requesters (their contract role, and no other)."""

    __tablename__ = "providers"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    contract: str = Field(default="", max_length=300)  # the contract's reference
    contract_ends: date | None = None
    created_at: datetime


class ProviderMember(SQLModel, table=True):
    """A person of a provider organisation."""

    __tablename__ = "provider_members"
    __table_args__ = (Index("ix_provider_members_provider", "provider_id", "user_id"),)

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    provider_id: int = Field(foreign_key="providers.id")
