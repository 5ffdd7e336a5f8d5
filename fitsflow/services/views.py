"""What services hand back: plain, detached values (never live database rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain import stages
from ..domain.policy import ApprovalPolicy, Requirement


@dataclass(frozen=True)
class ChangeView:
    ref: str
    title: str
    description: str
    category: str
    workflow: str
    state: str
    state_title: str
    phase: str
    version: int
    requester_id: int
    requester_name: str
    affected_services: tuple[str, ...]
    parent_ref: str | None
    created_at: datetime
    updated_at: datetime
    urgency: str = ""  # an emergency's reason why it cannot wait
    emergency_purpose: str = ""  # … and whether it restores a service that is down or protects one
    template_id: int | None = None  # a standard change's template …
    template_ref: str = ""  # … and its reference
    workflow_version: str = ""  # the version of its workflow it runs on
    school_id: int = 1  # the school it belongs to


@dataclass(frozen=True)
class ApprovalView:
    gate: str
    round: int
    approver: str
    role: str
    decision: str
    comment: str
    decided_at: datetime


@dataclass(frozen=True)
class Returned:
    """The last rejection: who sent the change back, at which gate, when and why."""

    gate_title: str
    approver: str
    role: str
    reason: str
    decided_at: datetime
    resubmitted: bool  # at the gate again since, in a new round


@dataclass(frozen=True)
class Action:
    """Something the viewer may do now; ``blocked_by`` lists what guards still miss."""

    trigger: str
    title: str
    blocked_by: tuple[str, ...] = ()
    # A reason lets it go ahead (a caution period; an emergency in a freeze).
    asks_reason: bool = False
    # It undoes the work (withdraw, back out): a reason is required and the page confirms
    # it on a step of its own.
    destructive: bool = False
    # What the reason is for, when one is asked.
    reason_label: str = "Reason for going ahead in this period (recorded)"
    # Release notices still unsent (id, what is wrong): the action asks what becomes of each.
    unsent: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class GateStatus:
    name: str
    title: str
    requirements: dict[str, int]
    approvals: dict[str, int]
    missing: tuple[str, ...]
    may_decide: bool
    why_not: str = ""
    # The roles the viewer may decide in (their own; after an escalation, those still short).
    decide_as: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateApprovers:
    """Who must approve at one gate and why: fixed for the round under way (``current``),
    otherwise as the approval policy reads the change's facts now."""

    gate: str
    title: str
    needs: tuple[Requirement, ...]
    current: bool


@dataclass(frozen=True)
class ChangeDetail:
    change: ChangeView
    needs: stages.Needs | None
    plan: stages.FinancialPlan
    release_plan: stages.ReleasePlan | None
    review: stages.Review | None
    approvals: tuple[ApprovalView, ...]
    actions: tuple[Action, ...]
    gate: GateStatus | None
    editable_stages: tuple[str, ...]
    follow_ups: tuple[str, ...] = field(default_factory=tuple)
    may_follow_up: bool = False
    # Freezes and caution periods the release window overlaps, described with their dates.
    window_freezes: tuple[str, ...] = ()
    window_cautions: tuple[str, ...] = ()
    # Other changes whose window overlaps on a related service, described.
    clashes: tuple[str, ...] = ()
    approvers: tuple[GateApprovers, ...] = ()
    # What the approval policy finds wrong: a category lighter than the facts, a missing DPIA.
    policy_problems: tuple[str, ...] = ()
    # Per gate that passed before: what differs from what it approved (a reopened round, or
    # changes within tolerance awaiting an acknowledgement), field by field.
    since_approval: tuple[Any, ...] = ()
    may_acknowledge: bool = False
    co_owners: tuple[tuple[int, str, str], ...] = ()  # (user id, name, email)
    may_manage_owners: bool = False
    may_move_release: bool = False  # scheduled, and the viewer owns it
    # FITS's technical peer review: (reviewer, outcome, comments, when, of the plan as it is now).
    peer_reviews: tuple[tuple[str, str, str, datetime, bool], ...] = ()
    peer_review_required: bool = False
    may_peer_review: bool = False
    # Absent approvers the viewer stands in for today and may decide for here: (id, name).
    on_behalf_options: tuple[tuple[int, str], ...] = ()
    returned: Returned | None = None
    pilot: stages.Pilot | None = None  # an innovation study's design and outcome
    assets: Any = None  # the assets it touches and the register's update (services.assets.ChangeAssets)
    policy: ApprovalPolicy | None = None  # its school's approval policy (its questions, its scoring)

    @property
    def total_cost(self) -> Decimal:
        return sum(self.plan.total_by_year(), Decimal("0"))

    @property
    def variance(self) -> tuple[stages.YearVariance, ...]:
        """Planned against actual cost for each year of the plan (actuals from the review)."""
        return stages.variance_by_year(self.plan.lines, self.review.actual_costs if self.review else (),
                                       self.plan.horizon_years)


@dataclass(frozen=True)
class DecisionResult:
    change: ChangeView
    outcome: str  # "pending", "passed" or "rejected" (gates.PENDING, PASSED, REJECTED)
    missing: tuple[str, ...]
