"""The API's contract: request and response bodies as pydantic models. The OpenAPI
document is generated from these, and every request is validated by them (strictly:
nothing is coerced), so the document and the behaviour cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from fitsflow.domain import cursor, limits
from fitsflow.domain.calendar import EFFECTS, KINDS
from fitsflow.domain.vocabulary import (
    CATEGORIES,
    COST_KINDS,
    FOLLOW_UP_CATEGORIES,
    MEASURE_RESULTS,
    PILOT_OUTCOMES,
    REVIEW_OUTCOMES,
    STAGES,
    USAGE_RESULTS,
)

T = TypeVar("T")

Text = Annotated[str, StringConstraints(max_length=limits.TEXT)]
Required = Annotated[str, StringConstraints(min_length=1, max_length=limits.TEXT, pattern=r"\S")]
# One line that is not blank.
FILLED_LINE = r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$"
Title = Annotated[str, StringConstraints(min_length=1, max_length=limits.TITLE, pattern=FILLED_LINE)]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=limits.PERSON_NAME,
                                              pattern=FILLED_LINE)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=limits.EMAIL,
                                         pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Amount = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$")]
Version = Annotated[int, Field(ge=1, le=limits.ID_MAX,
                               description="The version you read; a stale one gives 409 'stale'.")]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Kind = Literal[COST_KINDS]  # type: ignore[valid-type]
Outcome = Literal[REVIEW_OUTCOMES]  # type: ignore[valid-type]
RoleName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,19}$")]


class Body(BaseModel):
    """A request body: unknown fields, nulls where text is wanted and wrong types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    """One page of a list: the items, how many match in all, and where the page starts.
    Each list's page names it (``class ChangePage(Page[Change])``) for the OpenAPI document."""

    items: list[T]
    total: int = Field(description="How many match: exact unless ``more``.")
    limit: int
    offset: int
    more: bool = Field(default=False, description="The total was counted no further than 1,000 (or the end "
                                                  "of this page): there are more than ``total``.")


# --- errors -----------------------------------------------------------------------------

ErrorCode = Literal["invalid", "unauthenticated", "not_found", "not_permitted", "not_allowed",
                    "gate_not_satisfied", "stale", "method_not_allowed", "too_large", "too_many",
                    "unavailable", "in_progress", "idempotency_key_reused", "internal"]


class Error(Out):
    error: str = Field(description="What went wrong, for a person.")
    status: int
    code: ErrorCode = Field(description="What went wrong, for a program.")
    problems: dict[str, str] | None = Field(None, description="invalid: the problem with each field.")
    allowed: list[str] | None = Field(None, description="not_allowed: the actions possible now.")
    missing: list[str] | None = Field(None, description="gate_not_satisfied: what still blocks the action.")


# --- changes ------------------------------------------------------------------------------

class NewChange(Body):
    title: Title
    category: Category
    description: Text = ""
    affected_services: list[Annotated[str, StringConstraints(min_length=1, max_length=limits.SERVICE)]] = \
        Field(default_factory=list, max_length=limits.SERVICES)
    urgency: Annotated[str, StringConstraints(max_length=limits.REASON)] = Field(
        "", description="Emergency changes: the incident or reason it cannot wait for the normal "
                        "approvals (required).")
    emergency_purpose: Literal["restore", "protect", ""] = Field(
        "", description="Emergency changes (required): it restores a service that is down, or protects "
                        "one at immediate risk. Its spend above the policy's first band needs the policy's "
                        "approvers before release (protect) or before it closes (restore).")
    template: Annotated[str, StringConstraints(max_length=20)] | None = Field(
        None, description="Standard changes (required): the active template followed, e.g. STD-0003.")
    cost: Amount | None = Field(None, description="Standard changes (required): the estimated cost, "
                                "at most the template's max_cost.")
    school: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="The school it is for (its short name, as `fitsflow school list` shows): required "
                          "when the caller belongs to several. Several, separated by commas: a trust-wide "
                          "change affecting each of them.")


class OwnerChange(Body):
    email: Email = Field(description="The new owner: someone holding the requester role.")
    reason: Annotated[str, StringConstraints(min_length=1, max_length=limits.REASON, pattern=r"\S")]
    expected_version: Version | None = None


class CoOwner(Body):
    email: Email


class Reschedule(Body):
    window_start: datetime = Field(description="ISO 8601; without an offset, the school's time zone.")
    window_end: datetime
    reason: Annotated[str, StringConstraints(min_length=1, max_length=limits.REASON, pattern=r"\S")]
    expected_version: Version | None = None


class Unschedule(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=limits.REASON, pattern=r"\S")]
    expected_version: Version | None = None


class PeerReview(Body):
    outcome: Literal["approve", "return"]
    comments: Text = Field("", description="Required to return the plan.")
    expected_version: Version | None = None


class CategoryChange(Body):
    category: Category
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = ""
    expected_version: Version | None = None


class FollowUp(Body):
    title: Title
    description: Text = ""
    category: Literal[FOLLOW_UP_CATEGORIES] | None = Field(  # type: ignore[valid-type]
        None, description="Default: the reviewed change's category (or minor).")


class Change(Out):
    ref: str
    title: str
    description: str
    category: str
    workflow: str
    state: str
    state_title: str
    phase: Literal["planning", "delivery", "review"]
    version: int
    requester_id: int
    requester_name: str
    affected_services: list[str]
    parent_ref: str | None
    created_at: datetime
    updated_at: datetime
    urgency: str = Field(description="An emergency's reason why it could not wait.")
    emergency_purpose: str = Field("", description="An emergency's purpose: restore or protect.")
    template_ref: str = Field("", description="A standard change's template (see /templates).")


class Positions(BaseModel):
    """Where the pages either side start, for going on without an offset: an offset makes the
    server walk every row before the page; a position does not."""

    next_after: str | None = Field(None, description="Pass as ``after`` for the next page (null: none).")
    prev_before: str | None = Field(None, description="Pass as ``before`` for the page before (null: this "
                                                      "is the first, or the order has no positions).")


class ChangePage(Page[Change], Positions):
    pass


