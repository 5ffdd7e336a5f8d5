"""Who may do what. Anything a workflow does not grant is denied."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from .roles import REQUESTER


def may_fire(actor_roles: Iterable[str], granted: Iterable[str], *, is_requester: bool) -> bool:
    """A grant of 'requester' means the change's own requester; other roles count as held."""
    held = set(actor_roles)
    for role in granted:
        if role not in held:
            continue
        if role == REQUESTER and not is_requester:
            continue
        return True
    return False


def voting_roles(actor_roles: Iterable[str], requirements: dict[str, int], approvals_by_role: dict[str, int],
                 others_holding: Callable[[str], int]) -> list[str]:
    """The roles one person's single vote at a gate may count for, best first: those still
    short of approvals, the one fewest others could fill first (a head who is also SLT counts
    as head while the head's approval is missing); every role they hold if none is short."""
    held = [r for r in requirements if r in set(actor_roles)]
    short = [r for r in held if approvals_by_role.get(r, 0) < requirements[r]]
    if len(short) > 1:  # only a choice needs the count (a query each)
        return sorted(short, key=others_holding)
    return short or held


def deciding_role(actor_roles: Iterable[str], requirements: dict[str, int],
                  approvals_by_role: dict[str, int], wanted: str | None = None, *,
                  others_holding: Callable[[str], int] = lambda _: 0,
                  approving: bool = True) -> str | None:
    """The role a decision counts for: the one asked for (if held, and — to approve — still
    short while another they hold is), else the best of ``voting_roles``. Raises ValueError
    naming the role to use when the one asked for needs no more approvals."""
    choices = voting_roles(actor_roles, requirements, approvals_by_role, others_holding)
    held = [r for r in requirements if r in set(actor_roles)]
    if wanted is None:
        return choices[0] if choices else None
    if wanted not in held:
        return None
    if approving and wanted not in choices:
        raise ValueError(choices[0])
    return wanted


def why_cannot_decide(*, actor_id: int, actor_roles: Collection[str], requester_id: int, gate_title: str,
                      requirements: dict[str, int], decided: Iterable[int],
                      label: Callable[[str], str]) -> str | None:
    """Why this person may not decide at this gate now, or None if they may."""
    if actor_id == requester_id:
        return "nobody may decide on their own change"
    if not set(actor_roles).intersection(requirements):
        return f"{gate_title} is decided by: {', '.join(label(r) for r in requirements)}"
    if actor_id in set(decided):
        return "you have already decided at this gate"
    return None
