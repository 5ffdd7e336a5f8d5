"""``fitsflow user``: add users and import a staff list."""

from __future__ import annotations

from pathlib import Path

import click

from ..domain.roles import SYSTEM_ROLES
from ..services import invitations, mfa, sso, users
from .base import State, actor_id, echo, pass_state, progress


@click.group()
def user() -> None:
    """Manage users, their roles and audiences."""


@user.command("add")
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True,
              help="Repeat for several roles (the configured [roles]; see 'fitsflow user roles').")
@click.option("--audience", "audiences", multiple=True,
              help="Repeat for several audiences (the configured [audiences]).")
@click.option("--password", is_flag=False, flag_value="", default=None,
              help="Set a password; give the flag alone to be prompted.")
@pass_state
def add(state: State, name: str, email: str, roles: tuple[str, ...], audiences: tuple[str, ...],
        password: str | None) -> None:
    """Add a user (or update the one with that email). A new user without --password is
    emailed an invitation to choose one."""
    if password == "":
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    email = email.strip().lower()
    new = users.id_by_email(state.runtime, email) is None
    uid = users.add_user(state.runtime, name=name, email=email, roles=roles, audiences=audiences,
                         password=password, invite=True)
    echo(f"user {email} saved (id {uid})")
    if new and password is None:
        echo(_invited(state, email))


def _invited(state: State, who: str) -> str:
    rt = state.runtime
    days = rt.settings.accounts.invitation_days
    if invitations.by_email(rt):
        return f"invitation to choose a password sent to {who} (the link works once, for {days} days)"
    return (f"email is off ([smtp] enabled = false): the invitation to {who} waits in the outbox, parked, "
            "until it is on (then: fitsflow outbox retry --all)")


@user.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True,
              help="Say what importing would change, person by person, and change nothing.")
@pass_state
def import_(state: State, file: Path, dry_run: bool) -> None:
    """Import a staff list CSV (columns: name, email, roles, audiences).

    Every row is checked first; if any is bad, each bad line is reported and
    nothing is imported. Known emails are updated, new ones created; a column the
    list lacks leaves what people have. --dry-run first to see what it will do."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = file.read_text(encoding="cp1252")
    if dry_run:
        plan = users.plan_import(state.runtime, text=text)
        book = state.runtime.roles
        for p in plan.changing:
            what = ["new account"] if p.new else []
            what += [f"name was {p.name_before}"] if p.name_before else []
            roles = [("roles given", [book.label(k) for k in p.roles_added]),
                     ("roles taken away", [book.label(k) for k in p.roles_removed]),
                     ("audiences added", [book.audience_label(k) for k in p.audiences_added]),
                     ("audiences taken away", [book.audience_label(k) for k in p.audiences_removed])]
            what += [f"{verb}: {', '.join(names)}" for verb, names in roles if names]
            echo(f"{p.name} <{p.email}>: {'; '.join(what)}")
        echo(f"would import {file}: {sum(p.new for p in plan.changing)} new, "
             f"{sum(not p.new for p in plan.changing)} changed, {len(plan.people) - len(plan.changing)} "
             "unchanged; nothing changed (run again without --dry-run)")
        return
    rows = max(0, sum(1 for line in text.splitlines() if line.strip()) - 1)
    with progress(rows, "importing") as step:
        result = users.import_users(state.runtime, text=text, progress=step)
    echo(f"imported {file}: {result.created} created, {result.updated} updated")
    if result.invited:
        echo(_invited(state, f"{result.invited} new {'person' if result.invited == 1 else 'people'}"))


@user.command("invite")
@click.argument("email")
@pass_state
def invite(state: State, email: str) -> None:
    """Send (again) the invitation to choose a first password; the earlier link stops working."""
    rt = state.runtime
    uid = users.id_by_email(rt, email.strip().lower())
    if uid is None:
        raise click.ClickException(f"no user with the email {email.strip().lower()}")
    invitations.invite(rt, user_id=uid, by=None)
    echo(_invited(state, email.strip().lower()))


@user.command("list")
@pass_state
def list_(state: State) -> None:
    """List users with their roles and audiences."""
    for u in users.list_users(state.runtime):
        flag = "" if u.active else " (inactive)"
        echo(f"{u.email:<36} {u.name:<28} roles={','.join(u.roles) or '-'} "
             f"audiences={','.join(u.audiences) or '-'}{flag}")


@user.command("roles")
@pass_state
def roles_(state: State) -> None:
    """List the roles and audiences this school defines (configuration: [roles], [audiences])."""
    book = state.runtime.roles
    for name, label in book.labels.items():
        kind = "approver" if name in book.approvers else "built-in" if name in SYSTEM_ROLES else "role"
        mfa = " (second factor required)" if name in book.mfa_roles else ""
        echo(f"role      {name:<14} {kind:<9} {label}{mfa}")
    for audience in book.audiences.values():
        echo(f"audience  {audience.name:<14} {audience.tier:<9} {audience.label} "
             f"(notice {audience.lead_days} school days ahead)")


@user.command("mfa-reset")
@click.argument("email")
@pass_state
def mfa_reset(state: State, email: str) -> None:
    """Remove a user's second factor (lost phone and recovery codes): they set it up again at
    their next sign-in. Audited, their sessions end and they are told. For the server's
    operator, e.g. when the only administrator is locked out; otherwise Admin → Users."""
    rt = state.runtime
    found = [u for u in users.list_users(rt, q=email.strip().lower(), limit=5)
             if u.email == email.strip().lower()]
    if not found:
        raise click.ClickException(f"no user with the email {email.strip().lower()}")
    mfa.reset(rt, user_id=found[0].id, by=None)
    echo(f"second factor of {found[0].email} reset: they set it up again at their next sign-in")


@user.command("unlink-sso")
@click.argument("email")
@click.option("--provider", "name", required=True, help="The [sso.NAME] provider's name.")
@pass_state
def unlink_sso(state: State, email: str, name: str) -> None:
    """Unlink a person's account at a sign-in provider (the provider made them a new one, or
    it was linked in error): their next sign-in there links again, as a first one would.
    Audited; they are told."""
    sso.unlink(state.runtime, email=email, name=name)
    echo(f"{email.strip().lower()}: {name} account unlinked")


@user.command("absence")
@click.argument("email")
@click.option("--substitute", required=True, help="Who stands in (their email).")
@click.option("--from", "first_day", required=True, help="First day away, YYYY-MM-DD.")
@click.option("--to", "last_day", required=True, help="Last day away, YYYY-MM-DD.")
@click.option("--reason", default="")
@pass_state
def absence(state: State, email: str, substitute: str, first_day: str, last_day: str, reason: str) -> None:
    """Record an approver's absence: their substitute receives and may make their decisions."""
    from ..services import absences

    rt = state.runtime
    away = absences.record(rt, actor_id=actor_id(rt, email), substitute_email=substitute, first_day=first_day,
                           last_day=last_day, reason=reason)
    echo(f"{away.user} away {away.first_day} – {away.last_day}: {away.substitute} stands in")
