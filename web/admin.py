"""Administration: users and roles, the staff list import, the workflows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from fitsflow.domain.calendar import EFFECTS, KIND_TITLES, KINDS
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.domain.roles import ADMIN
from fitsflow.services import (
    calendar,
    catalogue,
    invitations,
    mfa,
    outbox,
    providers,
    schools,
    users,
    workflow_versions,
)
from fitsflow.services.queues import Page
from fitsflow.workflow import svg
from fitsflow.workflow.diagram import mermaid

from .access import ADMINS, access
from .dashboard import page_args
from .forms import whole
from .login import actor, runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _their_people_only() -> None:
    """An administrator of some schools reaches only their people (and those of no school
    yet): anyone else's page and every act on them is not found."""
    user_id = (request.view_args or {}).get("user_id")
    if user_id is not None and current_user.is_authenticated and ADMIN in actor().roles:
        users.check_manages(runtime(), actor_id=actor().id, user_id=int(user_id))


def _users_page(problems: dict[str, str] | None = None, form: Any = None,
                import_problems: dict[str, str] | None = None, status: int = 200) -> Any:
    book = runtime().roles
    limit, offset = page_args()
    q = request.args.get("q", "")[:200]
    sort = request.args.get("sort", "")[:20] or "name"
    rows, total = users.page_users(runtime(), q=q, limit=limit, offset=offset, sort=sort, actor_id=actor().id)
    invited = invitations.pending(runtime(), [u.id for u in rows if not u.has_password])
    return render_template("admin_users.html", page=Page(rows, total, limit, offset), q=q, sort=sort,
                           roles=book.labels, invited=invited, by_email=invitations.by_email(runtime()),
                           audiences=book.audiences, grants=users.pending_grants(runtime()),
                           problems=problems or {}, form=form or {},
                           import_problems=import_problems or {}), status


@bp.get("/users")
@access(ADMINS)
def user_list() -> Any:
    """Everyone, with roles and audiences."""
    return _users_page()


@bp.post("/users")
@access(ADMINS)
def save_user() -> Any:
    """Add a user. Someone already here is changed on their own page, which starts from
    what they have, so giving a role never wipes their audiences."""
    form = request.form
    email = form.get("email", "").strip().lower()
    existing = users.id_by_email(runtime(), email)
    if existing is not None:
        return _users_page({"email": f"{email} already belongs to someone: change their roles and audiences "
                                     "on their page (their name in the list below)"}, form, status=400)
    try:
        me = actor()
        users.add_user(runtime(), name=form.get("name", ""), email=email,
                       roles=form.getlist("roles"), audiences=form.getlist("audiences"),
                       password=form.get("password") or None, actor_label=me.label,
                       by=users.By(me.id, me.label), invite=True)
    except InvalidInput as err:
        return _users_page(err.problems, form, status=400)
    flash(f"Saved {email}." + ("" if form.get("password") else " " + _invited_text(email)))
    return redirect(url_for("admin.user_list"))


def _edit_page(user_id: int, problems: dict[str, str] | None = None, form: Any = None,
               status: int = 200) -> Any:
    person = users.get_user(runtime(), user_id=user_id)  # NotFound → 404
    book = runtime().roles
    invited = invitations.pending(runtime(), [person.id]) if not person.has_password else {}
    return render_template("admin_user_edit.html", person=person, roles=book.labels,
                           audiences=book.audiences, invited=invited.get(person.id),
                           problems=problems or {}, form=form, schools=schools.every_school(runtime()),
                           member_of=schools.of_person(runtime(), person.id)), status


@bp.get("/users/<int:user_id>")
@access(ADMINS)
def edit_user(user_id: int) -> Any:
    """One person's name, roles, audiences and whether they may sign in, as they are now."""
    return _edit_page(user_id)


@bp.post("/users/<int:user_id>")
@access(ADMINS)
def update_user(user_id: int) -> Any:
    """Save what was changed: the form starts from the person's roles and audiences, so what
    the administrator leaves alone stays as it was."""
    form = request.form
    try:
        person = users.update_user(runtime(), actor_id=actor().id, user_id=user_id, name=form.get("name", ""),
                                   roles=form.getlist("roles"), audiences=form.getlist("audiences"),
                                   active=form.get("active") == "1", password=form.get("password") or None,
                                   # Only a form that offered the schools says which (one school: none).
                                   schools=form.getlist("schools") if form.get("schools_shown") else None)
    except InvalidInput as err:
        return _edit_page(user_id, err.problems, form, status=400)
    waiting = [g.what for g in users.pending_grants(runtime()) if g.email == person.email]
    flash(f"Saved {person.name}." + (f" Waiting for a second administrator: {'; '.join(waiting)}."
                                     if waiting else ""))
    return redirect(url_for("admin.edit_user", user_id=user_id))