class QueueEntry(Out):
    """A change waiting for the caller's decision, with what the decision turns on."""
    change: Change
    gate: str = Field(description="The gate's title.")
    emergency: bool
    five_year_cost: str = Field(description="Planned cost over the horizon, e.g. 12500.00.")
    first_year_cost: str
    risk: str = Field(description="low, medium or high; empty until the risk assessment is complete.")
    window_start: datetime | None
    window_end: datetime | None
    waiting_since: datetime | None = Field(description="When this round of approval opened.")


class QueuePage(Page[QueueEntry]):
    pass


class RegisterGate(Out):
    title: str
    passed_at: datetime | None = Field(description="Null while the gate has not been passed.")
    approvers: list[str]
    reopened: bool = Field(description="It passed, then an edit beyond the policy's tolerance opened a new "
                                       "round: the approval does not stand until it passes again.")


class RegisterEntry(Out):
    """One change in the register: who raised it, each gate, the money, how it ended."""
    change: Change
    workflow_title: str
    gates: list[RegisterGate]
    five_year_cost: str
    actual_cost: str | None = Field(description="From the review; null until it is recorded.")
    outcome: str


class RegisterPage(Page[RegisterEntry], Positions):
    pass


# --- stages: what GET returns under "stages" is what PUT takes back ----------------------

# Answers to the approval policy's questions: question name → answer value (see
# GET /policy for the questions and the answers each takes).
AnswerName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
AnswerValue = Annotated[str, StringConstraints(max_length=40)]
Answers = Annotated[dict[AnswerName, AnswerValue], Field(max_length=40)]


MeasureText = Annotated[str, StringConstraints(min_length=1, max_length=limits.MEASURE_TEXT, pattern=r"\S")]


class SuccessMeasure(Body):
    statement: MeasureText = Field(description="What success looks like, measurably.",
                                   examples=["Every Year 7 class signs in to the new suite within 2 minutes"])
    method: MeasureText = Field(description="How it will be checked.")
    check_by: date = Field(description="The date by which it will be checked.")


class MeasureAssessment(Body):
    result: Literal[tuple(MEASURE_RESULTS) + ("",)] = Field(  # type: ignore[valid-type]
        "", description="met, partly or not_met; empty until assessed.")
    evidence: Text = Field("", description="What shows it (required with a result).")


class NeedsStage(Body):
    need: Required
    stakeholders: list[Annotated[str, StringConstraints(min_length=1, max_length=limits.STAKEHOLDER)]] = \
        Field(default_factory=list, max_length=limits.STAKEHOLDERS)
    sdp_priority: Annotated[str, StringConstraints(max_length=limits.SDP_PRIORITY)] = ""
    options_considered: Text = ""
    screening: Answers = Field(default_factory=dict, description="The policy's screening questions "
                               "answered (personal data, safeguarding): they bring in specialists.")
    dpia_reference: Annotated[str, StringConstraints(max_length=limits.DPIA_REFERENCE)] = Field(
        "", description="Required when personal data is processed in a new way.")
    success_measures: list[SuccessMeasure] = Field(
        default_factory=list, max_length=limits.SUCCESS_MEASURES,
        description="What success looks like; at least one before the change leaves needs analysis "
                    "(for the categories review.success_measures_for names).")


class CostLine(Body):
    year: int = Field(ge=1, le=10, description="Year of the plan, 1 = the first year.")
    kind: Kind
    amount: Amount = Field(examples=["1250.00"])
    funding_source: Annotated[str, StringConstraints(max_length=limits.FUNDING_SOURCE)] = ""
    description: Annotated[str, StringConstraints(max_length=limits.COST_DESCRIPTION)] = ""


class FinanceStage(Body):
    lines: list[CostLine] = Field(max_length=limits.COST_LINES)


class ReleasePlanStage(Body):
    window_start: datetime | None = Field(
        None, description="ISO 8601; without an offset, the school's time zone.")
    window_end: datetime | None = None
    backout_plan: Text = ""
    test_plan: Text = ""
    risk_answers: Answers = Field(default_factory=dict, description="The risk assessment answered; the "
                                  "level is scored from it (see risk_level).")
    impact: Text = ""
    training: Text = ""
    contact: Annotated[str, StringConstraints(max_length=limits.CONTACT)] = ""


class ReviewStage(Body):
    outcome: Outcome
    notes: Text = ""
    actual_costs: list[CostLine] = Field(default_factory=list, max_length=limits.COST_LINES)
    measures: list[MeasureAssessment] = Field(
        default_factory=list, max_length=limits.SUCCESS_MEASURES,
        description="The word on each success measure, in the needs analysis's order; each must be "
                    "assessed before the review closes.")
    refresh_on: date | None = Field(None, description="When what was bought needs refreshing or reaches "
                                                      "its end of life.")


class YearVariance(Out):
    year: int = Field(description="Year of the plan, 1 = the first year.")
    financial_year: str = Field(examples=["2026–27"])
    planned: str
    actual: str
    variance: str = Field(description="Actual − planned: above zero is an overspend.")


class UsageCheck(Out):
    ref: str
    title: str
    requester_name: str
    due_on: date
    overdue: bool
    result: str = Field(description="in_use, partly or not_used; empty until recorded.")
    evidence: str
    checked_at: datetime | None


class UsageCheckPage(Page[UsageCheck]):
    pass


class UsageAnswer(Body):
    result: Literal[tuple(USAGE_RESULTS)]  # type: ignore[valid-type]
    evidence: Required


class PilotStage(Body):
    hypothesis: Text = Field("", description="What the pilot tests.")
    trial_group: Annotated[str, StringConstraints(max_length=limits.MEASURE_TEXT)] = Field(
        "", description="Who tries it: classes, staff, rooms.")
    weeks: int | None = Field(None, ge=1, le=52, description="How long the trial runs, in weeks.")


class PilotOutcomeStage(Body):
    outcome: Literal[tuple(PILOT_OUTCOMES)]  # type: ignore[valid-type]
    learnt: Required = Field(description="What the pilot found.")
    adopt_category: Literal[tuple(FOLLOW_UP_CATEGORIES) + ("",)] = Field(  # type: ignore[valid-type]
        "", description="When adopting: the full change's category.")


class PilotView(Out):
    hypothesis: str
    trial_group: str
    weeks: int | None
    outcome: str
    learnt: str
    adopt_category: str


class Versioned(Body):
    expected_version: Version | None = None


class NeedsEdit(NeedsStage, Versioned):
    pass


class FinanceEdit(FinanceStage, Versioned):
    pass


