"""Users: add one, or import a staff list as a school MIS exports it."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session
from werkzeug.security import generate_password_hash

from .. import security_log
from ..domain import limits, passwords
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN, RoleBook, needs_mfa
from ..domain.sorting import sort_problem
from ..domain.text import one_line_problem
from ..persistence import audit_store, auth_store, link_store, queries, school_store, user_store
from . import absences, account_notices, common, devices, invitations
from . import schools as school_service
from .common import unit_of_work
from .runtime import Runtime

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SPLIT = re.compile(r"[;|,\s]+")


@dataclass(frozen=True)
class UserSpec:
    name: str
    email: str
    roles: tuple[str, ...]
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    invited: int = 0  # emailed a link to choose a first password


def _words(value: str | Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = _SPLIT.split(value)
    return tuple(dict.fromkeys(w.strip().lower() for w in value if w and w.strip()))


def parse_user(book: RoleBook, name: str, email: str, roles: str | Iterable[str],
               audiences: str | Iterable[str]) -> UserSpec:
    """Validate one user; raise InvalidInput naming each bad field."""
    problems: dict[str, str] = {}
    name = (name or "").strip()
    email = (email or "").strip().lower()
    if problem := one_line_problem(name, limits.PERSON_NAME):
        problems["name"] = problem
    if not _EMAIL.match(email) or one_line_problem(email, limits.EMAIL):
        problems["email"] = f"'{email}' is not an email address"
    role_list, audience_list = _words(roles), _words(audiences)
    bad_roles = book.unknown_roles(role_list)
    if bad_roles:
        problems["roles"] = f"unknown role {', '.join(bad_roles)} (known: {', '.join(book.names)})"
    bad_aud = book.unknown_audiences(audience_list)
    if bad_aud:
        problems["audiences"] = (f"unknown audience {', '.join(bad_aud)} "
                                 f"(known: {', '.join(book.audience_names)})")
    if problems:
        raise InvalidInput(problems)
    return UserSpec(name, email, role_list, audience_list)


@dataclass(frozen=True)
class By:
    """The administrator acting through the pages or the API (the command line is the
    server operator's and trusted: it passes None)."""

    id: int
    label: str
    schools: frozenset[int] | None = None  # the schools whose people they manage (None: everyone)


def _save(rt: Runtime, session: Session, spec: UserSpec, password: str | None, actor_label: str,
          by: By | None = None) -> bool:
    """Create or update; return True when created. Through the pages or the API: nobody
    changes their own roles, approver and admin roles wait for a second administrator
    (when there are two), a password set for someone else must be changed at their first
    sign-in and ends their sessions and tokens, and the person is told."""
    at = rt.now()
    existing = queries.user_by_email(session, spec.email)
    before = sorted(queries.roles_of(session, existing.id)) if existing and existing.id else []
    name_before = existing.name if existing else ""
    added = set(spec.roles) - set(before)
    if by is not None and existing is not None and existing.id == by.id and set(spec.roles) != set(before):
        raise InvalidInput({"roles": "nobody changes their own roles: ask another administrator"})
    privileged = set(rt.roles.approvers) | {ADMIN}
    confirm = by is not None and rt.settings.accounts.confirm_privileged_grants \
        and user_store.active_admin_count(session) >= 2
    pending = sorted(added & privileged) if confirm else []
    # Taking a role from an administrator waits too: it is how one would get round the second.
    removing = sorted(set(before) - set(spec.roles)) if confirm and ADMIN in before else []
    roles_now = [r for r in spec.roles if r not in pending] + removing
    password_hash = generate_password_hash(password, method="scrypt") if password else None
    user_id, created = user_store.upsert(session, email=spec.email, name=spec.name,
                                         password_hash=password_hash, now=at)
    before_roles, before_aud = user_store.replace_roles(session, user_id, roles_now, spec.audiences)
    changed = created or name_before != spec.name or before_roles != sorted(roles_now) \
        or before_aud != sorted(spec.audiences)
    if changed or removing:
        security_log.event("user.created" if created else "user.updated", by=actor_label,
                           email=spec.email, roles=sorted(roles_now), roles_before=before_roles)
        audit_store.append(session, actor=actor_label, change_ref="",
                           event_type="user.created" if created else "user.updated",
                           payload={"email": spec.email, "name": spec.name, "name_before": name_before,
                                    "roles": {"before": before_roles, "after": sorted(roles_now)},
                                    "audiences": {"before": before_aud,
                                                  "after": sorted(spec.audiences)}})
    for role in pending:
        assert by is not None
        user_store.add_grant(session, user_id=user_id, role=role, requested_by=by.id, at=at)
        audit_store.append(session, actor=actor_label, change_ref="", event_type="role.grant_requested",
                           payload={"email": spec.email, "role": role})
        security_log.event("role.grant_requested", by=actor_label, email=spec.email, role=role)
    for role in removing:
        assert by is not None
        user_store.add_grant(session, user_id=user_id, role=role, requested_by=by.id, at=at, act="remove")
        audit_store.append(session, actor=actor_label, change_ref="", event_type="privileged.requested",
                           payload={"email": spec.email, "act": "remove", "role": role})
        security_log.event("privileged.requested", by=actor_label, email=spec.email, act="remove", role=role)
    if not created and before_roles != sorted(roles_now):
        # A token acts as its owner may now: a role given or taken away ends the old ones.
        auth_store.revoke_tokens(session, user_id, at=at)
        _second_factor_now_needed(rt, session, user_id, before_roles, roles_now, at)
    set_by_other = password is not None and by is not None and by.id != user_id
    if set_by_other:
        user_store.set_must_change_password(session, user_id, True)
        auth_store.revoke_sessions(session, user_id, now=at)
        devices.forget_all(session, user_id, at=rt.now())
        link_store.revoke_live(session, user_id, at=rt.now())  # an emailed link dies too
        auth_store.revoke_tokens(session, user_id, at=at)
        audit_store.append(session, actor=actor_label, change_ref="", event_type="user.password_set",
                           payload={"email": spec.email})
        security_log.event("user.password_set", by=actor_label, email=spec.email)
    if by is not None and (changed or pending or set_by_other):
        lines = [f"{actor_label} changed your fitsflow account."]
        if changed and not created and name_before != spec.name:
            lines.append(f"Name: {spec.name} (was {name_before}).")
        if changed and not created:
            lines.append(f"Roles: {', '.join(sorted(roles_now)) or 'none'}; audiences: "
                         f"{', '.join(sorted(spec.audiences)) or 'none'}.")
        if pending:
            lines.append(f"Waiting for a second administrator: {', '.join(pending)}.")
        if removing:
            lines.append("Taking away, once a second administrator (or you) confirms: "
                         f"{', '.join(removing)}.")
        if not created and before_roles != sorted(roles_now):
            lines.append("Your API tokens have ended: make new ones if you still need them.")
        if set_by_other:
            lines.append("Your password was set by an administrator: you will choose a new one when "
                         "you next sign in, and every session and API token of yours has ended.")
        lines.append("If you did not expect this, tell your head teacher or the school's data-protection "
                     "officer.")
        account_notices.tell(session, [user_id], subject="Your fitsflow account was changed",
                             body="\n".join(lines), at=at)
    return created


def _second_factor_now_needed(rt: Runtime, session: Session, user_id: int, before: Iterable[str],
                              after: Iterable[str], at: datetime) -> None:
    """Someone without a fitsflow password given a role that needs a second factor: their
    sessions end, so that they sign in again, with the provider's second factor (a session
    opened without one must not act with the role)."""
    person = user_store.get(session, user_id)
    if person is not None and person.password_hash is None and needs_mfa(after, rt.roles) \
            and not needs_mfa(before, rt.roles):
        auth_store.revoke_sessions(session, user_id, now=at)


def id_by_email(rt: Runtime, email: str) -> int | None:
    """The id of the user with this email, if there is one (the command line's --as)."""
    with rt.db.read() as session:
        user = queries.user_by_email(session, email[:400])
        return user.id if user is not None else None


def add_user(rt: Runtime, *, name: str, email: str, roles: str | Iterable[str] = (),
             audiences: str | Iterable[str] = (), password: str | None = None,
             actor_label: str = "cli", by: By | None = None, invite: bool = False) -> int:
    """Create a user (or update the one with that email); return its id. With ``invite``, a
    new user without a password is emailed a link to choose one."""
    spec = parse_user(rt.roles, name, email, roles, audiences)
    if password is not None:
        weak = passwords.problem(password, about=(spec.name, spec.email))
        if weak:
            raise InvalidInput({"password": weak})
    with unit_of_work(rt) as session:
        created = _save(rt, session, spec, password, actor_label, by)
        user = queries.user_by_email(session, spec.email)
        assert user is not None and user.id is not None
        if invite and created and password is None:
            invitations.send_invitation(rt, session, user.id, by_label=actor_label, at=rt.now())
        return user.id


_HEADERS = {"name": "name", "full name": "name", "email": "email", "email address": "email",
            "roles": "roles", "role": "roles", "audiences": "audiences", "audience": "audiences",
            "groups": "audiences"}


def parse_staff_csv(book: RoleBook, text: str) -> list[UserSpec]:
    """Read a staff list; raise InvalidInput with one entry per bad line."""
    return _parse_staff(book, text)[0]


def _parse_staff(book: RoleBook, text: str) -> tuple[list[UserSpec], frozenset[str]]:
    """The staff list's people and which of the columns roles and audiences it has (a list
    without one leaves everyone's as they are)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput({"file": "is empty"}) from None
    columns = {_HEADERS.get(h.strip().lower()): i for i, h in enumerate(header)}
    missing = [c for c in ("name", "email") if c not in columns]
    if missing:
        raise InvalidInput({"line 1": f"missing column {', '.join(missing)} "
                                      "(expected: name, email, roles, audiences)"})
    problems: dict[str, str] = {}
    specs: list[UserSpec] = []
    seen: dict[str, int] = {}

    def cell(row: list[str], key: str) -> str:
        index = columns.get(key)
        return row[index] if index is not None and index < len(row) else ""

    for row in reader:
        line = reader.line_num
        if not any(c.strip() for c in row):
            continue
        try:
            spec = parse_user(book, cell(row, "name"), cell(row, "email"), cell(row, "roles"),
                              cell(row, "audiences"))
        except InvalidInput as err:
            problems[f"line {line}"] = "; ".join(f"{k} {v}" for k, v in err.problems.items())
            continue
        if spec.email in seen:
            problems[f"line {line}"] = f"email {spec.email} already on line {seen[spec.email]}"
            continue
        seen[spec.email] = line
        specs.append(spec)
    if problems:
        raise InvalidInput(problems)
    return specs, frozenset(c for c in ("roles", "audiences") if c in columns)


@dataclass(frozen=True)
class PlannedUser:
    """What importing one line of a staff list will do to that person."""

    email: str
    name: str
    new: bool
    name_before: str = ""
    roles_added: tuple[str, ...] = ()
    roles_removed: tuple[str, ...] = ()
    audiences_added: tuple[str, ...] = ()
    audiences_removed: tuple[str, ...] = ()

    @property
    def changes(self) -> bool:
        return self.new or bool(self.name_before or self.roles_added or self.roles_removed
                                or self.audiences_added or self.audiences_removed)


@dataclass(frozen=True)
class ImportPlan:
    people: tuple[PlannedUser, ...]
    digest: str  # of what it will do: a confirmation made against another state is refused

    @property
    def changing(self) -> tuple[PlannedUser, ...]:
        return tuple(p for p in self.people if p.changes)


def _as_imported(session: Session, specs: list[UserSpec], columns: frozenset[str]) -> list[UserSpec]:
    """Each person as the import will leave them: a column the list lacks keeps what they have."""
    found = {u.email: int(u.id or 0) for u in queries.users_by_emails(session, [s.email for s in specs])}
    # (none known: nothing to read — an empty list would mean everyone's)
    roles, audiences = queries.roles_and_audiences(session, list(found.values())) if found else ({}, {})
    out = []
    for spec in specs:
        uid = found.get(spec.email)
        if uid is not None:
            spec = UserSpec(spec.name, spec.email,
                            spec.roles if "roles" in columns else tuple(sorted(roles.get(uid, []))),
                            spec.audiences if "audiences" in columns
                            else tuple(sorted(audiences.get(uid, []))))
        out.append(spec)
    return out


def plan_import(rt: Runtime, *, text: str) -> ImportPlan:
    """What importing this staff list would change, person by person, changing nothing."""
    specs, columns = _parse_staff(rt.roles, text)
    with rt.db.read() as session:
        return _plan(session, specs, columns)


def _plan(session: Session, specs: list[UserSpec], columns: frozenset[str]) -> ImportPlan:
    specs = _as_imported(session, specs, columns)
    found = {u.email: (int(u.id or 0), u.name)
             for u in queries.users_by_emails(session, [s.email for s in specs])}
    roles, audiences = queries.roles_and_audiences(session, [uid for uid, _ in found.values()]) \
        if found else ({}, {})
    people = []
    for spec in specs:
        if spec.email not in found:
            people.append(PlannedUser(spec.email, spec.name, True, roles_added=spec.roles,
                                      audiences_added=spec.audiences))
            continue
        uid, name = found[spec.email]
        had_roles, had_audiences = set(roles.get(uid, [])), set(audiences.get(uid, []))
        wanted_roles, wanted_audiences = set(spec.roles), set(spec.audiences)
        people.append(PlannedUser(
            spec.email, spec.name, False, name if name != spec.name else "",
            tuple(sorted(wanted_roles - had_roles)), tuple(sorted(had_roles - wanted_roles)),
            tuple(sorted(wanted_audiences - had_audiences)), tuple(sorted(had_audiences - wanted_audiences))))
    digest = hashlib.sha256(repr(people).encode()).hexdigest()
    return ImportPlan(tuple(people), digest)


def import_users(rt: Runtime, *, text: str, actor_label: str = "cli", by: By | None = None,
                 progress: Callable[[int], Any] | None = None, invite: bool = True,
                 expect: str | None = None) -> ImportResult:
    """Import every row or none: new emails are created, known ones updated (a column the
    list lacks leaves what they have). Each person created is emailed an invitation to choose
    a password (unless ``invite`` is False). ``expect``: the digest of the plan the
    administrator was shown (``plan_import``); refused if the import would now do otherwise."""
    specs, columns = _parse_staff(rt.roles, text)
    created = updated = 0
    with unit_of_work(rt) as session:
        # Checked inside the import's own transaction: nothing can change in between.
        if expect is not None and _plan(session, specs, columns).digest != expect:
            raise InvalidInput({"file": "the people in it changed since you checked what it would do: "
                                        "check again"})
        for spec in _as_imported(session, specs, columns):
            if _save(rt, session, spec, None, actor_label, by):
                created += 1
                if invite:
                    user = queries.user_by_email(session, spec.email)
                    assert user is not None and user.id is not None
                    invitations.send_invitation(rt, session, user.id, by_label=actor_label, at=rt.now())
            else:
                updated += 1
            if progress is not None:
                progress(1)
    return ImportResult(created, updated, created if invite else 0)


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    email: str
    active: bool
    roles: tuple[str, ...]
    audiences: tuple[str, ...]
    second_factor: bool = False
    has_password: bool = True


def _rows(session: Session, users: list[Any]) -> list[UserRow]:
    roles, audiences = queries.roles_and_audiences(session, [u.id for u in users])
    passwords_set = user_store.with_password(session, [u.id for u in users])
    return [UserRow(u.id, u.name, u.email, u.active, tuple(sorted(roles.get(u.id, []))),
                    tuple(sorted(audiences.get(u.id, []))), u.totp_enabled_at is not None,
                    u.id in passwords_set) for u in users]


def list_users(rt: Runtime, *, q: str = "", limit: int = 10_000, offset: int = 0) -> list[UserRow]:
    """Users by name, optionally only those whose name or email contains ``q``."""
    return page_users(rt, q=q, limit=limit, offset=offset)[0]


def holders(rt: Runtime, role: str, *, actor_id: int | None = None) -> list[tuple[int, str]]:
    """(id, name) of the active users holding ``role``, by name: a filter's choices, read
    without walking every member of staff — of the schools ``actor_id`` sees (None: all)."""
    with rt.db.read() as session:
        schools = common.load_actor(rt, session, actor_id).schools if actor_id is not None else None
        if schools is None:
            found = queries.users_with_roles(session, [role])
        else:
            found = sorted({uid for school in schools for uid in queries.users_with_roles(
                session, [role], school_id=school, across=rt.roles.trust_roles)})
        names = queries.names_of(session, found)
    return sorted(names.items(), key=lambda item: (item[1].lower(), item[0]))


def page_users(rt: Runtime, *, q: str = "", limit: int = 50, offset: int = 0,
               sort: str = "name", actor_id: int | None = None) -> tuple[list[UserRow], int]:
    """A page of users by name (or email: ``sort``), with how many match: those an
    administrator of some schools manages (``actor_id``), or everyone."""
    wrong = sort_problem(sort, queries.USER_SORTS)
    if wrong:
        raise InvalidInput({"sort": wrong})
    schools = require_admin(rt, actor_id).schools if actor_id is not None else None
    with rt.db.read() as session:
        rows, total = queries.user_page(session, q=q.strip(), limit=limit, offset=offset, sort=sort,
                                        schools=schools, trust_roles=rt.roles.trust_roles)
        return _rows(session, rows), total


def require_admin(rt: Runtime, actor_id: int, *, manages: int | None = None) -> By:
    """The acting administrator; NotPermitted for anyone else. An administrator of some
    schools manages their people and those of no school yet: ``manages``, anyone else, is
    not found (as another school's change is not)."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if ADMIN not in actor.roles:
            raise NotPermitted("managing users is for administrators")
        if manages is not None and actor.schools is not None:
            theirs = school_store.members_of(session, manages)
            # Someone in a trust role acts for every school: the trust's administrators'.
            trust = rt.roles.known(queries.roles_of(session, manages)) & set(rt.roles.trust_roles)
            if (theirs and not theirs & actor.schools) or trust:
                raise NotFound(f"no user {manages}")
    return By(actor.id, actor.label, actor.schools)


def check_manages(rt: Runtime, *, actor_id: int, user_id: int) -> None:
    """NotFound unless this administrator manages this person (the pages and the API ask
    before anything else about them)."""
    require_admin(rt, actor_id, manages=user_id)


def _trust_roles_problem(rt: Runtime, by: By, roles: Iterable[str]) -> None:
    given = sorted(set(roles) & set(rt.roles.trust_roles))
    if by.schools is not None and given:
        raise InvalidInput({"roles": f"{', '.join(given)} act for the whole trust: given by an administrator "
                                     "who does"})


def get_user(rt: Runtime, *, user_id: int) -> UserRow:
    with rt.db.read() as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        return _rows(session, [user])[0]


def create_user(rt: Runtime, *, actor_id: int, name: str, email: str, roles: Iterable[str],
                audiences: Iterable[str]) -> UserRow:
    """Add a new user (an admin only), emailed an invitation to choose a password; an email
    already in use is refused."""
    by = require_admin(rt, actor_id)
    spec = parse_user(rt.roles, name, email, roles, audiences)
    _trust_roles_problem(rt, by, spec.roles)
    with unit_of_work(rt) as session:
        if queries.user_by_email(session, spec.email) is not None:
            raise InvalidInput({"email": f"{spec.email} already belongs to a user"})
        _save(rt, session, spec, None, by.label, by)
        made = queries.user_by_email(session, spec.email)
        assert made is not None and made.id is not None
        invitations.send_invitation(rt, session, made.id, by_label=by.label, at=rt.now())
    with rt.db.read() as session:
        user = queries.user_by_email(session, spec.email)
        assert user is not None
        return _rows(session, [user])[0]


def update_user(rt: Runtime, *, actor_id: int, user_id: int, name: str, roles: Iterable[str],
                audiences: Iterable[str], active: bool, password: str | None = None,
                schools: Iterable[str] | None = None) -> UserRow:
    """Change a user's name, roles, audiences and whether they may sign in (an admin only);
    with ``password``, set one for them (audited; their sessions end and they are told); with
    ``schools`` (slugs), the schools they belong to."""
    by = require_admin(rt, actor_id, manages=user_id)
    if user_id == actor_id and not active:
        raise InvalidInput({"active": "you cannot deactivate yourself"})
    with rt.db.read() as session:
        user = user_store.get(session, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}")
        email, was_active = user.email, user.active
    spec = parse_user(rt.roles, name, email, roles, audiences)
    _trust_roles_problem(rt, by, spec.roles)
    if password is not None:
        weak = passwords.problem(password, about=(spec.name, spec.email))
        if weak:
            raise InvalidInput({"password": weak})
    with unit_of_work(rt) as session:
        _save(rt, session, spec, password, by.label, by)
        if schools is not None:
            school_service.set_in(session, user_id=user_id, email=email, slugs=schools, actor_label=by.label,
                                  allowed=by.schools)
        if active != was_active:
            is_admin = ADMIN in queries.roles_of(session, user_id)
            if not active and is_admin and rt.settings.accounts.confirm_privileged_grants \
                    and user_store.active_admin_count(session) >= 2:
                _ask_second_admin(rt, session, by, user_id, email, "deactivate")
            else:
                _set_active(rt, session, user_id=user_id, active=active, actor_label=by.label)
    return get_user(rt, user_id=user_id)


def _ask_second_admin(rt: Runtime, session: Session, by: By, user_id: int, email: str, act: str) -> None:
    """A privileged act on an administrator, kept waiting for a second one (or the person)."""
    at = rt.now()
    user_store.add_grant(session, user_id=user_id, role="", requested_by=by.id, at=at, act=act)
    audit_store.append(session, actor=by.label, change_ref="", event_type="privileged.requested",
                       payload={"email": email, "act": act})
    security_log.event("privileged.requested", by=by.label, email=email, act=act)
    account_notices.tell(session, [user_id], at=at,
                         subject="An administrator asked to deactivate your account",
                         body=f"{by.label} asked to deactivate your fitsflow account. It stays active until "
                              "a second administrator, or you, confirm it (Users and roles). If you did not "
                              "expect this, refuse it and tell your head teacher.", link="/admin/users")


def set_active(rt: Runtime, *, user_id: int, active: bool, actor_label: str) -> None:
    """Deactivate (or reactivate) a user; deactivation ends their sessions."""
    with unit_of_work(rt) as session:
        _set_active(rt, session, user_id=user_id, active=active, actor_label=actor_label)


def _set_active(rt: Runtime, session: Session, *, user_id: int, active: bool, actor_label: str) -> None:
    email = user_store.set_active(session, user_id, active)
    if email is None:
        raise NotFound(f"no user {user_id}")
    if not active:  # signed out everywhere; tokens revoked for good (reactivation revives none)
        auth_store.revoke_sessions(session, user_id, now=rt.now())
        devices.forget_all(session, user_id, at=rt.now())
        link_store.revoke_live(session, user_id, at=rt.now())  # an emailed link dies too
        auth_store.revoke_tokens(session, user_id, at=rt.now())
    security_log.event("user.activated" if active else "user.deactivated", by=actor_label, email=email)
    what = "reactivated" if active else "deactivated"
    account_notices.tell(session, [user_id], at=rt.now(), subject=f"Your fitsflow account was {what}",
                         body=f"{actor_label} {what} your account"
                              + ("." if active else "; every session and API token of yours has ended."))
    audit_store.append(session, actor=actor_label, change_ref="",
                       event_type="user.activated" if active else "user.deactivated",
                       payload={"email": email})


@dataclass(frozen=True)
class PendingGrant:
    id: int
    email: str
    name: str
    role: str
    requested_by: str
    requested_at: datetime
    act: str = "grant"  # grant | remove | deactivate | absence

    @property
    def what(self) -> str:
        """The act in words, for the page listing what waits."""
        return {"grant": f"Give the role {self.role}", "remove": f"Take away the role {self.role}",
                "deactivate": "Deactivate the account",
                "absence": "Absence with a substitute deciding for them"}.get(self.act, self.act)


def pending_grants(rt: Runtime) -> list[PendingGrant]:
    with rt.db.read() as session:
        return [PendingGrant(g.id or 0, email, name, g.role, asker, g.requested_at, g.act)
                for g, email, name, asker in user_store.pending_grants(session)]


def decide_grant(rt: Runtime, *, actor_id: int, grant_id: int, confirm: bool) -> None:
    """A second administrator confirms (or refuses) a privileged act another asked for: a
    role given, or taken away, a deactivation, an absence recorded for someone. Who asked
    never confirms; the person concerned may consent to what is taken from them (a role,
    their account, their decisions while away), never to what is given."""
    by = require_admin(rt, actor_id)
    at = rt.now()
    with unit_of_work(rt) as session:
        grant = user_store.get_grant(session, grant_id)
        if grant is None or grant.status != "pending":
            raise NotFound("no such request waiting")
        if by.id == grant.requested_by or (grant.act == "grant" and by.id == grant.user_id):
            raise NotPermitted("a second administrator, not the one who asked nor the person given the "
                               "role, must confirm it")
        person = user_store.get(session, grant.user_id)
        assert person is not None
        user_store.decide_grant(session, grant, confirmed=confirm, by=by.id, at=at)
        verb = "confirmed" if confirm else "refused"
        if grant.act == "grant":
            audit_store.append(session, actor=by.label, change_ref="", event_type=f"role.grant_{verb}",
                               payload={"email": person.email, "role": grant.role})
        else:
            audit_store.append(session, actor=by.label, change_ref="", event_type=f"privileged.{verb}",
                               payload={"email": person.email, "act": grant.act, "role": grant.role})
        if confirm and grant.act in ("grant", "remove"):
            auth_store.revoke_tokens(session, grant.user_id, at=at)
        if confirm and grant.act == "grant":
            held = queries.roles_of(session, grant.user_id)
            _second_factor_now_needed(rt, session, grant.user_id, held - {grant.role}, held, at)
        if confirm and grant.act == "deactivate":
            _set_active(rt, session, user_id=grant.user_id, active=False, actor_label=by.label)
        if grant.act == "absence" and grant.absence_id is not None:
            absences.settle_waiting(rt, session, grant.absence_id, confirmed=confirm)
        what = PendingGrant(0, person.email, person.name, grant.role, "", at, grant.act).what
        account_notices.tell(session, [grant.user_id, grant.requested_by], at=at,
                             subject=f"{what} for {person.name}: {verb}",
                             body=f"{by.label} {verb}: {what.lower()} for {person.name} ({person.email}).")
    security_log.event(f"role.grant_{verb}" if grant.act == "grant" else f"privileged.{verb}", by=by.label,
                       email=person.email, role=grant.role, act=grant.act)
