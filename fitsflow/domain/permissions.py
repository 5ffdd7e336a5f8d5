"""Who may do what. Anything a workflow does not grant is denied."""

from __future__ import annotations

from collections.abc import Iterable

VIEW_ROLES = frozenset({"requester", "cab", "slt", "finance", "head", "auditor", "admin"})


def may_view_changes(roles: Iterable[str]) -> bool:
    """Audience-only users (staff, students, parents) see notices, not changes."""
    return bool(VIEW_ROLES.intersection(roles))


def may_fire(actor_roles: Iterable[str], granted: Iterable[str], *, is_requester: bool) -> bool:
    """A grant of 'requester' means the change's own requester; other roles count as held."""
    held = set(actor_roles)
    for role in granted:
        if role not in held:
            continue
        if role == "requester" and not is_requester:
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