class ReleasePlanEdit(ReleasePlanStage, Versioned):
    pass


class ReviewEdit(ReviewStage, Versioned):
    pass


class PilotEdit(PilotStage, Versioned):
    pass


class PilotOutcomeEdit(PilotOutcomeStage, Versioned):
    pass


class Stages(Out):
    needs: NeedsStage | None
    finance: FinanceStage
    release_plan: ReleasePlanStage | None
    review: ReviewStage | None
    pilot: PilotView | None = Field(None, description="An innovation study's design and outcome.")


class Approval(Out):
    gate: str
    round: int
    approver: str
    role: str
    decision: Literal["approve", "reject"]
    comment: str
    decided_at: datetime


class Action(Out):
    trigger: str
    title: str
    blocked_by: list[str] = Field(description="What still blocks it; empty when it can be taken now.")


class Gate(Out):
    name: str
    title: str
    requirements: dict[str, int]
    approvals: dict[str, int]
    missing: list[str]
    may_decide: bool
    why_not: str


class Approver(Out):
    role: str
    count: int
    why: list[str] = Field(description="The rules that ask for this role.")


class GateApprovers(Out):
    gate: str
    title: str
    current: bool = Field(description="true: fixed for the round under way; false: as the policy reads "
                                      "the change's facts now.")
    approvers: list[Approver]


class FieldChange(Out):
    field: str = Field(description="scope.field, e.g. release_plan.backout_plan.")
    title: str
    before: Any = Field(description="As approved.")
    after: Any = Field(description="Now.")


class SinceApproval(Out):
    gate: str
    title: str
    standing: bool = Field(description="true: the approval stands, the changes (within the policy's "
                                       "tolerance) await an acknowledgement; false: the gate was reopened.")
    changes: list[FieldChange]


class ChangeDetail(Out):
    change: Change
    stages: Stages
    since_approval: list[SinceApproval] = Field(description="What differs from what a gate approved.")
    risk_level: Literal["low", "medium", "high"] | None = Field(
        description="Scored from the release plan's risk assessment; null until it is complete.")
    risk_score: int | None
    approvers: list[GateApprovers] = Field(description="Who must approve at each gate, and why.")
    policy_problems: list[str] = Field(description="What the approval policy finds wrong, e.g. a "
                                                   "category lighter than the cost allows.")
    cost_by_year: list[str] = Field(description="Planned cost of each year of the horizon, year 1 first.")
    total_cost: str
    cost_variance: list[YearVariance] = Field(description="Planned against actual cost (from the review) "
                                                          "for each year of the horizon.")
    approvals: list[Approval]
    actions: list[Action]
    gate: Gate | None
    editable_stages: list[Literal[STAGES]]  # type: ignore[valid-type]
    follow_ups: list[str]
    may_follow_up: bool
    clashes: list[str] = Field(description="Other changes whose release window overlaps this one's on a "
                                           "related service, described (as the page, the email and the "
                                           "schedule show them).")
    window_freezes: list[str] = Field(description="Change freezes the release window falls in, with dates.")
    window_cautions: list[str] = Field(description="Caution periods the release window falls in, with dates.")


# --- actions and decisions --------------------------------------------------------------

class NoticeChoice(Body):
    id: int = Field(ge=1, le=limits.ID_MAX, description="A release notice of this change still unsent.")
    action: Literal["publish", "cancel"] = Field(description="Publish it now, or cancel it (with a reason).")
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = ""


class ActionRequest(Body):
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = Field(
        "", description="Why: for an action that undoes work, a release before its window, a freeze, "
                        "a caution period or a clash.")
    expected_version: Version | None = None
    notices: list[NoticeChoice] = Field(
        default_factory=list, max_length=50,
        description="A release or a close goes ahead only once no notice is a draft or held: "
                    "what to do with each still unsent.")


class Approve(Body):
    decision: Literal["approve"]
    comment: Text = ""
    role: RoleName | None = Field(None, description="For someone holding two of the gate's roles.")
    expected_version: Version | None = None
    on_behalf_of: int | None = Field(None, ge=1, le=limits.ID_MAX,
                                     description="A substitute deciding for this absent approver (user id).")


class Reject(Body):
    decision: Literal["reject"]
    comment: Required = Field(description="The reason: required to reject.")
    role: RoleName | None = None
    expected_version: Version | None = None
    on_behalf_of: int | None = Field(None, ge=1, le=limits.ID_MAX)


class DecisionResult(Out):
    change: Change
    outcome: Literal["pending", "passed", "rejected"]
    missing: list[str] = Field(description="pending: what the gate still needs.")


# --- audit --------------------------------------------------------------------------------

class AuditEvent(Out):
    seq: int
    at: str
    actor: str
    event_type: str
    payload: dict[str, object]


class ChangeAudit(Out):
    items: list[AuditEvent]


class TrailEvent(AuditEvent):
    change_ref: str
    prev_hash: str
    hash: str


class Trail(Out):
    items: list[TrailEvent]
    next_after: int


# --- people, notices ----------------------------------------------------------------------

class Me(Out):
    id: int
    name: str
    email: str
    roles: list[str]


class InboxItem(Out):
    id: int
    event: str
    change_ref: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class Inbox(Out):
    items: list[InboxItem]
    total: int = Field(description="How many notifications: exact unless ``more``.")
    unread: int
    limit: int
    offset: int
    more: bool = Field(default=False, description="The total was counted no further than 1,000 (or the end "
                                                  "of this page): there are more than ``total``.")
    next_after: str | None = Field(None, description="Pass as ``after`` for the next page (null: none).")
    prev_before: str | None = Field(None, description="Pass as ``before`` for the page before (null: this "
                                                      "is the first).")


class Unread(Out):
    unread: int


class NoticeDraft(Out):
    id: int
    audience: str
    tier: str
    subject: str
    body: str
    status: Literal["draft", "held", "published", "cancelled", "not_relevant"] = Field(
        description="held: it would go out at once, so it waits for the requester's word.")
    publish_at: datetime
    published_at: datetime | None
    recipients: int
    acknowledged: int
    not_acknowledged: int
    school: str = Field("", description="A trust-wide change's notice: the school whose people it goes to "
                                        "(empty for a change of one school).")


class NoticeDrafts(Out):
    items: list[NoticeDraft]


