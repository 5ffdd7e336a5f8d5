"""A change's pages: list, raise, read, edit each stage, act, decide, follow up."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from fitsflow.domain import limits
from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, Stale
from fitsflow.domain.feedback import QUESTIONS
from fitsflow.domain.guards import NEEDS_REQUIRED
from fitsflow.domain.roles import REQUESTER
from fitsflow.domain.vocabulary import (
    CATEGORIES,
    COST_KINDS,
    FOLLOW_UP_CATEGORIES,
    MEASURE_RESULTS,
    PHASES,
    PILOT_OUTCOMES,
    REVIEW_OUTCOMES,
    STAGE_TITLES,
    USAGE_RESULTS,
)
from fitsflow.services import approved as approved_service
from fitsflow.services import assets as assets_service
from fitsflow.services import (
    catalogue,
    change_search,
    discussion,
    ownership,
    rescheduling,
    schools,
    templates,
    timeline,
    users,
)
from fitsflow.services import category as category_service
from fitsflow.services import changes as changes_service
from fitsflow.services import feedback as feedback_service
from fitsflow.services import gates as gates_service
from fitsflow.services import notices as release_notices
from fitsflow.services import peer_review as peer_review_service
from fitsflow.services import stages as stages_service
from fitsflow.services import usage as usage_service
from fitsflow.services.changes import change_page
from fitsflow.services.gates import PASSED, PENDING, REJECTED
from fitsflow.services.queues import Page
from fitsflow.services.views import Action, ChangeDetail
from fitsflow.workflow import svg

from .access import APPROVERS, REQUESTERS, SIGNED_IN, VIEWERS, access
from .dashboard import page_args, page_positions
from .errors import render_error
from .forms import COST_FIELDS, cost_row_errors, cost_rows, draft_totals, expected_version, local_input, whole
from .login import actor, runtime

bp = Blueprint("changes", __name__, url_prefix="/changes")

STAGES = {
    "needs": (STAGE_TITLES["needs"], "stage_needs.html"),
    "finance": (STAGE_TITLES["finance"], "stage_finance.html"),
    "release_plan": (STAGE_TITLES["release_plan"], "stage_release.html"),
    "review": (STAGE_TITLES["review"], "stage_review.html"),
    "pilot": (STAGE_TITLES["pilot"], "stage_pilot.html"),
    "pilot_outcome": (STAGE_TITLES["pilot_outcome"], "stage_pilot_outcome.html"),
}
STAGE_SLUGS = {"needs": "needs", "finance": "finance", "release-plan": "release_plan", "review": "review",
               "pilot": "pilot", "pilot-outcome": "pilot_outcome"}


@bp.get("")
@access(VIEWERS)
def index() -> Any:
    """Every change I may see: full-text search and filters, all in the URL (bookmarkable)."""
    rt = runtime()
    limit, offset = page_args()
    me = actor()
    args = request.args.to_dict()
    if args.pop("mine", "") == "1":
        args["requester"] = str(me.id)
    problems: dict[str, str] = {}
    try:
        filters = change_search.parse(rt, args)
    except InvalidInput as err:
        problems, filters = err.problems, change_search.ChangeFilter()
    after, before = page_positions()
    try:
        page = change_search.find(rt, actor_id=me.id, filters=filters, limit=limit, offset=offset,
                                  after=after, before=before)
    except InvalidInput as err:
        problems = {**problems, **err.problems}
        page = change_search.find(rt, actor_id=me.id, filters=filters, limit=limit)
    return render_template("changes.html", page=page, filters=filters, problems=problems,
                           states=rt.workflows.state_names(), categories=CATEGORIES, phases=PHASES,
                           requesters=users.holders(rt, REQUESTER, actor_id=me.id),
                           services=catalogue.active_names(rt, actor().id),
                           sorts=change_search.SORT_KEYS), 400 if problems else 200


@bp.route("/new", methods=["GET", "POST"])
@access(REQUESTERS)
def new() -> Any:
    """Raise a change: the category picks the workflow; a standard change names its template."""
    form = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        try:
            view = changes_service.raise_change(runtime(), actor_id=actor().id, title=form.get("title", ""),
                                         category=form.get("category", ""),
                                         description=form.get("description", ""),
                                         affected_services=form.getlist("affected_services"),
                                         urgency=form.get("urgency", ""),
                                         emergency_purpose=form.get("emergency_purpose", ""),
                                         template=form.get("template") or None,
                                         cost=form.get("cost") or None,
                                         school=",".join(form.getlist("school")) or None)
        except InvalidInput as err:
            return _new_page(form, err.problems), 400
        flash(f"{view.ref} raised. Start with the first stage.")
        return redirect(url_for("changes.show", ref=view.ref))
    return _new_page(form, {})


def _new_page(form: Any, problems: dict[str, str]) -> str:
    rt = runtime()
    return render_template("new.html", form=form, problems=problems, workflows=list(rt.workflows),
                           services=catalogue.active_names(rt, actor().id),
                           chosen=set(form.getlist("affected_services")),
                           templates=templates.usable(rt, actor_id=actor().id),
                           schools=schools.mine(rt, actor_id=actor().id))


@bp.get("/<ref>")
@access(VIEWERS)
def show(ref: str) -> Any:
    """The whole picture: stage data, decisions, what I may do now, timeline, diagram."""
    return _change_html(ref)


def _refused(ref: str, form: str, err: InvalidInput | GateNotSatisfied) -> Any:
    """A refusal shown on the change page at the form that caused it, with what was typed
    kept and the fields marked (not on a page of its own)."""
    if isinstance(err, InvalidInput):
        problems, message = err.problems, "Nothing was changed: correct what is marked."
    else:
        problems, message = {f"missing {i}": m for i, m in enumerate(err.missing)}, \
            f"Nothing was changed: {err.sentence}"
    refused = {"form": form, "problems": problems, "message": message, "typed": request.form}
    return _change_html(ref, refused=refused), 409 if isinstance(err, GateNotSatisfied) else 400


def _change_html(ref: str, **extra: Any) -> str:
    rt = runtime()
    me = actor()
    page = change_page(rt, actor_id=me.id, ref=ref)
    detail = page.detail
    definition = rt.workflows.of(detail.change.workflow, detail.change.workflow_version).definition
    visited = {str(e.payload.get(k)) for e in page.timeline if e.event_type == "transition"
               for k in ("from", "to")}
    diagram = Markup(svg.render(definition, detail.change.state, visited))  # svg.render escapes every text
    reach = schools.reach_of(rt, detail.change.school_id) if len(schools.every_school(rt)) > 1 else []
    named = ("Trust-wide: " if len(reach) > 1 else "") + ", ".join(s.name for s in reach)
    return render_template("change.html", diagram=diagram, school=named,
                           year_labels=rt.plan_years(detail.change.created_at, detail.plan.horizon_years),
                           d=detail, c=detail.change, definition=definition, me_id=me.id,
                           policy=detail.policy or rt.settings.policy, role_label=rt.roles.label,
                           events=[timeline.describe(definition, e, rt.roles.label, rt.money, page.names)
                                   for e in page.timeline],
                           stages=STAGES, tz=rt.timezone, notices=page.notices,
                           register_actions=assets_service.REGISTER_ACTIONS,
                           feedback=feedback_service.on_change_page(rt, actor_id=me.id, ref=ref),
                           usage_check=usage_service.of_change(rt, actor_id=me.id, ref=ref),
                           discussion=discussion.comments(rt, actor_id=me.id, ref=ref, limit=10,
                                                          newest_first=True),
                           files=discussion.files(rt, actor_id=me.id, ref=ref),
                           attachments=rt.settings.attachments, attach_kb=discussion.largest_kb(rt),
                           questions=QUESTIONS, **extra)


@bp.route("/<ref>/feedback", methods=["GET", "POST"])
@access(SIGNED_IN)
def feedback(ref: str) -> Any:
    """A participant's 360° feedback on the review (the email's link opens it after sign-in):
    four questions scored 1–5, what worked, what to change; editable while the review is open.
    Anyone not asked gets 404."""
    rt = runtime()
    me = actor()
    mine = feedback_service.form(rt, actor_id=me.id, ref=ref)
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            feedback_service.respond(rt, actor_id=me.id, ref=ref, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Thank you: your feedback is saved. You can change it until the review closes.")
            return redirect(url_for("changes.feedback", ref=mine.ref))
    return render_template("feedback.html", f=mine, problems=problems, questions=QUESTIONS,
                           form=request.form if problems else None), 400 if problems else 200


@bp.post("/<ref>/comments")
@access(VIEWERS)
def comment(ref: str) -> Any:
    """Add to the change's discussion."""
    try:
        made = discussion.add_comment(runtime(), actor_id=actor().id, ref=ref,
                                      body=request.form.get("body", ""))
    except InvalidInput as err:
        return _refused(ref, "comment", err)
    return redirect(url_for("changes.show", ref=ref, _anchor=f"comment-{made.id}"))


