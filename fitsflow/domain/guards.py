"""Guards by name: each returns what is still missing (an empty list means it passes).

Workflow files refer to guards by these names only; nothing in a workflow file is
ever evaluated as code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .stages import CostLine, Needs, Pilot, ReleasePlan, Review
from .vocabulary import CLOSED, IN_REVIEW, RELEASED


@dataclass(frozen=True)
class Decision:
    role: str
    decision: str


class GuardSubject(Protocol):
    """What a guard may read about a change; services provide it lazily."""

    @property
    def category(self) -> str: ...
    @property
    def horizon_years(self) -> int: ...
    @property
    def needs(self) -> Needs | None: ...
    @property
    def cost_lines(self) -> tuple[CostLine, ...]: ...
    @property
    def release_plan(self) -> ReleasePlan | None: ...
    @property
    def review(self) -> Review | None: ...
    @property
    def gate_decisions(self) -> tuple[Decision, ...]: ...
    @property
    def gate_requirements(self) -> dict[str, int]: ...
    def role_label(self, role: str) -> str: ...
    @property
    def emergency(self) -> bool: ...
    @property
    def reason(self) -> str: ...
    @property
    def window_freezes(self) -> tuple[str, ...]: ...
    @property
    def window_cautions(self) -> tuple[str, ...]: ...
    @property
    def window_timing(self) -> str: ...
    @property
    def window_clashes(self) -> tuple[str, ...]: ...
    @property
    def policy_problems(self) -> list[str]: ...
    @property
    def screening_missing(self) -> tuple[str, ...]: ...
    @property
    def measures_required(self) -> bool: ...
    @property
    def pilot(self) -> Pilot | None: ...
    @property
    def feedback_problems(self) -> tuple[str, ...]: ...
    @property
    def unacknowledged_changes(self) -> tuple[str, ...]: ...
    @property
    def peer_review_problems(self) -> tuple[str, ...]: ...
    @property
    def window_opens_later(self) -> str: ...
    @property
    def register_problems(self) -> tuple[str, ...]: ...
    @property
    def unsent_notices(self) -> tuple[str, ...]: ...


Guard = Callable[[GuardSubject], list[str]]
GUARDS: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    """Register a guard under the name workflow files use."""

    def register(func: Guard) -> Guard:
        GUARDS[name] = func
        return func

    return register


# What the needs analysis must hold where a workflow asks for it (``needs_recorded``): each
# field, and what is said while it is empty. The needs form marks the same fields before
# anything is saved.
NEEDS_REQUIRED: dict[str, str] = {"need": "no needs analysis", "stakeholders": "no stakeholders consulted",
                                  "options_considered": "no options considered",
                                  "success_measures": "no success measure (what success looks like, how "
                                                      "and by when it will be checked)"}


@guard("needs_recorded")
def needs_recorded(s: GuardSubject) -> list[str]:
    needs = s.needs
    if needs is None or not needs.need:
        return [NEEDS_REQUIRED["need"]]
    missing = [said for field, said in NEEDS_REQUIRED.items()
               if field not in ("need", "success_measures") and not getattr(needs, field)]
    missing.extend(f"screening not answered: {q}" for q in s.screening_missing)
    if s.measures_required and not needs.measures:
        missing.append(NEEDS_REQUIRED["success_measures"])
    return missing


@guard("peer_reviewed")
def peer_reviewed(s: GuardSubject) -> list[str]:
    """FITS's technical peer review approved the release plan as it stands (for the
    categories the approval policy names)."""
    return list(s.peer_review_problems)


@guard("approval_current")
def approval_current(s: GuardSubject) -> list[str]:
    """What changed since approval, within tolerance, has been acknowledged."""
    return [f"not yet acknowledged since approval: {line}" for line in s.unacknowledged_changes]


@guard("policy_satisfied")
def policy_satisfied(s: GuardSubject) -> list[str]:
    """The category is not lighter than the approval policy requires for the facts, and
    what the screening asks for (a DPIA reference) is there."""
    return list(s.policy_problems)


@guard("financial_plan_recorded")
def financial_plan_recorded(s: GuardSubject) -> list[str]:
    return [] if s.cost_lines else ["no financial plan (no cost lines)"]


def _year_ranges(years: list[int]) -> str:
    """Turn [2, 3, 4, 5] into '2–5' and [2, 4] into '2, 4' (years are 1-based)."""
    parts: list[str] = []
    start = prev = years[0]
    for year in [*years[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        parts.append(f"{start}–{prev}" if prev > start else str(start))
        if year is not None:
            start = prev = year
    return ", ".join(parts)


@guard("future_years_funded")
def future_years_funded(s: GuardSubject) -> list[str]:
    """Every year of the horizon has a cost line, and every line names its funding."""
    missing: list[str] = []
    covered = {line.year_offset for line in s.cost_lines}
    gaps = [offset + 1 for offset in range(s.horizon_years) if offset not in covered]
    if gaps:
        word = "years" if len(gaps) > 1 else "year"
        missing.append(f"{word} {_year_ranges(gaps)} unfunded")
    unfunded = sorted({line.year_offset + 1 for line in s.cost_lines if not line.funding_source})
    if unfunded:
        missing.append(f"no funding source for costs in year {_year_ranges(unfunded)}")
    return missing


@guard("release_plan_recorded")
def release_plan_recorded(s: GuardSubject) -> list[str]:
    plan = s.release_plan or ReleasePlan(None, None, "", "", "", "")
    missing = []
    if not plan.risk:
        missing.append("no risk assessment")
    if not plan.impact:
        missing.append("no impact assessment")
    if not plan.backout_plan:
        missing.append("no back-out plan")
    if not plan.test_plan:
        missing.append("no test plan")
    missing.extend(release_window_set(s))
    return missing


@guard("backout_plan_recorded")
def backout_plan_recorded(s: GuardSubject) -> list[str]:
    plan = s.release_plan
    return [] if plan and plan.backout_plan else ["no back-out plan"]


@guard("release_window_set")
def release_window_set(s: GuardSubject) -> list[str]:
    plan = s.release_plan
    if plan is None or plan.window_start is None or plan.window_end is None:
        return ["no release window"]
    return []


@guard("gate_quorum")
def gate_quorum(s: GuardSubject) -> list[str]:
    """Each role the gate needs has enough approvals in the current round."""
    missing = []
    for role, needed in s.gate_requirements.items():
        have = sum(1 for d in s.gate_decisions if d.role == role and d.decision == "approve")
        if have < needed:
            short = needed - have
            plural = "approval" if short == 1 else "approvals"
            missing.append(f"needs {short} more {plural} from {s.role_label(role)}")
    return missing


@guard("register_updated")
def register_updated(s: GuardSubject) -> list[str]:
    """A change that touches assets records the register's update before it closes (FITS: update
    the CMDB): what it added, retired or replaced, or that the register is unchanged."""
    return list(s.register_problems)


@guard("review_recorded")
def review_recorded(s: GuardSubject) -> list[str]:
    review = s.review
    if review is None or not review.outcome:
        return ["no post-implementation review"]
    needs = s.needs
    measures = needs.measures if needs else ()
    return [f"success measure not assessed: {m.statement}" for m, said in zip(measures, review.assessments,
                                                                             strict=False) if not said.result]


@guard("window_clear_of_freezes")
def window_clear_of_freezes(s: GuardSubject) -> list[str]:
    """No freeze in the release window (an emergency may go ahead with a reason); a caution
    period asks for a reason."""
    missing: list[str] = []
    if not (s.emergency and s.reason):
        tail = ": an emergency change may go ahead with a reason" if s.emergency \
            else ": choose another window"
        missing.extend(f"the window overlaps the freeze {period}{tail}" for period in s.window_freezes)
    if not s.reason:
        missing.extend(f"the window falls in the caution period {period}: give a reason to go ahead"
                       for period in s.window_cautions)
    return missing


@guard("window_timely")
def window_timely(s: GuardSubject) -> list[str]:
    """The window is ahead and leaves every audience its notice lead time (an emergency's
    notices go out at once instead)."""
    return [s.window_timing] if s.window_timing and not s.emergency else []


@guard("window_clear_of_clashes")
def window_clear_of_clashes(s: GuardSubject) -> list[str]:
    """No other change holds an overlapping window on a related service — or the person
    going ahead says why (recorded)."""
    if s.reason:
        return []
    return [f"the window clashes with {clash}: give a reason to go ahead" for clash in s.window_clashes]


@guard("window_started")
def window_started(s: GuardSubject) -> list[str]:
    """Released means released: not before the window opens, unless the person says why
    (recorded as an early release)."""
    if s.window_opens_later and not s.reason:
        return [f"the release window opens {s.window_opens_later}: give a reason to release early "
                "(it is recorded as an early release)"]
    return []


@guard("notices_settled")
def notices_settled(s: GuardSubject) -> list[str]:
    """No release notice is left as a draft or held: each is published or cancelled first."""
    return [f"{notice}: publish it now or cancel it with a reason" for notice in s.unsent_notices]


@guard("pilot_designed")
def pilot_designed(s: GuardSubject) -> list[str]:
    """An innovation study says what it tests, with whom and for how long."""
    pilot = s.pilot
    return [said for said, given in (("no hypothesis (what the pilot tests)", pilot and pilot.hypothesis),
                                      ("no trial group (who tries it)", pilot and pilot.trial_group),
                                      ("no duration (how many weeks)", pilot and pilot.weeks)) if not given]


@guard("pilot_outcome_recorded")
def pilot_outcome_recorded(s: GuardSubject) -> list[str]:
    """The evaluation decided: adopt, adapt or drop, with what was learnt."""
    pilot = s.pilot
    return [] if pilot is not None and pilot.outcome else ["no pilot outcome (adopt, adapt or drop)"]


@guard("feedback_settled")
def feedback_settled(s: GuardSubject) -> list[str]:
    """The review's 360° feedback has come from enough groups, or its time is up."""
    return list(s.feedback_problems)


# Guards every workflow's transitions into a state of these kinds carry, whether its file
# names them or not: no workflow, old version or custom file gets round them.
IMPLIED: dict[str, tuple[str, ...]] = {RELEASED: ("window_started", "notices_settled"),
                                       CLOSED: ("notices_settled",)}
# And those out of a state of these kinds (but to withdrawn: a change given up needs none).
IMPLIED_LEAVING: dict[str, tuple[str, ...]] = {IN_REVIEW: ("feedback_settled",)}