class NoticeRelease(Body):
    """The requester's word on a held (or draft) notice before it goes."""

    action: Literal["send_now", "send_at", "not_relevant"] = Field(
        description="send_now: publish it now; send_at: publish it at `at` (before the window starts); "
                    "not_relevant: it will not go to its audience (`reason` required).")
    at: str = Field(default="", max_length=40, description="For send_at: a date and time in the school's "
                                                           "zone, e.g. 2026-07-20T08:00.")
    reason: str = Field(default="", max_length=limits.REASON, description="Why (required for not_relevant).")


class NoticeEdit(Body):
    subject: Annotated[str, StringConstraints(min_length=1, max_length=limits.NOTICE_SUBJECT,
                                              pattern=FILLED_LINE)]
    body: Required


class Acknowledgements(Out):
    notice_id: int
    audience: str
    acknowledged: list[str]
    not_acknowledged: list[str]


class ReceivedNotice(Out):
    notice_id: int
    change_ref: str
    subject: str
    body: str
    received_at: datetime
    acknowledged_at: datetime | None
    correction: str = Field(description="Since it was sent, the release moved or was postponed: what it "
                                        "is now (empty if not).")
    corrected_at: datetime | None


class ReceivedNotices(Out):
    items: list[ReceivedNotice]


class User(Out):
    id: int
    name: str
    email: str
    active: bool
    roles: list[str]
    audiences: list[str]


class UserPage(Page[User]):
    pass


class NewUser(Body):
    name: PersonName
    email: Email
    roles: list[RoleName] = Field(default_factory=list, max_length=20)
    audiences: list[RoleName] = Field(default_factory=list, max_length=20)


class UserEdit(Body):
    name: PersonName
    roles: list[RoleName] = Field(max_length=20)
    audiences: list[RoleName] = Field(max_length=20)
    active: bool


class WorkflowState(Out):
    name: str
    title: str
    phase: str
    kind: str | None
    final: bool
    edits: list[str]


class WorkflowTransition(Out):
    trigger: str
    title: str
    sources: list[str]
    dest: str
    roles: list[str]
    guards: list[str]
    signal: str | None


class WorkflowGate(Out):
    name: str
    title: str
    state: str
    approve: str
    reject: str
    approvers: dict[str, dict[str, int]]


class Workflow(Out):
    name: str
    title: str
    description: str
    categories: list[str]
    initial: str
    states: list[WorkflowState]
    transitions: list[WorkflowTransition]
    gates: list[WorkflowGate]
    diagram: str = Field(description="Mermaid stateDiagram-v2 source.")


class Workflows(Out):
    items: list[Workflow]


# --- queries ------------------------------------------------------------------------------

class Query(BaseModel):
    """Query parameters: unknown ones are refused (a misspelt filter is an error, not 'nothing')."""

    model_config = ConfigDict(extra="forbid")


class Paging(Query):
    limit: int = Field(50, ge=1, le=limits.PAGE_MAX)
    offset: int = Field(0, ge=0, le=limits.OFFSET_MAX)


class RegisterFilters(Paging):
    """The filters of the changes list and of the register."""
    after: Annotated[str, StringConstraints(max_length=cursor.MAX_TEXT)] = Field(
        "", description="The next page: a previous page's ``next_after`` (with the same filters and sort); "
                        "``offset`` then only says how far in it is.")
    before: Annotated[str, StringConstraints(max_length=cursor.MAX_TEXT)] = Field(
        "", description="The page before: a page's ``prev_before``.")
    state: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        None, description="A state name of any loaded workflow (see /workflows).")
    category: Category | None = None
    requester: int | None = Field(None, ge=1, le=limits.ID_MAX, description="A requester's user id.")
    q: Annotated[str, StringConstraints(max_length=200)] = Field(
        "", description="Words to find (full text over reference, title, description, needs, services "
                        "and comments; each word may be the start of one).")
    phase: Literal["planning", "delivery", "review"] | None = None
    cost_min: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="Lowest planned five-year cost, e.g. 10000.")
    cost_max: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="Highest planned five-year cost.")
    created_from: Annotated[str, StringConstraints(max_length=10)] = Field(
        "", description="Raised on or after this day (YYYY-MM-DD, the school's time zone).")
    created_to: Annotated[str, StringConstraints(max_length=10)] = Field(
        "", description="Raised on or before this day (YYYY-MM-DD).")
    service: Annotated[str, StringConstraints(max_length=limits.SERVICE)] = Field(
        "", description="An affected service (its catalogue name).")
    sort: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="relevance (the best match first: the default with q), updated (the default "
                        "without q), created, ref, title, state, category or cost; - first for descending.")


class ChangeFilters(RegisterFilters):
    awaiting: Literal["me"] | None = Field(None, description="me: the changes waiting for my decision.")


class QueueOrder(Paging):
    sort: Literal["waiting", "-waiting", "cost", "-cost", "ref", "-ref", "title", "-title"] = Field(
        "waiting", description="Emergencies always come first; then by this (waiting: the longest first).")


class InboxFilters(Paging):
    unread: Literal["1"] | None = Field(None, description="1: only unread notifications.")
    after: Annotated[str, StringConstraints(max_length=cursor.MAX_TEXT)] = Field(
        "", description="The next page: a previous page's ``next_after``; ``offset`` then only says how far "
                        "in it is.")
    before: Annotated[str, StringConstraints(max_length=cursor.MAX_TEXT)] = Field(
        "", description="The page before: a page's ``prev_before``.")


class TrailQuery(Query):
    after: int = Field(0, ge=0, le=10**12, description="Events after this sequence number.")
    limit: int = Field(500, ge=1, le=2000)


class UserFilters(Paging):
    q: Annotated[str, StringConstraints(max_length=100)] = Field("", description="Part of a name or email.")
    sort: Literal["name", "-name", "email", "-email"] = "name"


# --- the school calendar --------------------------------------------------------------

PeriodKind = Literal[KINDS]  # type: ignore[valid-type]
PeriodEffect = Literal[EFFECTS]  # type: ignore[valid-type]
When = Annotated[str, StringConstraints(max_length=25)]


class Period(Out):
    id: int
    kind: PeriodKind
    title: str
    starts_at: datetime
    ends_at: datetime = Field(description="Exclusive.")
    first_day: date = Field(description="The first local day it touches.")
    last_day: date = Field(description="The last local day it touches.")
    effect: PeriodEffect = Field(description="freeze: changes may not be released in it; caution: only "
                                             "with a recorded reason; info: shown only.")
    reason: str
    school_id: int | None = Field(None, description="The school whose calendar it is in; null: the whole "
                                                    "trust's.")