def _invited_text(who: str) -> str:
    if invitations.by_email(runtime()):
        return (f"An invitation to choose a password is on its way to {who} (the link works for "
                f"{runtime().settings.accounts.invitation_days} days).")
    return (f"Email is off, so the invitation to {who} waits in Delivery until it is on ([smtp]); or set "
            "a password for them here.")


@bp.post("/users/<int:user_id>/invite")
@access(ADMINS)
def invite(user_id: int) -> Any:
    """Send the invitation to choose a password again; the earlier link stops working."""
    me = actor()
    try:
        invitations.invite(runtime(), user_id=user_id, by=users.By(me.id, me.label))
    except InvalidInput as err:
        flash("; ".join(err.problems.values()))
        return redirect(url_for("admin.user_list"))
    email = users.get_user(runtime(), user_id=user_id).email
    flash(f"{_invited_text(email)} Any earlier link no longer works.")
    return redirect(url_for("admin.user_list"))


@bp.post("/users/<int:user_id>/active")
@access(ADMINS)
def set_active(user_id: int) -> Any:
    """Deactivate (ends their sessions) or reactivate a user."""
    active = request.form.get("active") == "1"
    if user_id == actor().id and not active:
        flash("You cannot deactivate yourself.")
        return redirect(url_for("admin.user_list"))
    if not active and request.form.get("confirm") != "1":
        # A step of its own: deactivating signs the person out everywhere at once.
        person = users.get_user(runtime(), user_id=user_id)  # NotFound → 404
        return render_template("admin_user_deactivate.html", person=person)
    users.set_active(runtime(), user_id=user_id, active=active, actor_label=actor().label)
    flash("User reactivated." if active else "User deactivated and signed out.")
    return redirect(url_for("admin.user_list"))


@bp.post("/users/<int:user_id>/mfa/reset")
@access(ADMINS)
def reset_mfa(user_id: int) -> Any:
    """Remove someone's second factor (lost phone and codes): audited, they are signed out
    everywhere and told, and they set it up again at their next sign-in."""
    me = actor()
    try:
        mfa.reset(runtime(), user_id=user_id, by=users.By(me.id, me.label))
    except (InvalidInput, NotPermitted) as err:
        flash(str(err) if isinstance(err, NotPermitted) else "; ".join(err.problems.values()))
        return redirect(url_for("admin.user_list"))
    flash("Second factor reset: they set it up again at their next sign-in.")
    return redirect(url_for("admin.user_list"))


@bp.post("/grants/<int:grant_id>")
@access(ADMINS)
def decide_grant(grant_id: int) -> Any:
    """A second administrator confirms or refuses a role another one gave."""
    confirm = request.form.get("decision") == "confirm"
    users.decide_grant(runtime(), actor_id=actor().id, grant_id=grant_id, confirm=confirm)
    flash("Role confirmed." if confirm else "Role refused.")
    return redirect(url_for("admin.user_list"))


