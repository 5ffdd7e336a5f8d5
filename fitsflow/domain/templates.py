"""Standard-change templates: what one holds, how it is checked, and its own small workflow.

A requester proposes a template; one of the policy's ``template_approvers`` (the CAB) who
did not propose it approves it (it becomes active) or rejects it with a reason (its
proposer may revise it, which proposes it again); an active template can be retired with
a reason. Only an active template can be used, and a change raised from it stays within
its cost and services."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import limits
from .errors import InvalidInput, NotAllowed
from .stages import amount_problem, parse_amount
from .text import text_field

PROPOSED, ACTIVE, REJECTED, RETIRED = "proposed", "active", "rejected", "retired"
STATES: tuple[str, ...] = (PROPOSED, ACTIVE, REJECTED, RETIRED)
STATE_TITLES = {
    PROPOSED: "Proposed, awaiting approval",
    ACTIVE: "Active",
    REJECTED: "Returned to its proposer",
    RETIRED: "Retired",
}


def ref_of(template_id: int) -> str:
    return f"STD-{template_id:04d}"


def parse_ref(value: str | int) -> int | None:
    """A template's id from its reference (STD-0007) or its number; None if neither."""
    text = str(value).strip().upper().removeprefix("STD-")
    if not text.isdigit() or len(text) > 9:
        return None
    return int(text)


# action → (the states it may be taken from, the state it leads to, who takes it)
APPROVER, PROPOSER = "approver", "proposer"
MOVES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "approve": ((PROPOSED,), ACTIVE, APPROVER),
    "reject": ((PROPOSED,), REJECTED, APPROVER),
    "revise": ((PROPOSED, REJECTED), PROPOSED, PROPOSER),
    "retire": ((ACTIVE,), RETIRED, APPROVER),
}
# Actions whose reason is required (approving may carry a comment).
NEEDS_REASON = ("reject", "retire")


def next_state(action: str, state: str) -> str:
    """The state ``action`` leads to from ``state``; NotAllowed names the actions possible."""
    move = MOVES.get(action)
    if move is None or state not in move[0]:
        allowed = [a for a, (sources, _, _) in MOVES.items() if state in sources]
        words = (f"“{action.capitalize()}” is not possible now: the template is "
                 f"“{STATE_TITLES.get(state, state)}”.")
        if allowed:
            words += f" Possible now: {', '.join(a.capitalize() for a in sorted(allowed))}."
        raise NotAllowed(action, state, allowed, words=words)
    return move[1]


def allowed_actions(state: str, *, approver: bool, proposer: bool) -> list[str]:
    """What this person may do to a template in ``state`` (a proposer never decides their own)."""
    return [
        a
        for a, (sources, _, who) in MOVES.items()
        if state in sources
        and ((who == APPROVER and approver and not proposer) or (who == PROPOSER and proposer))
    ]


@dataclass(frozen=True)
class TemplateData:
    """A template's content, checked."""

    title: str
    description: str
    services: tuple[str, ...]
    max_cost: Decimal
    steps: str
    backout_plan: str
    used_by: tuple[str, ...]
    screening: tuple[tuple[str, str], ...] = ()  # the policy's screening questions, answered


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [part for chunk in value.splitlines() for part in chunk.split(",")]
    if not isinstance(value, (list, tuple)):
        return []
    return list(dict.fromkeys(v.strip() for v in value if isinstance(v, str) and v.strip()))


def parse_template(data: Mapping[str, Any], *, roles: Iterable[str]) -> TemplateData:
    """Validate a template's fields (services are checked against the catalogue by the
    service); raise InvalidInput naming each bad field."""
    problems: dict[str, str] = {}
    title = text_field(data, "title", problems, required=True, maximum=limits.TITLE)
    description = text_field(data, "description", problems, required=False, maximum=limits.TEXT, lines=True)
    steps = text_field(data, "steps", problems, required=True, maximum=limits.TEXT, lines=True)
    backout = text_field(data, "backout_plan", problems, required=True, maximum=limits.TEXT, lines=True)
    services = _names(data.get("services", ()))
    if not services:
        problems["services"] = "name at least one service from the catalogue"
    elif len(services) > limits.SERVICES:
        problems["services"] = f"list at most {limits.SERVICES} services"
    raw_cost = data.get("max_cost", "")
    max_cost = parse_amount(raw_cost) if raw_cost not in (None, "") else None
    if max_cost is None:
        problems["max_cost"] = (amount_problem(raw_cost) if raw_cost not in (None, "") else None) \
            or "give the most a use may cost, such as 250.00"
    known = set(roles)
    used_by = _names(data.get("used_by") or ["requester"])
    unknown = [r for r in used_by if r not in known]
    if unknown:
        problems["used_by"] = f"unknown role {', '.join(unknown)[:200]} (one of: {', '.join(sorted(known))})"
    if problems:
        raise InvalidInput(problems)
    assert max_cost is not None
    return TemplateData(title, description, tuple(services), max_cost, steps, backout, tuple(used_by))


def use_problems(
    *,
    state: str,
    used_by: Iterable[str],
    actor_roles: Iterable[str],
    services: Iterable[str],
    allowed_services: Iterable[str],
    cost: Decimal | None,
    max_cost: Decimal,
    money: Any,
) -> dict[str, str]:
    """Why a change cannot be raised from this template as asked (empty: it can)."""
    problems: dict[str, str] = {}
    if state != ACTIVE:
        problems["template"] = (
            "this template is retired: it can no longer be used"
            if state == RETIRED
            else "this template is not approved yet"
        )
        return problems
    if not set(used_by) & set(actor_roles):
        problems["template"] = f"this template may be used by: {', '.join(used_by)}"
    outside = [s for s in services if s not in set(allowed_services)]
    if outside:
        problems["affected_services"] = (
            f"{', '.join(outside)[:300]} is outside the template (it covers: "
            f"{', '.join(allowed_services)[:300]})"
        )
    if cost is None:
        problems["cost"] = "give the estimated cost, such as 120.00"
    elif cost > max_cost:
        problems["cost"] = (
            f"{money(cost)} is above the template's most, {money(max_cost)}: "
            "raise a minor or larger change instead"
        )
    return problems