class Removed(Out):
    id: int
    removed: bool = True


class PeriodPage(Page[Period]):
    pass


class PeriodBody(Body):
    kind: PeriodKind
    title: Annotated[str, StringConstraints(min_length=1, max_length=limits.TITLE)]
    start: When = Field(description="A day (YYYY-MM-DD, the whole day) or a local time (YYYY-MM-DDTHH:MM).")
    end: When = Field("", description="The last day (included) or the end time; empty: as start.")
    effect: PeriodEffect | Literal[""] = Field("", description="Empty: the kind's default (exams and "
                                                              "freezes freeze, mocks caution, others info).")
    reason: Annotated[str, StringConstraints(max_length=limits.PERIOD_REASON)] = ""
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="The school whose calendar it is in (its short name); empty: the whole trust's. "
                          "Omitted when changing a period: it stays where it is.")


class PeriodFilters(Paging):
    q: Annotated[str, StringConstraints(max_length=limits.SEARCH)] = Field("", description="Part of a title.")
    kind: PeriodKind | None = None
    start: date | None = Field(None, ge=date(limits.FIRST_YEAR, 1, 1), le=date(limits.LAST_YEAR, 12, 31),
                               description="Only periods touching this day or later.")
    end: date | None = Field(None, ge=date(limits.FIRST_YEAR, 1, 1), le=date(limits.LAST_YEAR, 12, 31),
                             description="Only periods touching this day or earlier.")


# --- the service catalogue --------------------------------------------------------------

ServiceName = Annotated[str, StringConstraints(min_length=1, max_length=limits.SERVICE)]


class ServiceOut(Out):
    id: int
    name: str
    description: str
    active: bool
    depends_on: list[str]
    school: str = Field("", description="The school whose own service it is (its short name); empty: the "
                                        "trust's, for every school.")


class ServicePage(Page[ServiceOut]):
    pass


class ServiceBody(Body):
    name: ServiceName
    description: Annotated[str, StringConstraints(max_length=limits.SERVICE_DESCRIPTION)] = ""
    depends_on: list[ServiceName] = Field(default_factory=list, max_length=limits.SERVICES)
    active: bool = True
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="A new service, in a trust: the school whose own it is (an administrator of some "
                          "schools: one of theirs, required when they have several). Left out by one who "
                          "acts in every school: the trust's.")


class ServiceFilters(Paging):
    q: Annotated[str, StringConstraints(max_length=limits.SEARCH)] = Field("", description="Part of a name.")


# --- the forward schedule -----------------------------------------------------------------

class ScheduleQuery(Query):
    start: date | None = Field(None, ge=date(limits.FIRST_YEAR, 1, 1), le=date(limits.LAST_YEAR, 12, 1),
                               description="The first day (default: today, in the school's timezone).")
    days: int = Field(28, ge=1, le=limits.SCHEDULE_DAYS, description="How many days from start.")
    service: Annotated[str, StringConstraints(max_length=limits.SERVICE)] = Field(
        "", description="Only releases touching this service, what it depends on or what depends on it.")
    state: Annotated[str, StringConstraints(max_length=60)] = Field(
        "", description="A state name of any loaded workflow (see /workflows).")
    category: Category | None = None


class ScheduledRelease(Out):
    ref: str
    title: str
    state: str
    state_title: str
    category: str
    window_start: datetime
    window_end: datetime = Field(description="Exclusive.")
    services: list[str]
    cancelled: bool = Field(description="Withdrawn or backed out: shown, never a clash.")
    clashes_with: list[str] = Field(description="References of the releases in range it clashes with.")


class ScheduleDay(Out):
    day: date
    school_day: bool
    shading: Literal["freeze", "caution", "closed", "school", "weekend"]
    notes: list[str] = Field(description="Bank holidays, holidays, exams, freezes and events that day.")
    releases: list[str] = Field(description="References of the releases whose window touches the day.")


class ForwardSchedule(Out):
    start: date
    end: date = Field(description="Exclusive.")
    releases: list[ScheduledRelease]
    days: list[ScheduleDay]
    periods: list[str] = Field(description="The freezes and caution periods in range, described.")


class ExceptionsQuery(Paging):
    start: date | None = Field(None, ge=date(limits.FIRST_YEAR, 1, 1), le=date(limits.LAST_YEAR, 12, 31),
                               description="The first day (default: 1 September of this school year).")
    end: date | None = Field(None, ge=date(limits.FIRST_YEAR, 1, 1), le=date(limits.LAST_YEAR, 12, 31),
                             description="The last day, included (default: today).")


class CalendarException(Out):
    seq: int = Field(description="The audit event's sequence number.")
    at: datetime
    ref: str
    kind: Literal["freeze.overridden", "caution.accepted", "clash.accepted"]
    actor: str
    reason: str
    details: list[str] = Field(description="The freezes, caution periods or clashing changes, described.")


class ExceptionCounts(Out):
    freeze_overridden: int
    caution_accepted: int
    clash_accepted: int


class CalendarExceptions(Out):
    start: date
    end: date
    counts: ExceptionCounts
    items: list[CalendarException]
    total: int
    limit: int
    offset: int


# --- the approval policy --------------------------------------------------------------------

class PolicyAnswer(Out):
    value: str
    label: str
    points: int


class PolicyQuestion(Out):
    name: str
    text: str
    answers: list[PolicyAnswer]


class PolicyRule(Out):
    """A rule bringing ``roles`` in at ``gate``: a cost band (above a five-year total), a risk
    rule (at a level) or a screening rule (a question answered a way; ``requires``: a field
    that must then be filled)."""

    gate: str
    roles: list[str]
    above: str | None = None
    level: str | None = None
    question: str | None = None
    answer: str | None = None
    requires: str | None = None


class PolicyCategory(Out):
    category: str
    max_cost: str | None
    max_risk: str | None


class Policy(Out):
    cost_bands: list[PolicyRule]
    risk_rules: list[PolicyRule]
    screening: list[PolicyRule]
    categories: list[PolicyCategory] = Field(description="Lightest first: the most each may cost over "
                                                         "five years and the highest risk it may carry.")
    risk_questions: list[PolicyQuestion]
    screening_questions: list[PolicyQuestion]
    medium_from: int
    high_from: int
    peer_review: list[str]