@bp.get("/<ref>/comments")
@access(VIEWERS)
def comment_list(ref: str) -> Any:
    """The whole discussion, oldest first, paged."""
    limit, offset = page_args()
    page = discussion.comments(runtime(), actor_id=actor().id, ref=ref, limit=limit, offset=offset)
    detail = changes_service.get_change(runtime(), actor_id=actor().id, ref=ref)
    return render_template("comments.html", c=detail.change, page=page)


@bp.post("/<ref>/attachments")
@access(VIEWERS)
def attach(ref: str) -> Any:
    """Attach a file (a quote, a DPIA, a photo)."""
    upload = request.files.get("file")
    try:
        discussion.add_file(runtime(), actor_id=actor().id, ref=ref,
                            name=(upload.filename or "") if upload else "",
                            content=upload.read() if upload else b"")
    except InvalidInput as err:
        return _refused(ref, "attach", err)
    flash("File attached.")
    return redirect(url_for("changes.show", ref=ref, _anchor="files"))


@bp.get("/<ref>/attachments/<int:file_id>")
@access(VIEWERS)
def attachment(ref: str, file_id: int) -> Any:
    """A file, always as a download (never shown in the browser)."""
    name, content_type, content = discussion.download(runtime(), actor_id=actor().id, ref=ref,
                                                      file_id=file_id)
    response = send_file(io.BytesIO(content), mimetype=content_type, as_attachment=True, download_name=name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<ref>/attachments/<int:file_id>/remove")
@access(VIEWERS)
def remove_attachment(ref: str, file_id: int) -> Any:
    """Remove a file (its uploader, or the change's owners)."""
    discussion.remove_file(runtime(), actor_id=actor().id, ref=ref, file_id=file_id)
    flash("File removed; the audit trail keeps its name and SHA-256.")
    return redirect(url_for("changes.show", ref=ref, _anchor="files"))


@bp.route("/<ref>/usage", methods=["GET", "POST"])
@access(VIEWERS)
def usage(ref: str) -> Any:
    """Months after the release: is it being used as intended? The requester (or a co-owner)
    records it with the evidence; others read it."""
    rt = runtime()
    me = actor()
    detail = changes_service.get_change(rt, actor_id=me.id, ref=ref)
    owners = {detail.change.requester_id, *(uid for uid, _name, _email in detail.co_owners)}
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            usage_service.record(rt, actor_id=me.id, ref=ref, data=request.form)
        except InvalidInput as err:
            problems = err.problems
        else:
            flash("Usage check recorded.")
            return redirect(url_for("changes.show", ref=detail.change.ref))
    found = usage_service.of_change(rt, actor_id=me.id, ref=ref)
    return render_template("usage.html", c=detail.change, u=found, problems=problems, results=USAGE_RESULTS,
                           may_record=me.id in owners, form=request.form if problems else None), \
        400 if problems else 200


@bp.route("/<ref>/notices/<int:notice_id>", methods=["GET", "POST"])
@access(REQUESTERS)
def edit_notice(ref: str, notice_id: int) -> Any:
    """Edit an audience's release notice before it is published."""
    rt = runtime()
    me = actor()
    found = [n for n in release_notices.notices_for(rt, actor_id=me.id, ref=ref) if n.id == notice_id]
    if not found:
        abort(404)
    problems: dict[str, str] = {}
    if request.method == "POST":
        try:
            release_notices.edit(rt, actor_id=me.id, ref=ref, notice_id=notice_id,
                                 subject=request.form.get("subject", ""), body=request.form.get("body", ""))
        except InvalidInput as err:
            problems = err.problems
        else:
            flash(f"The notice for {rt.roles.audience_label(found[0].audience)} is saved.")
            return redirect(url_for("changes.show", ref=ref) + "#notices")
    return render_template("notice_edit.html", n=found[0], ref=ref, problems=problems,
                           form=request.form if request.method == "POST" else None), 400 if problems else 200


def _stage_page(ref: str, stage: str, problems: dict[str, str], form: Any, status: int = 200) -> Any:
    rt = runtime()
    me = actor()
    detail = changes_service.get_change(rt, actor_id=me.id, ref=ref)
    title, template = STAGES[stage]
    if stage not in detail.editable_stages:
        # Say the real cause: the person, or the state the change is in.
        definition = rt.workflows.of(detail.change.workflow, detail.change.workflow_version).definition
        owners = {detail.change.requester_id, *(uid for uid, _name, _email in detail.co_owners)}
        if me.id not in owners:
            return render_error(403, f"Only the requester and co-owners of {detail.change.ref} edit its "
                                     f"{title.lower()}.")
        when = [f"“{s.title}”" for s in definition.states.values() if stage in s.edits]
        states = ("at " + " or ".join(when)) if when else "never in this workflow"
        return render_error(409, f"The {title.lower()} of {detail.change.ref} cannot be edited now: "
                                 f"the change is at “{detail.change.state_title}”.",
                            [f"It can be edited while the change is {states}."])
    rows = cost_rows(detail, stage, form)
    if form is not None and form.get("add_line"):
        rows.append(dict.fromkeys(COST_FIELDS, ""))
    definition = rt.workflows.of(detail.change.workflow, detail.change.workflow_version).definition
    # The fields the workflow's gates will ask for, marked before saving (guards.NEEDS_REQUIRED).
    asks = any("needs_recorded" in t.guards for t in definition.transitions)
    needed = set(NEEDS_REQUIRED) if asks else set()
    if detail.change.category not in rt.settings.review.success_measures_for:
        needed.discard("success_measures")
    return render_template(template, d=detail, c=detail.change, title=title, problems=problems, needed=needed,
                           measure_rows=measure_rows(detail, stage, form), measure_results=MEASURE_RESULTS,
                           pilot_outcomes=PILOT_OUTCOMES, adoptable=FOLLOW_UP_CATEGORIES,
                           form=form, kinds=COST_KINDS, policy=detail.policy or rt.settings.policy,
                           outcomes=REVIEW_OUTCOMES,
                           rows=rows, row_errors=cost_row_errors(rows, problems), local_input=local_input,
                           totals=draft_totals(rows, detail.plan.horizon_years),
                           year_labels=rt.plan_years(detail.change.created_at, detail.plan.horizon_years),
                           tz=rt.timezone), status


MEASURE_FIELDS = ("statement", "method", "check_by")
ASSESSMENT_FIELDS = ("result", "evidence")


def _rows_of(form: Any, fields: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows posted as measure_N_FIELD (N from 1), in order, up to the last row given."""
    rows = [{key: form.get(f"measure_{n}_{key}", "") for key in fields}
            for n in range(1, limits.SUCCESS_MEASURES + 1)]
    while rows and not any(rows[-1].values()):
        rows.pop()
    return rows


def measure_rows(detail: ChangeDetail, stage: str, form: Any) -> list[dict[str, Any]]:
    """What the needs form shows of each success measure (those saved and two more, blank)
    and what the review form shows (each measure with its word so far)."""
    measures = detail.needs.measures if detail.needs else ()
    if stage == "needs":
        if form is not None:
            rows = _rows_of(form, MEASURE_FIELDS)
        else:
            rows = [{"statement": m.statement, "method": m.method, "check_by": m.check_by.isoformat()}
                    for m in measures]
        spare = min(2, limits.SUCCESS_MEASURES - len(rows))
        return rows + [dict.fromkeys(MEASURE_FIELDS, "") for _ in range(spare)]
    if stage == "review":
        said = _rows_of(form, ASSESSMENT_FIELDS) if form is not None else []
        return [{"statement": m.statement, "method": m.method, "check_by": m.check_by.isoformat(),
                 "result": said[i]["result"] if i < len(said) else m.result,
                 "evidence": said[i]["evidence"] if i < len(said) else m.evidence}
                for i, m in enumerate(measures)]
    return []


def _answers(form: Any, prefix: str) -> dict[str, str]:
    """Radio groups named PREFIX.QUESTION, as the question → answer mapping services take."""
    return {key[len(prefix) + 1:]: value for key, value in form.items() if key.startswith(prefix + ".")}


def _save_stage(ref: str, stage: str) -> Any:
    rt = runtime()
    form = request.form
    common: dict[str, Any] = {"actor_id": actor().id, "ref": ref, "expected_version": expected_version(form)}
    if form.get("add_line"):  # another row and the totals so far, nothing saved yet
        return _stage_page(ref, stage, {}, form)
    try:
        if stage == "needs":
            stages_service.record_needs(rt, data={
                "need": form.get("need", ""), "stakeholders": form.get("stakeholders", ""),
                "sdp_priority": form.get("sdp_priority", ""),
                "options_considered": form.get("options_considered", ""),
                "screening": _answers(form, "screening"), "dpia_reference": form.get("dpia_reference", ""),
                "success_measures": _rows_of(form, MEASURE_FIELDS)}, **common)
        elif stage == "finance":
            stages_service.record_financial_plan(rt, lines=cost_rows(None, stage, form, parse=True), **common)
        elif stage == "pilot":
            stages_service.record_pilot(rt, data={k: form.get(k, "") for k in ("hypothesis", "trial_group",
                                                                             "weeks")}, **common)
        elif stage == "pilot_outcome":
            stages_service.record_pilot_outcome(rt, data={k: form.get(k, "") for k in (
                "outcome", "learnt", "adopt_category")}, **common)
        elif stage == "release_plan":
            stages_service.record_release_plan(rt, data={**{k: form.get(k, "") for k in (
                "window_start", "window_end", "backout_plan", "test_plan", "impact", "training", "contact")},
                "risk_answers": _answers(form, "risk_answers")}, **common)
        else:
            stages_service.record_review(rt, data={
                "outcome": form.get("outcome", ""), "notes": form.get("notes", ""),
                "actual_costs": cost_rows(None, stage, form, parse=True),
                "measures": _rows_of(form, ASSESSMENT_FIELDS), "refresh_on": form.get("refresh_on", "")},
                **common)
    except InvalidInput as err:
        return _stage_page(ref, stage, err.problems, form, 400)
    flash(f"{STAGES[stage][0]} saved.")
    return redirect(url_for("changes.show", ref=ref))


@bp.route("/<ref>/stage/<slug>", methods=["GET", "POST"])
@access(REQUESTERS)
def stage(ref: str, slug: str) -> Any:
    """Edit one stage's data (only the requester, only where the workflow allows)."""
    if slug not in STAGE_SLUGS:
        abort(404)
    name = STAGE_SLUGS[slug]
    if request.method == "POST":
        return _save_stage(ref, name)
    return _stage_page(ref, name, {}, None)


def _destructive(ref: str, trigger: str) -> tuple[ChangeDetail, Action] | None:
    detail = changes_service.get_change(runtime(), actor_id=actor().id, ref=ref)
    found = next((a for a in detail.actions if a.trigger == trigger and a.destructive), None)
    return (detail, found) if found else None


@bp.get("/<ref>/actions/<trigger>/confirm")
@access(VIEWERS)
def confirm(ref: str, trigger: str) -> Any:
    """The step before an action that undoes the work (withdraw, back out): what it does,
    why (required), and a button that says so."""
    found = _destructive(ref, trigger)
    if found is None:
        abort(404)
    return render_template("confirm_action.html", c=found[0].change, action=found[1], problems={}, reason="")


def _notice_choices(form: Any) -> dict[int, tuple[str, str]]:
    """What the release form says of each unsent notice: ``notice_<id>`` (publish or cancel)
    and ``notice_<id>_reason``."""
    choices = {}
    for key, value in form.items():
        head, _, number = key.partition("_")
        if head == "notice" and number.isdigit() and len(number) < 12:
            choices[int(number)] = (value, form.get(f"{key}_reason", ""))
    return choices


@bp.post("/<ref>/actions/<trigger>")
@access(VIEWERS)
def act(ref: str, trigger: str) -> Any:
    """Fire a workflow action offered on the change page."""
    reason = request.form.get("reason", "")
    try:
        view = changes_service.fire(runtime(), actor_id=actor().id, ref=ref, trigger=trigger,
                                    expected_version=expected_version(request.form), reason=reason,
                                    notices=_notice_choices(request.form))
    except InvalidInput as err:
        found = _destructive(ref, trigger)
        if found is None:
            raise
        return render_template("confirm_action.html", c=found[0].change, action=found[1],
                               problems=err.problems, reason=reason), 400
    title = runtime().workflows.of(view.workflow, view.workflow_version).definition.trigger_title(trigger)
    flash(f"{title}: done. {view.ref} is now at “{view.state_title}”.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.get("/<ref>/notices/<int:notice_id>/acknowledgements")
@access(VIEWERS)
def acknowledgements(ref: str, notice_id: int) -> Any:
    """Who has, or has not yet, acknowledged one notice: searchable and paged."""
    limit, offset = page_args()
    waiting = request.args.get("waiting") == "1"
    q = request.args.get("q", "")[:100]
    notice, names, total = release_notices.acknowledgements(runtime(), actor_id=actor().id, ref=ref,
                                                            notice_id=notice_id, waiting=waiting, q=q,
                                                            limit=limit, offset=offset)
    return render_template("acknowledgements.html", ref=ref.strip().upper(), n=notice, waiting=waiting, q=q,
                           page=Page(names, total, limit, offset))


@bp.post("/<ref>/decision")
@access(VIEWERS)  # a substitute standing in for an approver may hold no approver role themselves
def decide(ref: str) -> Any:
    """Approve or reject at the gate (the service decides who may)."""
    form = request.form
    behalf = whole(form.get("on_behalf_of", ""))
    comment = form.get("comment", "")
    try:
        result = gates_service.decide(runtime(), actor_id=actor().id, ref=ref,
                                      decision=form.get("decision", ""),
                                 comment=comment, role=form.get("role") or None,
                                 expected_version=expected_version(form), on_behalf_of=behalf or None)
    except InvalidInput as err:  # the card again, with what was typed and what to put right
        return _change_html(ref, decision_problems=err.problems, typed_comment=comment), 400
    except Stale:
        # Someone acted first: the card shows the change as it is now, the comment kept.
        return _change_html(ref, typed_comment=comment, stale=True), 409
    outcome = {PASSED: "The gate is passed.", REJECTED: "The change goes back to planning.",
               PENDING: "Recorded; the gate still needs: " + "; ".join(result.missing)}[result.outcome]
    flash(f"Your decision on {result.change.ref} is recorded. {outcome}")
    return redirect(url_for("changes.show", ref=result.change.ref))


@bp.post("/<ref>/assets")
@access(REQUESTERS)
def assets(ref: str) -> Any:
    """Link an asset the change touches, or unlink it."""
    form = request.form
    try:
        assets_service.link(runtime(), actor_id=actor().id, ref=ref, asset=form.get("asset", "")[:60],
                            remove=form.get("remove") == "1")
    except InvalidInput as err:
        return _refused(ref, "assets", err)
    flash("Unlinked." if form.get("remove") == "1" else "Asset linked: closing the change asks for the "
          "register's update.")
    return redirect(url_for("changes.show", ref=ref.upper()) + "#assets")


@bp.post("/<ref>/register")
@access(REQUESTERS)
def register(ref: str) -> Any:
    """Record the register's update: added, retired, replaced, or unchanged."""
    form = request.form
    try:
        assets_service.update_register(runtime(), actor_id=actor().id, ref=ref, action=form.get("action", ""),
                                       data=form)
    except InvalidInput as err:
        return _refused(ref, "register", err)
    flash("The register's update is recorded.")
    return redirect(url_for("changes.show", ref=ref.upper()) + "#assets")


@bp.post("/<ref>/follow-up")
@access(REQUESTERS)
def follow_up(ref: str) -> Any:
    """Raise the next need from what a review found."""
    form = request.form
    view = changes_service.spawn_follow_up(runtime(), actor_id=actor().id, ref=ref,
                                           title=form.get("title", ""),
                                    description=form.get("description", ""),
                                    category=form.get("category") or None)
    flash(f"{view.ref} raised as a follow-up of {ref.upper()}.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/category")
@access(REQUESTERS)
def category(ref: str) -> Any:
    """Move a change being planned to another category of its workflow."""
    form = request.form
    try:
        view = category_service.change_category(runtime(), actor_id=actor().id, ref=ref,
                                                category=form.get("category", ""),
                                                reason=form.get("reason", ""),
                                                expected_version=expected_version(form))
    except InvalidInput as err:
        return _refused(ref, "category", err)
    flash(f"{view.ref} is now a {view.category} change.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/acknowledge")
@access(APPROVERS)
def acknowledge(ref: str) -> Any:
    """Accept changes made within tolerance since approval."""
    view = approved_service.acknowledge(runtime(), actor_id=actor().id, ref=ref,
                                expected_version=expected_version(request.form))
    flash(f"Changes to {view.ref} acknowledged: its approval stands.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/owner")
@access(VIEWERS)
def owner(ref: str) -> Any:
    """Hand the change to another requester, with a reason."""
    form = request.form
    view = ownership.transfer(runtime(), actor_id=actor().id, ref=ref, to_email=form.get("email", ""),
                             reason=form.get("reason", ""), expected_version=expected_version(form))
    flash(f"{view.ref} now belongs to {view.requester_name}.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/co-owners")
@access(VIEWERS)
def co_owner_add(ref: str) -> Any:
    """Name a co-owner, who edits the change's stages too."""
    view = ownership.add_co_owner(runtime(), actor_id=actor().id, ref=ref, email=request.form.get("email",
                                                                                                  ""))
    flash("Co-owner added.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/co-owners/<int:user_id>/remove")
@access(VIEWERS)
def co_owner_remove(ref: str, user_id: int) -> Any:
    view = ownership.remove_co_owner(runtime(), actor_id=actor().id, ref=ref, user_id=user_id)
    flash("Co-owner removed.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/reschedule")
@access(REQUESTERS)
def reschedule(ref: str) -> Any:
    """Move a scheduled release to a new window."""
    form = request.form
    try:
        view = rescheduling.reschedule(runtime(), actor_id=actor().id, ref=ref,
                                       window_start=form.get("window_start", ""),
                                       window_end=form.get("window_end", ""), reason=form.get("reason", ""),
                                       expected_version=expected_version(form))
    except (InvalidInput, GateNotSatisfied) as err:
        return _refused(ref, "reschedule", err)
    flash(f"{view.ref} moved: it is at “{view.state_title}”.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/unschedule")
@access(REQUESTERS)
def unschedule(ref: str) -> Any:
    """Take a scheduled release off the schedule (back to approved)."""
    form = request.form
    view = rescheduling.unschedule(runtime(), actor_id=actor().id, ref=ref, reason=form.get("reason", ""),
                               expected_version=expected_version(form))
    flash(f"{view.ref} is off the schedule.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/peer-review")
@access(VIEWERS)
def peer_review(ref: str) -> Any:
    """Approve the release plan, or return it with comments (FITS's technical peer review)."""
    form = request.form
    view = peer_review_service.review_plan(runtime(), actor_id=actor().id, ref=ref,
                                            outcome=form.get("outcome", ""),
                                            comments=form.get("comments", ""),
                                            expected_version=expected_version(form))
    flash(f"Peer review of {view.ref} recorded.")
    return redirect(url_for("changes.show", ref=view.ref))


@bp.post("/<ref>/notices/<int:notice_id>/release")
@access(REQUESTERS)
def release_notice(ref: str, notice_id: int) -> Any:
    """Send a held notice now or at a time, or mark it not relevant to its audience."""
    form = request.form
    release_notices.release_notice(runtime(), actor_id=actor().id, ref=ref, notice_id=notice_id,
                                   action=form.get("action", ""), at=form.get("at", ""),
                                   reason=form.get("reason", ""))
    flash("Notice updated.")
    return redirect(url_for("changes.show", ref=ref) + "#notices")
