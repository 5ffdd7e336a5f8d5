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


def deciding_role(actor_roles: Iterable[str], requirements: dict[str, int],
                  approvals_by_role: dict[str, int], wanted: str | None = None) -> str | None:
    """The role an approver decides in: the one asked for, else the first still short."""
    held = [r for r in requirements if r in set(actor_roles)]
    if wanted is not None:
        return wanted if wanted in held else None
    for role in held:
        if approvals_by_role.get(role, 0) < requirements[role]:
            return role
    return held[0] if held else None


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