# --- absences and substitutes -----------------------------------------------------------------

class AbsenceBody(Body):
    substitute_email: Email
    first_day: date
    last_day: date
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    user_email: Email | Literal[""] = Field("", description="Admins: whose absence (empty: your own).")


class AbsenceOut(Out):
    id: int
    user: str
    substitute: str
    first_day: date
    last_day: date
    reason: str
    cancelled: bool
    confirmed: bool = Field(description="False while a second administrator has still to confirm an "
                                        "absence one recorded for someone else.")


class Absences(Out):
    items: list[AbsenceOut]


# --- standard-change templates ------------------------------------------------------------

TemplateState = Literal["proposed", "active", "rejected", "retired"]


class TemplateBody(Body):
    title: Title
    description: Text = ""
    services: list[Annotated[str, StringConstraints(min_length=1, max_length=limits.SERVICE)]] = Field(
        min_length=1, max_length=limits.SERVICES, description="Catalogue services a use may touch.")
    max_cost: Amount = Field(description="The most one use may cost.")
    steps: Required
    backout_plan: Required
    used_by: list[RoleName] = Field(["requester"], min_length=1, max_length=20,
                                    description="Roles whose holders may raise a change from it.")
    screening: dict[Annotated[str, StringConstraints(max_length=40)],
                    Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=dict, max_length=20,
        description="The approval policy's screening questions, answered (see /policy): personal "
                    "data or safeguarding bring the DPO's or the DSL's approval beside the CAB's.")
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Proposing, in a trust: the school whose template it is (its short name; one of "
                          "the caller's). Someone who acts in every school may leave it out: the trust's "
                          "template, for every school. Revising: ignored (a template stays whose it was).")
    evidence: list[Annotated[str, StringConstraints(max_length=40)]] | None = Field(
        None, max_length=20, description="Evidence tags (see /evidence) each change raised from it starts "
                                         "with; revising: left out, they stay as they were.")


class TemplateAction(Body):
    action: Literal["approve", "reject", "retire", "revise"] = Field(
        description="approve or reject (a template approver, not its proposer), retire (with a reason), "
                    "revise (its proposer, with template)")
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = Field(
        "", description="Required to reject or retire.")
    template: TemplateBody | None = Field(None, description="revise: the new content.")
    expected_version: Version | None = None


class TemplateApproval(Out):
    role: str = Field(description="The role (or roles) whose approval it needs.")
    given_by: str = Field(description="Who gave it; empty while it waits.")


class TemplateOut(Out):
    id: int
    ref: str
    title: str
    description: str
    services: list[str]
    max_cost: str
    steps: str
    backout_plan: str
    used_by: list[str]
    state: TemplateState
    state_title: str
    proposed_by: int
    proposed_by_name: str
    created_at: datetime
    updated_at: datetime
    decided_by_name: str
    decided_at: datetime | None
    note: str = Field(description="The last decision's comment or reason.")
    version: int
    uses: int = Field(description="How many changes were raised from it.")
    screening: dict[str, str] = Field(default_factory=dict, description="Its screening answers.")
    approvals: list[TemplateApproval] = Field(
        default_factory=list, description="Who must approve it (this round), and who has.")



class TemplatePage(Page[TemplateOut]):
    pass


class TemplateFilters(Paging):
    state: TemplateState | None = None
    q: Annotated[str, StringConstraints(max_length=limits.SEARCH)] = Field(
        "", description="Words in the title or description.")


Score = Annotated[int, Field(ge=1, le=5, description="1 poor … 5 very good")]


class FeedbackAnswer(Body):
    """One person's 360° feedback on a change's review."""

    meets_need: Score
    disruption: Score
    training: Score
    communication: Score
    worked: Text = Field("", description="What worked.")
    improve: Text = Field("", description="What to change next time.")


class Feedback(Out):
    ref: str
    title: str
    group: str = Field(description="The group the answer counts for: deciders, requester, a role (slt) or "
                                   "an audience (audience:staff).")
    open: bool = Field(description="Whether the review is still open to answers.")
    answered_at: datetime | None
    meets_need: int | None
    disruption: int | None
    training: int | None
    communication: int | None
    worked: str
    improve: str


class FeedbackGroup(Out):
    group: str
    title: str
    asked: int
    answered: int
    averages: dict[str, float | None]
    worked: list[str]
    improve: list[str]


class FeedbackSummary(Out):
    groups: list[FeedbackGroup]
    quorum: int = Field(description="Groups that must answer before the review may close.")
    answered_groups: int
    deadline: datetime | None = Field(description="When the review may close whatever the answers.")
    settled: bool = Field(description="Whether the feedback no longer holds the review open.")


class UsageFilters(Paging):
    status: Literal["due", "all", "checked"] = Field(
        "due", description="due: due by today and not recorded (overdue first); all: not yet recorded; "
                           "checked: recorded.")
    mine: Literal["", "1"] = Field("", description="1: only the caller's changes.")


class NewProposal(Body):
    what: Annotated[str, StringConstraints(min_length=1, max_length=limits.TITLE, pattern=r"\S")] = Field(
        description="What is needed, in a line.")
    why: Required = Field(description="The problem it solves, or what it would make possible.")
    affects: Text = Field("", description="Who it affects: classes, departments, staff, students.")
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="The school it is for (its short name): needed when the caller belongs to several.")


class Proposal(Out):
    id: int
    what: str
    why: str
    affects: str
    proposer_name: str
    created_at: datetime
    status: Literal["open", "raised", "merged", "declined"]
    change_ref: str | None = Field(description="The change it was raised as, or merged into.")
    change_state: str | None = Field(description="Where that change has got to, as its page says.")
    reason: str
    triaged_by: str | None
    triaged_at: datetime | None


class ProposalPage(Page[Proposal]):
    pass


class ProposalFilters(Paging):
    mine: Literal["", "0", "1"] = Field("", description="1 (the default for people who do not triage): mine "
                                                       "only; 0: everyone's (requesters).")
    status: Literal["", "open", "raised", "merged", "declined"] = ""


class Triage(Body):
    action: Literal["raise", "merge", "decline"]
    category: str = Field("", description="raise: the change's category (minor, significant, major, pilot).")
    ref: str = Field("", max_length=40, description="merge: the change it is part of.")
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = Field(
        "", description="Required to decline; the proposer reads it.")


