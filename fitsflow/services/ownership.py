"""Who owns a change: its requester, who can hand it to another requester (as can the
roles in ``accounts.change_transfer_roles``, by default the head and admins), and its
co-owners, who edit its stages too. Nobody decides on a change they own or ever owned."""

from __future__ import annotations

from sqlmodel import Session

from ..domain import limits
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.roles import REQUESTER
from ..domain.text import one_line_problem
from ..persistence import audit_store, owner_store, queries, school_store
from ..persistence.change_store import ChangeRecord
from . import account_notices, common
from .common import unit_of_work
from .runtime import Runtime
from .views import ChangeView


def owns(session: Session, change: ChangeRecord, user_id: int) -> bool:
    """The requester or a co-owner."""
    return user_id == change.requester_id or owner_store.is_co_owner(session, change.id, user_id)


def ever_owned(session: Session, change: ChangeRecord, user_id: int) -> bool:
    """The requester or a co-owner now, or at any time before (a handover or a removal does
    not make someone impartial about a change they wrote)."""
    return user_id == change.requester_id or owner_store.ever_held(session, change.id, user_id)


def _may_manage(rt: Runtime, actor: Actor, change: ChangeRecord) -> None:
    if actor.id != change.requester_id and not actor.roles & rt.settings.accounts.transfer_roles:
        allowed = sorted(rt.settings.accounts.transfer_roles)
        raise NotPermitted("a change's owners are managed by its requester or by: "
                           + ", ".join(rt.roles.label(r) for r in allowed))


def _requester(rt: Runtime, session: Session, email: str, field: str,
               change: ChangeRecord) -> tuple[int, str, str]:
    user = queries.user_by_email(session, email or "")
    if user is None or user.id is None or not user.active:
        raise InvalidInput({field: "no active user with this email"})
    roles = rt.roles.known(queries.roles_of(session, user.id))
    if REQUESTER not in roles:
        raise InvalidInput({field: "must be someone who holds the requester role"})
    if not roles & set(rt.roles.trust_roles) and school_store.count(session) > 1 \
            and not school_store.members_of(session, user.id) & set(
                school_store.reach(session, change.school_id)):
        # An owner works at the change's school (else they could not even open it).
        raise InvalidInput({field: "must be someone at the change's school"})
    return user.id, user.name, user.email


def transfer(rt: Runtime, *, actor_id: int, ref: str, to_email: str, reason: str,
             expected_version: int | None = None) -> ChangeView:
    """Hand the change to another requester, with a reason (audited; both are told)."""
    reason = (reason or "").strip()
    if not reason or len(reason) > limits.REASON:
        raise InvalidInput({"reason": f"say why (up to {limits.REASON} characters)"})
    if wrong := one_line_problem(reason, limits.REASON):
        raise InvalidInput({"reason": wrong})
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        _may_manage(rt, actor, change)
        new_id, new_name, new_email = _requester(rt, session, to_email, "email", change)
        if new_id == change.requester_id:
            raise InvalidInput({"email": "already the change's requester"})
        common.check_version(change, expected_version)
        before_id, before_name = change.requester_id, change.requester_name
        change.requester_id, change.requester_name = new_id, new_name
        owner_store.remove(session, change.id, new_id)  # a co-owner who becomes the owner
        owner_store.remember(session, change.id, new_id, rt.now())
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref, event_type="change.transferred",
                           payload={"from": before_name, "to": new_name, "to_email": new_email,
                                    "reason": reason})
        account_notices.tell(session, [before_id, new_id], at=rt.now(), event="change_transferred",
                             subject=f"[{change.ref}] now owned by {new_name}: {change.title}"[:300],
                             body=f"{actor.name} handed {change.ref} ({change.title}) from {before_name} to "
                                  f"{new_name}.\nReason: {reason}", link=f"/changes/{change.ref}")
        return common.view_of(session, rt, change)


def add_co_owner(rt: Runtime, *, actor_id: int, ref: str, email: str) -> ChangeView:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        _may_manage(rt, actor, change)
        user_id, name, _ = _requester(rt, session, email, "email", change)
        if user_id == change.requester_id:
            raise InvalidInput({"email": "the change's requester owns it already"})
        if not owner_store.add(session, change.id, user_id, rt.now()):
            raise InvalidInput({"email": f"{name} is a co-owner already"})
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="change.co_owner_added", payload={"user": name})
        account_notices.tell(session, [user_id], at=rt.now(), event="change_transferred",
                             subject=f"[{change.ref}] you are now a co-owner: {change.title}"[:300],
                             body=f"{actor.name} made you a co-owner of {change.ref} ({change.title}): "
                                  "you may edit its stages.", link=f"/changes/{change.ref}")
        return common.view_of(session, rt, change)


def remove_co_owner(rt: Runtime, *, actor_id: int, ref: str, user_id: int) -> ChangeView:
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        _may_manage(rt, actor, change)
        names = {uid: name for uid, name, _ in owner_store.co_owners(session, change.id)}
        if user_id not in names or not owner_store.remove(session, change.id, user_id):
            raise InvalidInput({"user_id": "not a co-owner of this change"})
        common.touch(rt, change)
        audit_store.append(session, actor=actor.label, change_ref=change.ref,
                           event_type="change.co_owner_removed", payload={"user": names[user_id]})
        return common.view_of(session, rt, change)
