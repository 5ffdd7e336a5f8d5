"""Signing in with a school's provider (OpenID Connect): who the validated ID token names,
whether the school accepts them, the roles and audiences their groups give, and a session.

The protocol itself (redirects, PKCE, state, nonce, the ID token's signature, issuer,
audience and expiry) is the web layer's, with Authlib; this module receives claims that
passed those checks and decides what they mean here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from .. import security_log
from ..config import SsoProvider
from ..domain import limits
from ..domain import sso as rules
from ..domain.errors import NotFound, NotPermitted
from ..domain.roles import ADMIN, needs_mfa
from ..domain.text import one_line_problem
from ..persistence import (
    audit_store,
    auth_store,
    provider_store,
    queries,
    school_store,
    sso_store,
    user_store,
)
from ..persistence.models import SsoIdentity, User
from ..persistence.user_store import CONTRACT_ROLES
from . import account_notices, devices, throttle
from .auth import SessionUser, actor_of, open_session
from .common import unit_of_work
from .runtime import Runtime


class SignInRefused(NotPermitted):
    """The provider vouched for someone this school does not let in (the message says why,
    in words for that person)."""


@dataclass(frozen=True)
class ProviderView:
    name: str
    label: str


def providers(rt: Runtime) -> list[ProviderView]:
    """The providers people may sign in with, as the sign-in page offers them."""
    return [ProviderView(name, p.label) for name, p in rt.settings.sso.items()]


def provider(rt: Runtime, name: str) -> SsoProvider:
    found = rt.settings.sso.get(name)
    if found is None:
        raise NotFound(f"no sign-in provider {name[:20]}")
    return found


def stopped(rt: Runtime, *, name: str, address: str, reason: str) -> None:
    """A sign-in stopped at the protocol, before anyone was named (a forged or spent state, a
    refused code, an ID token that did not check out): the security log has it; the audit
    trail, which is about people, does not (anyone can send the callback anything)."""
    provider(rt, name)
    security_log.event("sso.stopped", provider=name, address=address, reason=reason[:300])


def _verified(claims: Mapping[str, Any], config: SsoProvider) -> bool:
    said = claims.get("email_verified")
    return said is True or said == "true" or (said is None and config.trust_email_without_verified)


@dataclass(frozen=True)
class _Plan:
    """What a sign-in gives: the roles and audiences the person holds after it, the roles
    the provider's rules now own (to take away when its groups stop giving them), and the
    approver roles waiting for an administrator's confirmation."""

    roles: list[str]
    audiences: list[str]
    owned_roles: set[str]
    owned_audiences: set[str]
    waiting: list[str]


def _plan(rt: Runtime, session: Session, config: SsoProvider, claims: Mapping[str, Any], user_id: int | None,
          identity: SsoIdentity | None) -> _Plan:
    """Roles follow the provider's groups: what its rules gave last time and no longer give
    goes; what they give now comes — except what the person held already from an
    administrator, which the rules never own (so never take away). An approver's role from
    a group waits for an administrator's confirmation where privileged grants are confirmed
    (``accounts.confirm_privileged_grants``), as one given on the users page would."""
    given_roles = set(rt.roles.known(rules.mapped(rules.parse_rules(config.roles), claims)))
    if user_id and provider_store.provider_of(session, user_id) is not None:
        given_roles &= set(CONTRACT_ROLES)  # an outside provider's person: their contract role alone
    given_audiences = set(rules.mapped(rules.parse_rules(config.audiences), claims)) \
        & set(rt.roles.audience_names)
    current = queries.roles_of(session, user_id) if user_id else set()
    current_audiences = queries.audiences_of(session, user_id) if user_id else set()
    owned_before, owned_audiences_before = sso_store.given(identity) if identity else (set(), set())
    own_roles = given_roles - (current - owned_before)
    own_audiences = given_audiences - (current_audiences - owned_audiences_before)
    confirm = rt.settings.accounts.confirm_privileged_grants and user_store.active_admin_count(session) >= 2
    waiting = sorted((own_roles - current) & set(rt.roles.approvers)) if confirm else []
    roles = sorted(((current - owned_before) | own_roles) - set(waiting))
    audiences = sorted((current_audiences - owned_audiences_before) | own_audiences)
    return _Plan(roles, audiences, own_roles, own_audiences, waiting)