_Short = Annotated[str, StringConstraints(max_length=300)]


class AssetFieldsIn(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
    tag: Annotated[str, StringConstraints(max_length=60)] = ""
    kind: Annotated[str, StringConstraints(max_length=60)] = ""
    serial: Annotated[str, StringConstraints(max_length=100)] = ""
    location: Annotated[str, StringConstraints(max_length=200)] = ""
    warranty_ends: date | None = None
    licence_ends: date | None = None
    subscription_ends: date | None = None
    refresh_on: date | None = None


class NewAsset(AssetFieldsIn):
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Its school (short name): needed when the caller belongs to several.")


class AssetImport(Body):
    csv: Annotated[str, StringConstraints(min_length=1, max_length=5_000_000)] = Field(
        description="CSV text: a header naming tag, name, kind, serial, location, warranty_ends, "
                    "licence_ends, subscription_ends, refresh_on (name required); every row or none.")
    school: Annotated[str, StringConstraints(max_length=40)] = ""


class Disposal(Body):
    wiped_on: date | None = None
    wiped_by: _Short = ""
    certificate: _Short = Field("", description="The wiping or destruction certificate's reference.")
    weee: _Short = Field("", description="The WEEE transfer note: who took it, its reference.")


class Asset(Out):
    id: int
    tag: str
    name: str
    kind: str
    serial: str
    location: str
    status: Literal["in_use", "retired"]
    warranty_ends: date | None
    licence_ends: date | None
    subscription_ends: date | None
    refresh_on: date | None
    retired_at: datetime | None
    wiped_on: date | None
    wiped_by: str
    certificate: str
    weee: str
    link: str = Field("", description="How the change touches it (touches, added, retired, replaced), in a "
                                      "change's list.")


class Imported(Out):
    count: int = Field(description="How many were imported.")


class AssetPage(Page[Asset]):
    pass


class AssetFilters(Paging):
    status: Literal["", "in_use", "retired"] = ""
    q: Annotated[str, StringConstraints(max_length=limits.SEARCH)] = ""


class AssetOut(Out):
    asset: Asset
    changes: list[list[str]] = Field(description="[ref, title, state, link] of each change that touched it.")


class ChangeAssetsOut(Out):
    assets: list[Asset]
    updated: bool = Field(description="The register's update is recorded (closing needs it once assets are "
                                      "linked).")
    unchanged: bool


class AssetLink(Body):
    asset: Annotated[str, StringConstraints(min_length=1, max_length=60)] = Field(
        description="The asset's number or tag.")
    remove: bool = False


class RegisterUpdate(Disposal):
    action: Literal["add", "retire", "replace", "unchanged"]
    asset: Annotated[str, StringConstraints(max_length=60)] = Field(
        "", description="retire, replace: the linked asset's number or tag.")
    new: AssetFieldsIn | None = Field(None, description="add, replace: the new asset.")


class ProviderBody(Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
    contract: Annotated[str, StringConstraints(max_length=300)] = ""
    contract_ends: date | None = None


class ProviderMemberBody(Body):
    email: Annotated[str, StringConstraints(min_length=3, max_length=limits.EMAIL)]
    provider: Annotated[str, StringConstraints(max_length=200)] = Field(
        "", description="The provider's name; empty: the person is no provider's.")


class ProviderOut(Out):
    id: int
    name: str
    contract: str
    contract_ends: date | None
    people: list[str] = Field(description="The emails of its people.")


class Providers(Out):
    items: list[ProviderOut]


class NewFilterRequest(Body):
    what: Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"\S")] = Field(
        description="The website's address, or the category of sites.")
    action: Literal["allow", "block"]
    why: Required = Field(description="What it is needed for, or the harm it would prevent.")
    for_whom: Annotated[str, StringConstraints(min_length=1, max_length=300, pattern=r"\S")] = Field(
        description="A class, a year group, staff, everyone.")
    until: date | None = Field(None, description="The last day it is wanted (none: for good).")
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="The school it is for (its short name): needed when the caller belongs to several.")


class FilterStepOut(Out):
    trigger: str
    title: str
    reason: bool = Field(description="A reason is asked for.")
    decision: bool = Field(description="It is the decision (the lifecycle's deciders', never the asker's).")


class FilterRequest(Out):
    id: int
    school: str
    what: str
    action: Literal["allow", "block"]
    why: str
    for_whom: str
    until: date | None
    asker_name: str
    created_at: datetime
    state: str = Field(description="Its state in the school's filtering lifecycle (filtering.toml).")
    state_title: str
    final: bool
    version: int = Field(description="Give it back as expected_version to act on what you read.")
    decision: str = Field(description="The step that decided it (agree, refuse…); empty until decided.")
    decision_title: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str
    applied_by: str | None
    applied_at: datetime | None
    reverted_by: str | None
    reverted_at: datetime | None
    withdrawn_reason: str
    overdue: bool = Field(description="Applied for a time that is over and not yet put back.")
    steps: list[FilterStepOut] = Field(description="What the caller may do now.")


class FilterRequestPage(Page[FilterRequest]):
    pass


class FilterFilters(Paging):
    view: Literal["", "todo", "mine", "all"] = Field(
        "", description="todo: waiting for a step of mine; mine: asked by me; all: every one of my schools' "
                        "(the log's readers). Default: the first that applies.")
    state: Annotated[str, StringConstraints(max_length=30)] = ""
    action: Literal["", "allow", "block"] = ""
    q: Annotated[str, StringConstraints(max_length=limits.SEARCH)] = Field(
        "", description="Text in the site or category, why, for whom or the reason.")


class FilterStep(Body):
    trigger: Annotated[str, StringConstraints(min_length=1, max_length=40)] = Field(
        description="A step the request's ``steps`` offers (agree, refuse, apply, revert, withdraw).")
    reason: Annotated[str, StringConstraints(max_length=limits.REASON)] = Field(
        "", description="Required where the step asks for one (a decision, a withdrawal).")
    expected_version: int | None = Field(None, ge=1, le=limits.ID_MAX)


class NewComment(Body):
    body: Required = Field(description="Markdown; shown sanitised.")


class Comment(Out):
    id: int
    author_name: str
    body: str
    created_at: datetime