@bp.post("/import")
@access(ADMINS)
def import_staff() -> Any:
    """Read a staff list CSV and show what importing it would change, person by person,
    before anything changes: every bad line reported, nothing half-imported."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _users_page(import_problems={"file": "choose a CSV file"}, status=400)
    raw = upload.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        plan = users.plan_import(runtime(), text=text)
    except InvalidInput as err:
        return _users_page(import_problems=err.problems, status=400)
    return _preview(plan, text, upload.filename)


def _preview(plan: users.ImportPlan, text: str, filename: str, status: int = 200,
             problem: str = "") -> Any:
    return render_template("admin_import_preview.html", plan=plan, text=text, filename=filename,
                           problem=problem), status


@bp.post("/import/confirm")
@access(ADMINS)
def import_confirm() -> Any:
    """Import the list the administrator checked: refused if it would now do otherwise."""
    text = request.form.get("text", "")
    filename = request.form.get("filename", "")[:200]
    me = actor()
    try:
        result = users.import_users(runtime(), text=text, actor_label=me.label, by=users.By(me.id, me.label),
                                    expect=request.form.get("digest", ""))
    except InvalidInput as err:
        try:
            plan = users.plan_import(runtime(), text=text)
        except InvalidInput:
            return _users_page(import_problems=err.problems, status=400)
        return _preview(plan, text, filename, status=409, problem="; ".join(err.problems.values()))
    flash(f"Imported: {result.created} created, {result.updated} updated."
          + (" " + _invited_text(f"{result.invited} new {'person' if result.invited == 1 else 'people'}")
             if result.invited else ""))
    return redirect(url_for("admin.user_list"))


@bp.get("/workflows")
@access(ADMINS)
def workflows() -> Any:
    """The loaded workflows, their gates and diagrams."""
    rt = runtime()
    items = [(wf.definition, mermaid(wf.definition)) for wf in rt.workflows]
    versions: dict[str, list[Any]] = {}
    for row in workflow_versions.versions_in_use(rt):
        versions.setdefault(row.workflow, []).append(row)
    # svg.render escapes every text it draws.
    pictures = {wf.name: Markup(svg.render(wf.definition)) for wf in rt.workflows}
    return render_template("admin_workflows.html", items=items, versions=versions, pictures=pictures)


@bp.get("/outbox")
@access(ADMINS)
def outbox_page() -> Any:
    """Delivery: counts by status, and parked notices with their errors."""
    return render_template("admin_outbox.html", counts=outbox.status_counts(runtime()),
                           parked=outbox.parked(runtime()))


@bp.post("/outbox/retry")
@access(ADMINS)
def outbox_retry() -> Any:
    """Queue parked notices again: one, or all."""
    one = whole(request.form.get("id", ""))
    ids = [one] if one is not None else None
    count = outbox.retry(runtime(), row_ids=ids, actor_label=actor().label)
    flash(f"{count} parked notice{'s' if count != 1 else ''} queued again.")
    return redirect(url_for("admin.outbox_page"))


def _calendar_page(problems: dict[str, str] | None = None, form: Any = None,
                   import_problems: dict[str, str] | None = None, status: int = 200) -> Any:
    limit, offset = page_args()
    q = request.args.get("q", "")[:200]
    kind = request.args.get("kind", "")
    kind = kind if kind in KINDS else ""
    rows, total = calendar.page_periods(runtime(), q=q, kind=kind, limit=limit, offset=offset)
    tz = runtime().timezone
    items = [(p, *p.days(tz)) for p in rows]
    return render_template("admin_calendar.html", page=Page(items, total, limit, offset), q=q, kind=kind,
                           kinds=KIND_TITLES, effects=EFFECTS, problems=problems or {}, form=form or {},
                           import_problems=import_problems or {}, schools=schools.every_school(runtime()),
                           nation=runtime().settings.school.nation.replace("_", " ").title()), status


@bp.get("/calendar")
@access(ADMINS)
def calendar_list() -> Any:
    """The school calendar: terms, holidays, INSET days, exam seasons and freezes."""
    return _calendar_page()


@bp.post("/calendar")
@access(ADMINS)
def calendar_add() -> Any:
    """Add a period (a date is the whole day; the end day is included)."""
    form = request.form
    try:
        added = calendar.add_period(runtime(), actor_id=actor().id, kind=form.get("kind", ""),
                                    title=form.get("title", ""), start=form.get("start", ""),
                                    end=form.get("end", ""), effect=form.get("effect", ""),
                                    reason=form.get("reason", ""), school=form.get("school", ""))
    except InvalidInput as err:
        return _calendar_page(err.problems, form, status=400)
    flash(f"Added “{added.title}”.")
    return redirect(url_for("admin.calendar_list"))


def _period_form(period_id: int, form: Any, problems: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    return render_template("admin_calendar_edit.html", period_id=period_id, form=form,
                           problems=problems or {}, kinds=KIND_TITLES, effects=EFFECTS,
                           schools=schools.every_school(runtime())), status


@bp.get("/calendar/<int:period_id>")
@access(ADMINS)
def calendar_edit(period_id: int) -> Any:
    """One period's form, filled in."""
    period = calendar.get_period(runtime(), period_id=period_id)
    start, end = period.start_end_text(runtime().timezone)
    slugs = {s.id: s.slug for s in schools.every_school(runtime())}
    return _period_form(period_id, {"kind": period.kind, "title": period.title, "start": start, "end": end,
                                    "effect": period.effect, "reason": period.reason,
                                    "school": slugs.get(period.school_id or 0, "")})