def sign_in(rt: Runtime, *, name: str, claims: Mapping[str, Any], address: str = "",
            linking: int | None = None) -> SessionUser:
    """A session for the person a validated ID token names. Matched by the provider's subject
    once bound, else by a verified email within the provider's domains (a new person is
    created when the provider allows it); ``linking`` (someone signed in here, binding their
    provider account from My account) binds it to them. Roles and audiences follow the
    provider's groups (``_plan``). Someone whose roles need a second factor, or who has one
    here, must have used one at the provider (``require_mfa = "always"``: everyone). A
    refusal is audited and changes nothing else."""
    config = provider(rt, name)
    subject = claims.get("sub")
    email = str(claims.get("email") or "").strip().lower() if isinstance(claims.get("email"), str) else ""
    problem = ""
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        problem = f"{config.label} did not say who you are: try again"
    elif not email or one_line_problem(email, limits.EMAIL) or "@" not in email:
        problem = (f"{config.label} did not give your email address: ask your administrator to let this "
                   "application read it")
    if problem:
        _refuse(rt, name, email or "(none)", address, problem)
    assert isinstance(subject, str)
    at = rt.now()
    with unit_of_work(rt) as session:
        identity = sso_store.by_subject(session, name, subject)
        user = user_store.get(session, identity.user_id) if identity \
            else user_store.get(session, linking) if linking is not None \
            else queries.user_by_email(session, email)
        if identity is None:
            refused = _check_link(rt, session, config, name, claims, email, user, linking)
        else:
            refused = "that account is linked to another fitsflow account" \
                if linking not in (None, identity.user_id) else ""
        if not refused and user is not None and not user.active:
            refused = "your fitsflow account is switched off: ask your administrator"
        if not refused and user is not None and config.schools:
            refused = _school_problem(rt, session, config, user)
        plan = _plan(rt, session, config, claims, user.id if user else None, identity)
        wants_mfa = config.require_mfa == "always" or needs_mfa([*plan.roles, *plan.waiting], rt.roles) \
            or (user is not None and user.totp_enabled_at is not None)
        if not refused and wants_mfa and not rules.showed_second_factor(claims, config.mfa_acr):
            refused = (f"your account needs a second factor: sign in to {config.label} with one "
                       "(such as an authenticator app) and try again")
        who = user.email if user is not None else email
        if refused:
            audit_store.append(session, actor=who, change_ref="", event_type="auth.sign_in_failed",
                               payload={"email": who, "address": address, "provider": name,
                                        "reason": refused})
        else:
            user_id = _admit(rt, session, config, name=name, subject=subject, email=email, claims=claims,
                             identity=identity, user_id=user.id if user else None, plan=plan)
            who = user.email if user is not None else email
            session_id = open_session(session, user_id, at)
            audit_store.append(session, actor=who, change_ref="", event_type="auth.signed_in",
                               payload={"email": who, "address": address, "by": f"sso:{name}",
                                        "second_factor": rules.showed_second_factor(claims, config.mfa_acr)})
    if refused:
        security_log.event("sso.refused", provider=name, email=who, address=address, reason=refused)
        raise SignInRefused(refused)
    security_log.event("sign_in.ok", email=who, address=address, by=f"sso:{name}")
    return SessionUser(actor_of(rt, user_id), session_id)


def _school_problem(rt: Runtime, session: Session, config: SsoProvider, user: User) -> str:
    """A school's provider signs in that school's people (and the trust's, who act in every
    school): '' when this person is one of them."""
    assert user.id is not None
    if rt.roles.known(queries.roles_of(session, user.id)) & set(rt.roles.trust_roles):
        return ""
    held = school_store.members_of(session, user.id)
    theirs = {row.id for row in school_store.every(session) if row.slug in config.schools}
    if not held or held & theirs:
        return ""
    return (f"{config.label} signs in the people of another school: sign in with your own school's "
            "account")


def _refuse(rt: Runtime, name: str, email: str, address: str, reason: str) -> None:
    with unit_of_work(rt) as session:
        audit_store.append(session, actor=email, change_ref="", event_type="auth.sign_in_failed",
                           payload={"email": email, "address": address, "provider": name, "reason": reason})
    security_log.event("sso.refused", provider=name, email=email, address=address, reason=reason)
    raise SignInRefused(reason)


def _check_link(rt: Runtime, session: Session, config: SsoProvider, name: str, claims: Mapping[str, Any],
                email: str, user: User | None, linking: int | None) -> str:
    """Why this provider account may not be bound to ``user`` (or create one): '' when it may.
    Someone with a second factor here, or a password and a role that needs one, is bound
    only from My account after signing in with it (``linking``): an address at the provider
    alone must not open an administrator's or approver's account. (One with no password
    and no factor here had no way in but the provider.)"""
    if rules.email_domain(email) not in {d.lower() for d in config.domains}:
        return f"{email} is not an account of this school: sign in to {config.label} with your school account"
    if not _verified(claims, config):
        return f"{config.label} has not verified {email}: ask your administrator"
    if user is None:
        return "" if config.create_users else \
            f"there is no fitsflow account for {email}: ask your administrator for one"
    assert user.id is not None
    if linking is not None and user.email != email:
        return (f"that is the {config.label} account of {email}, not of {user.email}: sign in to "
                f"{config.label} as yourself")
    if sso_store.of_user(session, name, user.id) is not None:
        return f"{user.email} is already linked to another {config.label} account: ask your administrator"
    held = queries.roles_of(session, user.id)
    privileged = user.totp_enabled_at is not None or (user.password_hash is not None and (
        ADMIN in held or needs_mfa(held, rt.roles)))
    if privileged and linking is None:
        return (f"your fitsflow account has its own second factor or an approver's role: sign in with your "
                f"password first, then link {config.label} on My account")
    return ""