class CommentPage(Page[Comment]):
    pass


class FileInfo(Out):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploader_name: str
    uploaded_at: datetime
    removed: bool


class Files(Out):
    items: list[FileInfo]


class ReportFilters(Query):
    term: int | None = Field(None, ge=1, le=limits.ID_MAX, description="A term of the calendar (its id).")
    year: int | None = Field(None, ge=2000, le=2100, description="The academic year starting that September.")
    start: date | None = Field(None, description="From this day; by default the academic year so far.")
    end: date | None = Field(None, description="To this day, inclusive.")
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="One of the caller's schools (its short name): the report of it alone. By default "
                          "every school the caller sees, rolled up by school (by_school).")


class ReportRate(Out):
    count: int
    of: int
    percent: float | None


class ReportGate(Out):
    gate: str
    stays: int
    median_days: float
    p90_days: float


class ReportSpend(Out):
    financial_year: str
    funding_source: str
    capital: bool
    planned: str
    actual: str


class ReportOut(Out):
    """Every figure of the report for SLT and governors (see the README's definitions)."""

    start: date
    end: date = Field(description="Exclusive.")
    title: str
    raised: int
    by_category: dict[str, dict[str, int]]
    rates: dict[str, ReportRate]
    gate_times: list[ReportGate]
    went_ahead: list[list[str]] = Field(description="[date, change, what, reason] each.")
    feedback: dict[str, dict[str, float | None]]
    acknowledgements: dict[str, ReportRate]
    measures: dict[str, int]
    spend: list[ReportSpend]
    refresh: list[list[str]] = Field(description="[change, title, refresh by] each.")
    proposals: dict[str, int]
    audit_count: int
    audit_head: str
    by_school: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="School → outcome → changes raised (a trust-wide change under its "
                                          "schools' names together); empty for a caller who sees one school.")
    school: str = Field("", description="The school the report is narrowed to (empty: every school seen).")


# --- maintenance windows ----------------------------------------------------------------

class MaintenanceWindowOut(Out):
    id: int
    title: str
    service: str = Field(description="The catalogue service it is for; empty: every service.")
    weekdays: list[str] = Field(description="mon … sun")
    starts: str = Field(description="HH:MM, the school's time.")
    ends: str
    when: Literal["term", "holidays", "always"] = Field(
        description="term: school days; holidays: the days that are not; always: both.")
    notice_days: int = Field(description="School days of notice a standard change inside it gives its "
                                         "audiences, in place of their lead times (0: none).")
    school: str = Field(description="The school whose window it is (its short name); empty: the trust's.")
    described: str


class MaintenanceWindows(Out):
    items: list[MaintenanceWindowOut]


class MaintenanceWindowBody(Body):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    service: Annotated[str, StringConstraints(max_length=limits.SERVICE)] = Field(
        "", description="A catalogue service; empty: every service.")
    weekdays: Annotated[str, StringConstraints(min_length=1, max_length=60)] = Field(
        description="The days it holds on, separated by commas: mon,tue,wed,thu,fri,sat,sun.")
    starts: Annotated[str, StringConstraints(max_length=5)] = Field(description="HH:MM (24-hour).")
    ends: Annotated[str, StringConstraints(max_length=5)] = Field(description="HH:MM, after starts.")
    when: Literal["term", "holidays", "always"] = "term"
    notice_days: int = Field(0, ge=0, le=20)
    school: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="In a trust: the school whose window it is (an administrator of some schools: one "
                          "of theirs). Left out by one who acts in every school: the trust's.")


class FreeSlotQuery(Query):
    service: Annotated[str, StringConstraints(min_length=1, max_length=limits.SERVICE)] = Field(
        description="The service the work affects.")
    minutes: int = Field(60, ge=5, le=1440, description="How long the work takes.")
    count: int = Field(3, ge=1, le=20)
    school: Annotated[str, StringConstraints(max_length=40)] = Field(
        "", description="In a trust, for someone of several schools: which school's windows and calendar.")


class FreeSlot(Out):
    starts: datetime
    ends: datetime
    window: str


class FreeSlots(Out):
    items: list[FreeSlot]


# --- recurring work -------------------------------------------------------------------------

class RecurrenceOut(Out):
    id: int
    title: str
    rule: str = Field(description="An iCalendar RRULE, or termly[:N].")
    template: str
    starts: str
    minutes: int
    on_closed: Literal["skip", "next_school_day"]
    ahead_days: int
    active: bool
    next_days: list[date] = Field(description="Its next school days (a few).")


class Recurrences(Out):
    items: list[RecurrenceOut]


class RecurrenceBody(Body):
    template: Annotated[str, StringConstraints(min_length=1, max_length=20)] = Field(
        description="The standard-change template (STD-0001).")
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    rule: Annotated[str, StringConstraints(min_length=1, max_length=300)] = Field(
        description="An iCalendar RRULE (FREQ=MONTHLY;BYDAY=1TU) or termly[:N] (the Nth school day of "
                    "a term).")
    first_day: date
    starts: Annotated[str, StringConstraints(max_length=5)] = Field(description="HH:MM, the school's time.")
    minutes: int = Field(60, ge=5, le=1440)
    on_closed: Literal["skip", "next_school_day"] = "next_school_day"
    ahead_days: int = Field(14, ge=1, le=60)
    cost: Annotated[str, StringConstraints(max_length=20)] = Field(
        "", description="Each occurrence's estimate; default: the template's most.")
    school: Annotated[str, StringConstraints(max_length=40)] = ""


class MissedOut(Out):
    ref: str
    title: str
    happens_on: date
    state_title: str


class MissedList(Out):
    items: list[MissedOut]


# --- evidence -------------------------------------------------------------------------------

class EvidenceTagOut(Out):
    name: str
    label: str
    group: str
    update_days: int | None = Field(None, description="A control measured from a vendor's release to ours, "
                                                      "within this many days (Cyber Essentials: 14).")


class EvidenceCatalogue(Out):
    items: list[EvidenceTagOut]


class EvidenceBody(Body):
    tags: list[Annotated[str, StringConstraints(max_length=40)]] = Field(max_length=20)
    vendor_released_on: date | None = Field(None, description="A security update: the day its vendor "
                                                              "released it.")
    expected_version: Version | None = None


class EvidenceOut(Out):
    tags: list[EvidenceTagOut]
    vendor_released_on: date | None