@bp.post("/calendar/<int:period_id>")
@access(ADMINS)
def calendar_update(period_id: int) -> Any:
    """Save a period's new dates, kind, effect or reason (audited with before and after)."""
    form = request.form
    try:
        saved = calendar.update_period(runtime(), actor_id=actor().id, period_id=period_id,
                                       kind=form.get("kind", ""), title=form.get("title", ""),
                                       start=form.get("start", ""), end=form.get("end", ""),
                                       effect=form.get("effect", ""), reason=form.get("reason", ""),
                                       # A form that did not offer the school (one school) leaves it.
                                       school=form.get("school") if "school" in form else None)
    except InvalidInput as err:
        return _period_form(period_id, form, err.problems, status=400)
    flash(f"Saved “{saved.title}”.")
    return redirect(url_for("admin.calendar_list"))


@bp.post("/calendar/<int:period_id>/delete")
@access(ADMINS)
def calendar_delete(period_id: int) -> Any:
    """Remove a period (audited)."""
    calendar.delete_period(runtime(), actor_id=actor().id, period_id=period_id)
    flash("Removed.")
    return redirect(url_for("admin.calendar_list"))


@bp.post("/calendar/import")
@access(ADMINS)
def calendar_import() -> Any:
    """Import term dates from a CSV or an ICS file: every row or event, or none."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _calendar_page(import_problems={"file": "choose a CSV or ICS file"}, status=400)
    raw = upload.read()
    try:
        if upload.filename.lower().endswith((".ics", ".ical", ".ifb")) or raw.lstrip().startswith(b"BEGIN:"):
            count = calendar.import_ics(runtime(), data=raw, actor_id=actor().id)
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", errors="replace")
            count = calendar.import_csv(runtime(), text=text, actor_id=actor().id)
    except InvalidInput as err:
        return _calendar_page(import_problems=err.problems, status=400)
    flash(f"Imported {count} period{'s' if count != 1 else ''}.")
    return redirect(url_for("admin.calendar_list"))


def _services_page(problems: dict[str, str] | None = None, form: Any = None, status: int = 200) -> Any:
    limit, offset = page_args()
    q = request.args.get("q", "")[:200]
    rows, total = catalogue.page_services(runtime(), q=q, limit=limit, offset=offset, actor_id=actor().id)
    return render_template("admin_services.html", page=Page(rows, total, limit, offset), q=q,
                           names=catalogue.active_names(runtime(), actor().id), problems=problems or {},
                           form=form or {}, schools=schools.mine(runtime(), actor_id=actor().id),
                           trust_wide=len(schools.mine(runtime(), actor_id=actor().id))
                           == len(schools.every_school(runtime()))), status


@bp.get("/services")
@access(ADMINS)
def service_list() -> Any:
    """The service catalogue and what each service depends on."""
    return _services_page()


@bp.post("/services")
@access(ADMINS)
def service_save() -> Any:
    """Add a service, or change one (by name): description, dependencies, retired or not."""
    form = request.form
    try:
        saved = catalogue.save_service(runtime(), actor_id=actor().id, name=form.get("name", ""),
                                       description=form.get("description", ""),
                                       depends_on=form.getlist("depends_on"),
                                       active=form.get("active", "1") == "1",
                                       school=form.get("school", "")[:40])
    except InvalidInput as err:
        return _services_page(err.problems, form, status=400)
    flash(f"Saved “{saved.name}”.")
    return redirect(url_for("admin.service_list"))


def _providers_page(problems: dict[str, str] | None = None, form: Any = None, status: int = 200) -> Any:
    found = providers.every(runtime(), actor_id=actor().id)
    return render_template("admin_providers.html", providers=found, problems=problems or {},
                           form=form or {}), status


@bp.get("/providers")
@access(ADMINS)
def provider_list() -> Any:
    """External IT providers: their contracts and their people."""
    return _providers_page()


@bp.post("/providers")
@access(ADMINS)
def provider_save() -> Any:
    """Record a provider, or make someone one of a provider's people (or nobody's)."""
    form = request.form
    try:
        if form.get("what") == "member":
            providers.set_member(runtime(), actor_id=actor().id, email=form.get("email", "")[:320],
                                 provider=form.get("provider", "")[:200])
            flash("Saved.")
        else:
            made = providers.add(runtime(), actor_id=actor().id, name=form.get("name", ""),
                                 contract=form.get("contract", ""),
                                 contract_ends=form.get("contract_ends") or None)
            flash(f"{made.name} recorded.")
    except InvalidInput as err:
        return _providers_page(err.problems, form, status=400)
    return redirect(url_for("admin.provider_list"))