def _admit(rt: Runtime, session: Session, config: SsoProvider, *, name: str, subject: str, email: str,
           claims: Mapping[str, Any], identity: SsoIdentity | None, user_id: int | None, plan: _Plan) -> int:
    """Create or bind the person, and give them what the provider's groups give (in the
    sign-in's transaction)."""
    at = rt.now()
    if user_id is None:
        display = str(claims.get("name") or "").strip()
        display = display if display and not one_line_problem(display, limits.PERSON_NAME) \
            else email.partition("@")[0]
        user_id = sso_store.create_user(session, email=email, name=display, at=at)
        if config.schools:  # a school's provider: its people are that school's
            known = {row.slug: row.id for row in school_store.every(session)}
            school_store.set_schools(session, user_id, (known[s] for s in config.schools if s in known))
        audit_store.append(session, actor=f"sso:{name}", change_ref="", event_type="user.created",
                           payload={"email": email, "name": display, "by": f"sso:{name}"})
        security_log.event("user.created", by=f"sso:{name}", email=email)
    person = user_store.get(session, user_id)
    assert person is not None
    before_roles = queries.roles_of(session, user_id)
    before_audiences = queries.audiences_of(session, user_id)
    if identity is None:
        audit_store.append(session, actor=person.email, change_ref="", event_type="sso.bound",
                           payload={"email": person.email, "provider": name})
        if person.created_at < at:  # an account there was already: its owner hears of the link
            account_notices.tell(session, [user_id], at=at,
                                 subject=f"{config.label} linked to your fitsflow account",
                                 body=f"Your fitsflow account can now be opened by signing in to "
                                      f"{config.label} as {email}. If you did not expect this, tell your "
                                      "administrator now.")
    changed = set(plan.roles) != before_roles or set(plan.audiences) != before_audiences
    if changed:
        user_store.replace_roles(session, user_id, plan.roles, plan.audiences)
        audit_store.append(session, actor=f"sso:{name}", change_ref="", event_type="sso.roles_mapped",
                           payload={"email": person.email, "provider": name,
                                    "roles": {"before": sorted(before_roles), "after": plan.roles},
                                    "audiences": {"before": sorted(before_audiences),
                                                  "after": plan.audiences}})
        security_log.event("user.updated", by=f"sso:{name}", email=person.email, roles=plan.roles,
                           roles_before=sorted(before_roles))
        if set(plan.roles) != before_roles:
            auth_store.revoke_tokens(session, user_id, at=at)  # a token acts as its owner may now
            devices.forget_all(session, user_id, at=at)
    for role in plan.waiting:
        if user_store.add_grant(session, user_id=user_id, role=role, requested_by=user_id, at=at):
            audit_store.append(session, actor=f"sso:{name}", change_ref="", event_type="role.grant_requested",
                               payload={"email": person.email, "role": role, "by": f"sso:{name}"})
            label = rt.roles.label(role)
            throttle.alert_admins(session, f"{person.email} asks for {label} through {config.label}",
                                  f"{config.label}'s groups give {person.email} {label} by this school's "
                                  "sign-in rules. It waits for an administrator's confirmation (Users and "
                                  "roles); if that is wrong, refuse it and change the group at the "
                                  "provider.", at)
    if changed or plan.waiting:
        waiting = f" Waiting for an administrator: {', '.join(rt.roles.label(r) for r in plan.waiting)}." \
            if plan.waiting else ""
        held = ", ".join(rt.roles.label(r) for r in plan.roles) or "no role"
        account_notices.tell(session, [user_id], at=at, subject="Your fitsflow roles changed",
                             body=f"Your groups at {config.label} give you: {held}.{waiting}")
    sso_store.save(session, identity, provider=name, subject=subject, user_id=user_id,
                   roles=plan.owned_roles, audiences=plan.owned_audiences, at=at)
    return user_id


def linked_providers(rt: Runtime, *, user_id: int) -> list[ProviderView]:
    """The providers this person signs in with (the account page says so)."""
    with rt.db.read() as session:
        names = sso_store.providers_of(session, user_id)
    return [ProviderView(n, rt.settings.sso[n].label if n in rt.settings.sso else n) for n in names]


def unlink(rt: Runtime, *, email: str, name: str, actor_label: str = "cli") -> None:
    """Forget the binding of a person to their provider account (the provider made them a
    new one): their next sign-in there binds again, by email, as a first one would.
    Audited; they are told."""
    config = provider(rt, name)
    email = email.strip().lower()
    with unit_of_work(rt) as session:
        user = queries.user_by_email(session, email)
        if user is None or user.id is None or not sso_store.remove(session, name, user.id):
            raise NotFound(f"{email} has no {config.label} account linked")
        audit_store.append(session, actor=actor_label, change_ref="", event_type="sso.unlinked",
                           payload={"email": email, "provider": name})
        account_notices.tell(session, [user.id], at=rt.now(), subject=f"{config.label} unlinked",
                             body=f"{actor_label} unlinked your {config.label} account from fitsflow: your "
                                  f"next sign-in with {config.label} links it again.")
    security_log.event("sso.unlinked", by=actor_label, email=email, provider=name)
