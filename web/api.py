"""The JSON API under /api/v1: the same services and permission checks as the pages,
authenticated by bearer tokens. Each operation is declared with its models
(``api_models``); the OpenAPI document is generated from the declarations."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from flask import Blueprint, g, jsonify, request

from fitsflow.domain.calendar import academic_year_start, whole_days
from fitsflow.domain.errors import InvalidInput, NotFound, NotPermitted
from fitsflow.domain.feedback import QUESTIONS
from fitsflow.services import (
    absences,
    assets,
    auth,
    calendar,
    calendar_report,
    catalogue,
    change_search,
    discussion,
    evidence,
    filtering,
    inbox,
    maintenance_windows,
    ownership,
    proposals,
    providers,
    queues,
    recurrences,
    register,
    reports,
    rescheduling,
    schedule,
    templates,
    users,
)
from fitsflow.services import approved as approved_service
from fitsflow.services import category as category_service
from fitsflow.services import changes as changes_service
from fitsflow.services import feedback as feedback_service
from fitsflow.services import gates as gates_service
from fitsflow.services import notices as release_notices
from fitsflow.services import peer_review as peer_review_service
from fitsflow.services import stages as stages_service
from fitsflow.services import usage as usage_service
from fitsflow.services.audit import events_after, timeline
from fitsflow.services.views import ChangeDetail, ChangeView
from fitsflow.workflow.diagram import mermaid

from . import api_models as m
from .access import AUDITORS, PUBLIC, SIGNED_IN, VIEWERS, access
from .api_spec import document, route
from .errors import api_error
from .login import actor, runtime

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def authenticate() -> Any:
    if request.endpoint == "api.openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    address = request.remote_addr or ""
    try:
        found = auth.token_user(runtime(), token=token.strip() if scheme.lower() == "bearer" else "",
                                address=address)
    except auth.TooManyAttempts as err:
        response, status = api_error(429, "too_many", str(err))
        return response, status, {"Retry-After": str(err.retry_after)}
    if found is None:
        response, status = api_error(401, "unauthenticated",
                                     "a valid API token is required: Authorization: Bearer <token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="fitsflow"'
        return response, status
    # Each operation declares the scope it needs; api_spec checks it before the view runs.
    g.api_actor, g.api_scope = found.actor, found.scope
    return None


@bp.get("/openapi.json")
@access(PUBLIC)
def openapi() -> Any:
    """The OpenAPI 3.1 document of this API."""
    return jsonify(document())


def _change(view: ChangeView) -> m.Change:
    return m.Change.model_validate(view)


def _cost_line(line: Any) -> dict[str, Any]:
    return {"year": line.year_offset + 1, "kind": line.kind, "amount": f"{line.amount:.2f}",
            "funding_source": line.funding_source, "description": line.description}


def _detail(d: ChangeDetail) -> m.ChangeDetail:
    years = runtime().plan_years(d.change.created_at, d.plan.horizon_years)
    needs = d.needs
    release = d.release_plan
    review = d.review
    return m.ChangeDetail(
        change=_change(d.change),
        stages=m.Stages(
            # Validated on the way out as on the way in: what GET returns, PUT takes back.
            needs=m.NeedsStage.model_validate(dict(
                need=needs.need, stakeholders=list(needs.stakeholders), sdp_priority=needs.sdp_priority,
                options_considered=needs.options_considered, screening=dict(needs.screening),
                dpia_reference=needs.dpia_reference,
                success_measures=[dict(statement=x.statement, method=x.method, check_by=x.check_by)
                                  for x in needs.measures])) if needs else None,
            finance=m.FinanceStage.model_validate({"lines": [_cost_line(x) for x in d.plan.lines]}),
            release_plan=m.ReleasePlanStage.model_validate(dict(
                window_start=release.window_start, window_end=release.window_end,
                backout_plan=release.backout_plan, test_plan=release.test_plan,
                risk_answers=dict(release.risk_answers), impact=release.impact, training=release.training,
                contact=release.contact))
            if release else None,
            review=m.ReviewStage.model_validate(dict(
                outcome=review.outcome, notes=review.notes,
                actual_costs=[_cost_line(x) for x in review.actual_costs],
                measures=[dict(result=x.result, evidence=x.evidence) for x in review.assessments],
                refresh_on=review.refresh_on))
            if review else None,
            pilot=m.PilotView.model_validate(dataclasses.asdict(d.pilot)) if d.pilot else None),
        risk_level=(release.risk or None) if release else None,  # type: ignore[arg-type]
        risk_score=release.risk_score if release else None,
        approvers=[m.GateApprovers(gate=g.gate, title=g.title, current=g.current,
                                   approvers=[m.Approver(role=r.role, count=r.count, why=list(r.why))
                                              for r in g.needs]) for g in d.approvers],
        policy_problems=list(d.policy_problems),
        since_approval=[m.SinceApproval(gate=s.gate, title=s.title, standing=s.standing, changes=[
            m.FieldChange(field=c.field, title=c.title, before=c.before, after=c.after) for c in s.changes])
            for s in d.since_approval],
        cost_by_year=[f"{total:.2f}" for total in d.plan.total_by_year()],
        cost_variance=[m.YearVariance(year=v.year, financial_year=label, planned=f"{v.planned:.2f}",
                                      actual=f"{v.actual:.2f}", variance=f"{v.variance:.2f}")
                       for v, label in zip(d.variance, years, strict=False)],
        total_cost=f"{d.total_cost:.2f}",
        approvals=[m.Approval.model_validate(a) for a in d.approvals],
        actions=[m.Action(trigger=a.trigger, title=a.title, blocked_by=list(a.blocked_by))
                 for a in d.actions],
        gate=m.Gate(name=d.gate.name, title=d.gate.title, requirements=d.gate.requirements,
                    approvals=d.gate.approvals, missing=list(d.gate.missing), may_decide=d.gate.may_decide,
                    why_not=d.gate.why_not) if d.gate else None,
        editable_stages=list(d.editable_stages),
        follow_ups=list(d.follow_ups),
        may_follow_up=d.may_follow_up,
        clashes=list(d.clashes),
        window_freezes=list(d.window_freezes),
        window_cautions=list(d.window_cautions),
    )


@route(bp, "GET", "/me", summary="Who the token belongs to", response=m.Me)
def me() -> m.Me:
    who = actor()
    return m.Me(id=who.id, name=who.name, email=who.email, roles=sorted(who.roles))


@route(bp, "GET", "/changes", response=m.ChangePage, query=m.ChangeFilters,
       summary="Changes the caller may see, filtered; awaiting=me for an approver's queue")
def list_changes(query: m.ChangeFilters) -> m.ChangePage:
    rt = runtime()
    if query.state is not None:
        known = rt.workflows.state_names()
        if query.state not in known:
            raise InvalidInput({"state": f"unknown state '{query.state}' (known: {', '.join(known)})"})
    if query.awaiting == "me":
        page = queues.awaiting_decision(rt, actor_id=actor().id, limit=query.limit, offset=query.offset)
        views = list(page.items)
    else:
        filters = change_search.parse(rt, query.model_dump(exclude={"awaiting", "limit", "offset", "after",
                                                                     "before"}))
        page = change_search.find(rt, actor_id=actor().id, filters=filters, limit=query.limit,
                                  offset=query.offset, after=query.after, before=query.before)
        views = [found.change for found in page.items]
    return m.ChangePage(items=[_change(v) for v in views], total=page.total, limit=query.limit,
                        offset=page.offset, more=page.more, next_after=page.next_after or None,
                        prev_before=page.prev_before or None)


@route(bp, "GET", "/approvals", response=m.QueuePage, query=m.QueueOrder,
       summary="Changes waiting for the caller's decision, with cost, risk, window, age and gate")
def approvals(query: m.QueueOrder) -> m.QueuePage:
    page = queues.approval_queue(runtime(), actor_id=actor().id, limit=query.limit, offset=query.offset,
                                 sort=query.sort)
    return m.QueuePage(items=[m.QueueEntry(
        change=_change(q.change), gate=q.gate, emergency=q.emergency,
        five_year_cost=f"{q.five_year_cost:.2f}", first_year_cost=f"{q.first_year_cost:.2f}",
        risk=q.risk or "", window_start=q.window_start, window_end=q.window_end,
        waiting_since=q.waiting_since) for q in page.items],
        total=page.total, limit=query.limit, offset=query.offset, more=page.more)


@route(bp, "GET", "/register", response=m.RegisterPage, query=m.RegisterFilters,
       summary="The change register: one row per change, its gates, costs and outcome, filtered",
       who=AUDITORS)
def change_register(query: m.RegisterFilters) -> m.RegisterPage:
    rt = runtime()
    filters = change_search.parse(rt, query.model_dump(exclude={"limit", "offset", "after", "before"}))
    page = register.page(rt, actor_id=actor().id, filters=filters, limit=query.limit, offset=query.offset,
                         after=query.after, before=query.before)
    return m.RegisterPage(items=[m.RegisterEntry(
        change=_change(r.change), workflow_title=r.workflow_title,
        gates=[m.RegisterGate(title=g.title, passed_at=g.passed_at, approvers=list(g.approvers),
                              reopened=g.reopened)
               for g in r.gates.values()],
        five_year_cost=f"{r.five_year_cost:.2f}",
        actual_cost=None if r.actual_cost is None else f"{r.actual_cost:.2f}", outcome=r.outcome)
        for r in page.items], total=page.total, limit=query.limit, offset=page.offset, more=page.more,
        next_after=page.next_after or None, prev_before=page.prev_before or None)


@route(bp, "POST", "/changes", summary="Raise a change", response=m.Change, body=m.NewChange, status=201)
def create_change(body: m.NewChange) -> tuple[m.Change, dict[str, str]]:
    view = changes_service.raise_change(runtime(), actor_id=actor().id, title=body.title,
                                        category=body.category,
                                 description=body.description, affected_services=body.affected_services,
                                 urgency=body.urgency, template=body.template, cost=body.cost,
                                 emergency_purpose=body.emergency_purpose, school=body.school)
    return _change(view), {"Location": f"/api/v1/changes/{view.ref}"}


@route(bp, "GET", "/changes/<ref>", summary="A change with its stage data, decisions, gate and my actions",
       response=m.ChangeDetail)
def get_change(ref: str) -> m.ChangeDetail:
    return _detail(changes_service.get_change(runtime(), actor_id=actor().id, ref=ref))


def _stage_args(ref: str, body: m.Versioned) -> dict[str, Any]:
    return {"actor_id": actor().id, "ref": ref, "expected_version": body.expected_version}


@route(bp, "PUT", "/changes/<ref>/stages/needs", summary="Replace the needs analysis",
       response=m.Change, body=m.NeedsEdit)
def put_needs(ref: str, body: m.NeedsEdit) -> m.Change:
    data = body.model_dump(exclude={"expected_version"})
    return _change(stages_service.record_needs(runtime(), data=data, **_stage_args(ref, body)))


@route(bp, "PUT", "/changes/<ref>/stages/finance", summary="Replace the financial plan (every cost line)",
       response=m.Change, body=m.FinanceEdit)
def put_finance(ref: str, body: m.FinanceEdit) -> m.Change:
    lines = [line.model_dump() for line in body.lines]
    return _change(stages_service.record_financial_plan(runtime(), lines=lines, **_stage_args(ref, body)))


@route(bp, "PUT", "/changes/<ref>/stages/release_plan", summary="Replace the release plan",
       response=m.Change, body=m.ReleasePlanEdit)
def put_release_plan(ref: str, body: m.ReleasePlanEdit) -> m.Change:
    data = body.model_dump(exclude={"expected_version"})
    return _change(stages_service.record_release_plan(runtime(), data=data, **_stage_args(ref, body)))


@route(bp, "PUT", "/changes/<ref>/stages/pilot",
       summary="Replace a pilot's design (hypothesis, group, weeks)", response=m.Change, body=m.PilotEdit)
def put_pilot(ref: str, body: m.PilotEdit) -> m.Change:
    data = body.model_dump(exclude={"expected_version"})
    return _change(stages_service.record_pilot(runtime(), data=data, **_stage_args(ref, body)))


@route(bp, "PUT", "/changes/<ref>/stages/pilot_outcome",
       summary="Record a pilot's outcome: adopt (as a change of a category), adapt or drop; what was learnt",
       response=m.Change, body=m.PilotOutcomeEdit)
def put_pilot_outcome(ref: str, body: m.PilotOutcomeEdit) -> m.Change:
    data = body.model_dump(exclude={"expected_version"})
    return _change(stages_service.record_pilot_outcome(runtime(), data=data, **_stage_args(ref, body)))


@route(bp, "PUT", "/changes/<ref>/stages/review", summary="Replace the post-implementation review",
       response=m.Change, body=m.ReviewEdit)
def put_review(ref: str, body: m.ReviewEdit) -> m.Change:
    data = body.model_dump(exclude={"expected_version"})
    return _change(stages_service.record_review(runtime(), data=data, **_stage_args(ref, body)))


@route(bp, "POST", "/changes/<ref>/actions/<trigger>", response=m.Change, body=m.ActionRequest,
       summary="Take a workflow action (see the change's actions)")
def fire(ref: str, trigger: str, body: m.ActionRequest) -> m.Change:
    return _change(changes_service.fire(runtime(), actor_id=actor().id, ref=ref, trigger=trigger,
                                        expected_version=body.expected_version, reason=body.reason,
                                        notices={n.id: (n.action, n.reason) for n in body.notices}))


@route(bp, "PUT", "/changes/<ref>/category", response=m.Change, body=m.CategoryChange,
       summary="Move a change being planned to another category of its workflow (requester)")
def put_category(ref: str, body: m.CategoryChange) -> m.Change:
    return _change(category_service.change_category(runtime(), actor_id=actor().id, ref=ref,
                                                    category=body.category,
                                            reason=body.reason, expected_version=body.expected_version))


@route(bp, "PUT", "/changes/<ref>/owner", response=m.Change, body=m.OwnerChange,
       summary="Hand the change to another requester, with a reason (its requester, head, admin)")
def put_owner(ref: str, body: m.OwnerChange) -> m.Change:
    return _change(ownership.transfer(runtime(), actor_id=actor().id, ref=ref, to_email=body.email,
                                     reason=body.reason, expected_version=body.expected_version))


@route(bp, "POST", "/changes/<ref>/co-owners", response=m.Change, body=m.CoOwner, status=201,
       summary="Name a co-owner, who edits the change's stages too")
def add_co_owner(ref: str, body: m.CoOwner) -> m.Change:
    return _change(ownership.add_co_owner(runtime(), actor_id=actor().id, ref=ref, email=body.email))


@route(bp, "DELETE", "/changes/<ref>/co-owners/<int:user_id>", response=m.Change,
       summary="Remove a co-owner")
def remove_co_owner(ref: str, user_id: int) -> m.Change:
    return _change(ownership.remove_co_owner(runtime(), actor_id=actor().id, ref=ref, user_id=user_id))


@route(bp, "POST", "/changes/<ref>/reschedule", response=m.Change, body=m.Reschedule,
       summary="Move a scheduled release to a new window (its owners)")
def reschedule(ref: str, body: m.Reschedule) -> m.Change:
    return _change(rescheduling.reschedule(runtime(), actor_id=actor().id, ref=ref,
                                       window_start=body.window_start.isoformat(),
                                       window_end=body.window_end.isoformat(), reason=body.reason,
                                       expected_version=body.expected_version))


@route(bp, "POST", "/changes/<ref>/unschedule", response=m.Change, body=m.Unschedule,
       summary="Take a scheduled release off the schedule, back to approved (its owners)")
def unschedule(ref: str, body: m.Unschedule) -> m.Change:
    return _change(rescheduling.unschedule(runtime(), actor_id=actor().id, ref=ref, reason=body.reason,
                                       expected_version=body.expected_version))


@route(bp, "POST", "/changes/<ref>/peer-review", response=m.Change, body=m.PeerReview,
       summary="FITS's technical peer review of the release plan (support team, not its owners)")
def peer_review(ref: str, body: m.PeerReview) -> m.Change:
    return _change(peer_review_service.review_plan(runtime(), actor_id=actor().id, ref=ref,
                                                    outcome=body.outcome, comments=body.comments,
                                                    expected_version=body.expected_version))


@route(bp, "POST", "/changes/<ref>/acknowledge", response=m.Change, body=m.Versioned,
       summary="Acknowledge changes made within tolerance since approval (the policy's acknowledgers)")
def acknowledge_changes(ref: str, body: m.Versioned) -> m.Change:
    return _change(approved_service.acknowledge(runtime(), actor_id=actor().id, ref=ref,
                                        expected_version=body.expected_version))


@route(bp, "POST", "/changes/<ref>/decision", summary="Approve, or reject with a reason, at the gate",
       response=m.DecisionResult, body=(m.Approve, m.Reject), discriminator="decision", second_factor=True)
def decide(ref: str, body: m.Approve | m.Reject) -> m.DecisionResult:
    result = gates_service.decide(runtime(), actor_id=actor().id, ref=ref, decision=body.decision,
                             comment=body.comment, role=body.role, expected_version=body.expected_version,
                             on_behalf_of=body.on_behalf_of)
    return m.DecisionResult(change=_change(result.change), outcome=result.outcome,  # type: ignore[arg-type]
                            missing=list(result.missing))


@route(bp, "POST", "/changes/<ref>/follow-ups", summary="Raise the next need from a change in review",
       response=m.Change, body=m.FollowUp, status=201)
def follow_up(ref: str, body: m.FollowUp) -> tuple[m.Change, dict[str, str]]:
    view = changes_service.spawn_follow_up(runtime(), actor_id=actor().id, ref=ref, title=body.title,
                                    description=body.description, category=body.category)
    return _change(view), {"Location": f"/api/v1/changes/{view.ref}"}


@route(bp, "GET", "/changes/<ref>/audit", summary="A change's audit events", response=m.ChangeAudit)
def change_audit(ref: str) -> m.ChangeAudit:
    return m.ChangeAudit(items=[m.AuditEvent.model_validate(e)
                                for e in timeline(runtime(), actor_id=actor().id, ref=ref)])


def _draft(n: release_notices.NoticeView) -> m.NoticeDraft:
    return m.NoticeDraft(id=n.id, audience=n.audience, tier=n.tier, subject=n.subject, body=n.body,
                         status=n.status, publish_at=n.publish_at,  # type: ignore[arg-type]
                         published_at=n.published_at, recipients=n.recipients,
                         acknowledged=n.acknowledged_count, not_acknowledged=n.waiting_count,
                         school=n.school)


def _notice_of(ref: str, notice_id: int) -> release_notices.NoticeView:
    for n in release_notices.notices_for(runtime(), actor_id=actor().id, ref=ref):
        if n.id == notice_id:
            return n
    raise NotFound("no such notice on this change")


@route(bp, "GET", "/changes/<ref>/notices", summary="A release's notices, one per audience",
       response=m.NoticeDrafts)
def change_notices(ref: str) -> m.NoticeDrafts:
    drafts = release_notices.notices_for(runtime(), actor_id=actor().id, ref=ref)
    return m.NoticeDrafts(items=[_draft(n) for n in drafts])


@route(bp, "PUT", "/changes/<ref>/notices/<int:notice_id>", summary="Edit a notice before it is published",
       response=m.NoticeDraft, body=m.NoticeEdit)
def edit_notice(ref: str, notice_id: int, body: m.NoticeEdit) -> m.NoticeDraft:
    release_notices.edit(runtime(), actor_id=actor().id, ref=ref, notice_id=notice_id,
                         subject=body.subject, body=body.body)
    return _draft(_notice_of(ref, notice_id))


def _feedback(f: feedback_service.Form) -> m.Feedback:
    return m.Feedback(ref=f.ref, title=f.title, group=f.group, open=f.open, answered_at=f.answered_at,
                      worked=f.worked, improve=f.improve,
                      **{k: f.scores.get(k) for k in QUESTIONS})


@route(bp, "GET", "/changes/<ref>/feedback", summary="Your 360° feedback on the change's review (if asked)",
       response=m.Feedback, who=SIGNED_IN)
def get_feedback(ref: str) -> m.Feedback:
    return _feedback(feedback_service.form(runtime(), actor_id=actor().id, ref=ref))


@route(bp, "PUT", "/changes/<ref>/feedback",
       summary="Give or change your 360° feedback while the review is open (if asked)",
       response=m.Feedback, body=m.FeedbackAnswer, who=SIGNED_IN)
def put_feedback(ref: str, body: m.FeedbackAnswer) -> m.Feedback:
    given = feedback_service.respond(runtime(), actor_id=actor().id, ref=ref, data=body.model_dump())
    return _feedback(given)


@route(bp, "GET", "/changes/<ref>/feedback/summary",
       summary="The review's 360° feedback by group (the change's owners and review.feedback_readers)",
       response=m.FeedbackSummary)
def feedback_summary(ref: str) -> m.FeedbackSummary:
    s = feedback_service.summary(runtime(), actor_id=actor().id, ref=ref)
    return m.FeedbackSummary.model_validate(dataclasses.asdict(s))


def _asset(a: assets.AssetView) -> m.Asset:
    return m.Asset.model_validate(dataclasses.asdict(a))


def _change_assets(found: assets.ChangeAssets) -> m.ChangeAssetsOut:
    return m.ChangeAssetsOut(assets=[_asset(a) for a in found.assets], updated=found.updated,
                             unchanged=found.unchanged)


def _dated(body: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.model_dump().items()}


@route(bp, "GET", "/assets", summary="The asset register, newest first, by status and text",
       response=m.AssetPage, query=m.AssetFilters, who=VIEWERS)
def asset_list(query: m.AssetFilters) -> m.AssetPage:
    page = assets.listing(runtime(), actor_id=actor().id, status=query.status, q=query.q, limit=query.limit,
                          offset=query.offset)
    return m.AssetPage(items=[_asset(a) for a in page.items], total=page.total, limit=query.limit,
                       offset=query.offset, more=page.more)


@route(bp, "POST", "/assets", summary="Add an asset to the register (requesters, administrators)",
       response=m.Asset, body=m.NewAsset, status=201, who=VIEWERS)
def asset_add(body: m.NewAsset) -> m.Asset:
    return _asset(assets.add(runtime(), actor_id=actor().id, data=_dated(body)))


@route(bp, "POST", "/assets/import", summary="Import assets from CSV text: every row or none",
       response=m.Imported, body=m.AssetImport, who=VIEWERS)
def asset_import(body: m.AssetImport) -> m.Imported:
    added = assets.import_csv(runtime(), actor_id=actor().id, text=body.csv, school=body.school)
    return m.Imported(count=added)


@route(bp, "GET", "/assets/<int:asset_id>", summary="An asset and the changes that touched it",
       response=m.AssetOut, who=VIEWERS)
def asset(asset_id: int) -> m.AssetOut:
    found = assets.get(runtime(), actor_id=actor().id, asset_id=asset_id)
    return m.AssetOut(asset=_asset(found.asset), changes=[list(c) for c in found.changes])


@route(bp, "PUT", "/assets/<int:asset_id>", summary="Change an asset's entry and renewal dates",
       response=m.Asset, body=m.AssetFieldsIn, who=VIEWERS)
def asset_edit(asset_id: int, body: m.AssetFieldsIn) -> m.Asset:
    return _asset(assets.edit(runtime(), actor_id=actor().id, asset_id=asset_id, data=_dated(body)))


@route(bp, "PUT", "/assets/<int:asset_id>/disposal", summary="A retired asset's disposal evidence",
       response=m.Asset, body=m.Disposal, who=VIEWERS)
def asset_disposal(asset_id: int, body: m.Disposal) -> m.Asset:
    recorded = assets.record_disposal(runtime(), actor_id=actor().id, asset_id=asset_id, data=_dated(body))
    return _asset(recorded)


@route(bp, "GET", "/changes/<ref>/assets",
       summary="The assets a change touches and its register update",
       response=m.ChangeAssetsOut, who=VIEWERS)
def change_assets(ref: str) -> m.ChangeAssetsOut:
    return _change_assets(assets.change_assets(runtime(), actor_id=actor().id, ref=ref))


@route(bp, "POST", "/changes/<ref>/assets",
       summary="Link an asset the change touches, or unlink it (owners)",
       response=m.ChangeAssetsOut, body=m.AssetLink, who=VIEWERS)
def change_asset_link(ref: str, body: m.AssetLink) -> m.ChangeAssetsOut:
    return _change_assets(assets.link(runtime(), actor_id=actor().id, ref=ref, asset=body.asset,
                                      remove=body.remove))


@route(bp, "POST", "/changes/<ref>/register", summary="Record the register's update: an asset added, retired "
       "or replaced (with disposal evidence), or the register unchanged (owners)",
       response=m.ChangeAssetsOut, body=m.RegisterUpdate, who=VIEWERS)
def change_register_update(ref: str, body: m.RegisterUpdate) -> m.ChangeAssetsOut:
    data = _dated(body)
    new = data.pop("new", None) or {}
    data.update({f"new_{k}": v for k, v in new.items()})
    return _change_assets(assets.update_register(runtime(), actor_id=actor().id, ref=ref, action=body.action,
                                                 data=data))


def _provider(p: providers.ProviderView) -> m.ProviderOut:
    return m.ProviderOut(id=p.id, name=p.name, contract=p.contract, contract_ends=p.contract_ends,
                         people=[email for _, _, email in p.people])


@route(bp, "GET", "/providers", summary="External IT providers and their people (admins)",
       response=m.Providers, scope="admin")
def provider_list() -> m.Providers:
    return m.Providers(items=[_provider(p) for p in providers.every(runtime(), actor_id=actor().id)])


@route(bp, "POST", "/providers", summary="Record an external IT provider (admins)", response=m.ProviderOut,
       body=m.ProviderBody, status=201, scope="admin")
def provider_add(body: m.ProviderBody) -> m.ProviderOut:
    return _provider(providers.add(runtime(), actor_id=actor().id, name=body.name, contract=body.contract,
                                   contract_ends=body.contract_ends))


@route(bp, "PUT", "/providers/people",
       summary="Make someone one of a provider's people, or nobody's (admins)",
       response=m.Providers, body=m.ProviderMemberBody, scope="admin")
def provider_person(body: m.ProviderMemberBody) -> m.Providers:
    providers.set_member(runtime(), actor_id=actor().id, email=body.email, provider=body.provider)
    return m.Providers(items=[_provider(p) for p in providers.every(runtime(), actor_id=actor().id)])


def _filter(r: filtering.RequestView) -> m.FilterRequest:
    return m.FilterRequest.model_validate(dataclasses.asdict(r))


@route(bp, "POST", "/filtering",
       summary="Ask for a site or category to be allowed or blocked (any member of staff)",
       response=m.FilterRequest, body=m.NewFilterRequest, status=201, who=SIGNED_IN)
def ask_filtering(body: m.NewFilterRequest) -> m.FilterRequest:
    data = body.model_dump()
    data["until"] = body.until.isoformat() if body.until else ""
    return _filter(filtering.ask(runtime(), actor_id=actor().id, data=data))


@route(bp, "GET", "/filtering", summary="Web-filtering requests: waiting for me, mine, or every one (the "
       "log's readers), newest first, searchable", response=m.FilterRequestPage, query=m.FilterFilters,
       who=SIGNED_IN)
def filtering_list(query: m.FilterFilters) -> m.FilterRequestPage:
    page = filtering.listing(runtime(), actor_id=actor().id, view=query.view, state=query.state, q=query.q,
                             action=query.action, limit=query.limit, offset=query.offset)
    return m.FilterRequestPage(items=[_filter(r) for r in page.items], total=page.total, limit=query.limit,
                               offset=query.offset, more=page.more)


@route(bp, "GET", "/filtering/<int:request_id>",
       summary="A web-filtering request, and what the caller may do",
       response=m.FilterRequest, who=SIGNED_IN)
def filtering_request(request_id: int) -> m.FilterRequest:
    return _filter(filtering.get(runtime(), actor_id=actor().id, request_id=request_id))


@route(bp, "POST", "/filtering/<int:request_id>/steps", summary="Take a step: decide with the reason (the "
       "safeguarding lead), record it applied or put back (the ICT team), withdraw it",
       response=m.FilterRequest, body=m.FilterStep, who=SIGNED_IN, second_factor=True)
def filtering_step(request_id: int, body: m.FilterStep) -> m.FilterRequest:
    return _filter(filtering.act(runtime(), actor_id=actor().id, request_id=request_id, trigger=body.trigger,
                                 reason=body.reason, expected_version=body.expected_version))


def _proposal(p: proposals.ProposalView) -> m.Proposal:
    return m.Proposal.model_validate(dataclasses.asdict(p))


@route(bp, "POST", "/proposals", summary="Propose a need (any member of staff): what, why, who it affects",
       response=m.Proposal, body=m.NewProposal, status=201, who=SIGNED_IN)
def propose(body: m.NewProposal) -> m.Proposal:
    return _proposal(proposals.propose(runtime(), actor_id=actor().id, data=body.model_dump()))


@route(bp, "GET", "/proposals", summary="Proposed needs: mine, or (requesters) everyone's, newest first",
       response=m.ProposalPage, query=m.ProposalFilters, who=SIGNED_IN)
def proposal_list(query: m.ProposalFilters) -> m.ProposalPage:
    mine = {"1": True, "0": False}.get(query.mine)
    page = proposals.listing(runtime(), actor_id=actor().id, mine=mine, status=query.status,
                             limit=query.limit, offset=query.offset)
    return m.ProposalPage(items=[_proposal(p) for p in page.items], total=page.total, limit=query.limit,
                          offset=query.offset, more=page.more)


@route(bp, "GET", "/proposals/<int:proposal_id>", summary="A proposal and where it has got to",
       response=m.Proposal, who=SIGNED_IN)
def proposal(proposal_id: int) -> m.Proposal:
    return _proposal(proposals.get(runtime(), actor_id=actor().id, proposal_id=proposal_id))


@route(bp, "POST", "/proposals/<int:proposal_id>/triage",
       summary="Raise a change from a proposal, merge it into one, or decline it (requesters)",
       response=m.Proposal, body=m.Triage, who=SIGNED_IN)
def triage(proposal_id: int, body: m.Triage) -> m.Proposal:
    settled = proposals.triage(runtime(), actor_id=actor().id, proposal_id=proposal_id, **body.model_dump())
    return _proposal(settled)


@route(bp, "GET", "/changes/<ref>/comments", summary="The change's discussion, oldest first",
       response=m.CommentPage, query=m.Paging)
def comment_list(ref: str, query: m.Paging) -> m.CommentPage:
    page = discussion.comments(runtime(), actor_id=actor().id, ref=ref, limit=query.limit,
                               offset=query.offset)
    return m.CommentPage(items=[m.Comment.model_validate(dataclasses.asdict(c)) for c in page.items],
                         total=page.total, limit=query.limit, offset=query.offset, more=page.more)


@route(bp, "POST", "/changes/<ref>/comments", summary="Add to the change's discussion (its people are told)",
       response=m.Comment, body=m.NewComment, status=201)
def add_comment(ref: str, body: m.NewComment) -> m.Comment:
    made = discussion.add_comment(runtime(), actor_id=actor().id, ref=ref, body=body.body)
    return m.Comment.model_validate(dataclasses.asdict(made))


@route(bp, "GET", "/changes/<ref>/attachments",
       summary="The change's files (name, size, SHA-256; removed ones marked); download them from the page",
       response=m.Files)
def attachment_list(ref: str) -> m.Files:
    found = discussion.files(runtime(), actor_id=actor().id, ref=ref)
    return m.Files(items=[m.FileInfo.model_validate(dataclasses.asdict(a)) for a in found])


@route(bp, "DELETE", "/changes/<ref>/attachments/<int:file_id>",
       summary="Remove a file (its uploader, or the change's requester or a co-owner); audited",
       response=m.Removed)
def remove_attachment(ref: str, file_id: int) -> m.Removed:
    discussion.remove_file(runtime(), actor_id=actor().id, ref=ref, file_id=file_id)
    return m.Removed(id=file_id)


def _rate(rate: reports.Rate) -> m.ReportRate:
    return m.ReportRate(count=rate.count, of=rate.of, percent=rate.percent)


@route(bp, "GET", "/reports", summary="The report for SLT and governors: a term, an academic year or dates",
       response=m.ReportOut, query=m.ReportFilters)
def report(query: m.ReportFilters) -> m.ReportOut:
    r = reports.report(runtime(), actor_id=actor().id, term=query.term, year=query.year, start=query.start,
                       end=query.end, school=query.school)
    return m.ReportOut(
        start=r.period.start, end=r.period.end, title=r.period.title, raised=r.raised,
        by_category=r.by_category, rates={name: _rate(rate) for name, rate in r.rates().items()},
        gate_times=[m.ReportGate.model_validate(dataclasses.asdict(g)) for g in r.gate_times],
        went_ahead=[list(w) for w in r.went_ahead], feedback=r.feedback,
        acknowledgements={a: _rate(rate) for a, rate in r.acknowledgements.items()}, measures=r.measures,
        spend=[m.ReportSpend(financial_year=s.financial_year, funding_source=s.funding_source,
                             capital=s.capital, planned=f"{s.planned:.2f}", actual=f"{s.actual:.2f}")
               for s in r.spend],
        refresh=[[ref, title, day.isoformat()] for ref, title, day in r.refresh], proposals=r.proposals,
        audit_count=r.audit_count, audit_head=r.audit_head, by_school=r.by_school, school=r.school)


def _usage(u: usage_service.UsageCheck) -> m.UsageCheck:
    return m.UsageCheck.model_validate(dataclasses.asdict(u))


@route(bp, "GET", "/usage-checks", summary="Usage checks months after release: due, not yet recorded, or "
       "recorded", response=m.UsageCheckPage, query=m.UsageFilters, who=VIEWERS)
def usage_checks(query: m.UsageFilters) -> m.UsageCheckPage:
    page = usage_service.listing(runtime(), actor_id=actor().id, status=query.status, mine=query.mine == "1",
                                 limit=query.limit, offset=query.offset)
    return m.UsageCheckPage(items=[_usage(u) for u in page.items], total=page.total, limit=query.limit,
                            offset=query.offset, more=page.more)


@route(bp, "GET", "/changes/<ref>/usage-check", summary="The change's usage check (planned at release)",
       response=m.UsageCheck, who=VIEWERS)
def get_usage_check(ref: str) -> m.UsageCheck:
    found = usage_service.of_change(runtime(), actor_id=actor().id, ref=ref)
    if found is None:
        raise NotFound(f"{ref.strip().upper()[:40]} has no usage check: one is planned when the change is "
                       "released")
    return _usage(found)


@route(bp, "PUT", "/changes/<ref>/usage-check",
       summary="Record whether what was bought is used as intended, with the evidence (requester, co-owners)",
       response=m.UsageCheck, body=m.UsageAnswer, who=VIEWERS)
def put_usage_check(ref: str, body: m.UsageAnswer) -> m.UsageCheck:
    return _usage(usage_service.record(runtime(), actor_id=actor().id, ref=ref, data=body.model_dump()))


@route(bp, "POST", "/changes/<ref>/notices/<int:notice_id>/release",
       summary="Send a held notice now or at a time, or mark it not relevant to its audience",
       response=m.NoticeDraft, body=m.NoticeRelease)
def release_notice(ref: str, notice_id: int, body: m.NoticeRelease) -> m.NoticeDraft:
    release_notices.release_notice(runtime(), actor_id=actor().id, ref=ref, notice_id=notice_id,
                                   action=body.action, at=body.at, reason=body.reason)
    return _draft(_notice_of(ref, notice_id))


@route(bp, "GET", "/changes/<ref>/notices/<int:notice_id>/acknowledgements",
       summary="Who has and has not acknowledged a published notice", response=m.Acknowledgements)
def acknowledgements(ref: str, notice_id: int) -> m.Acknowledgements:
    n = _notice_of(ref, notice_id)
    if not n.names_visible:
        raise NotPermitted("who has acknowledged is for the change's requester, SLT and auditors; "
                           "the notice list shows the counts")
    names = {waiting: release_notices.acknowledgements(runtime(), actor_id=actor().id, ref=ref,
                                                       notice_id=notice_id, waiting=waiting, limit=None)[1]
             for waiting in (False, True)}
    return m.Acknowledgements(notice_id=n.id, audience=n.audience, acknowledged=names[False],
                              not_acknowledged=names[True])


@route(bp, "GET", "/release-notices", summary="Release notices I received, newest first",
       response=m.ReceivedNotices, query=m.Paging)
def received(query: m.Paging) -> m.ReceivedNotices:
    items = release_notices.my_release_notices(runtime(), actor_id=actor().id, limit=query.limit)
    return m.ReceivedNotices(items=[m.ReceivedNotice.model_validate(r) for r in items])


@route(bp, "POST", "/release-notices/<int:notice_id>/acknowledge",
       summary="Read and understood (once; again changes nothing)", response=m.ReceivedNotice)
def acknowledge(notice_id: int) -> m.ReceivedNotice:
    release_notices.acknowledge(runtime(), actor_id=actor().id, notice_id=notice_id)
    return m.ReceivedNotice.model_validate(
        release_notices.read_notice(runtime(), actor_id=actor().id, notice_id=notice_id))


@route(bp, "GET", "/audit", summary="The audit trail after a sequence number (auditors, admins)",
       response=m.Trail, query=m.TrailQuery)
def audit_trail(query: m.TrailQuery) -> m.Trail:
    items = events_after(runtime(), actor_id=actor().id, after_seq=query.after, limit=query.limit)
    return m.Trail(items=[m.TrailEvent.model_validate(i) for i in items],
                   next_after=int(items[-1]["seq"]) if items else query.after)  # type: ignore[call-overload]


@route(bp, "GET", "/notices", summary="My in-app notifications, newest first, with the unread count",
       response=m.Inbox, query=m.InboxFilters)
def notices(query: m.InboxFilters) -> m.Inbox:
    page = inbox.my_notices(runtime(), actor_id=actor().id, limit=query.limit, offset=query.offset,
                            unread_only=query.unread == "1", after=query.after, before=query.before)
    return m.Inbox(items=[m.InboxItem.model_validate(i) for i in page.items], total=page.total,
                   unread=page.unread, limit=query.limit, offset=page.offset, more=page.more,
                   next_after=page.next_after if page.has_next else None,
                   prev_before=page.prev_before or None)


@route(bp, "POST", "/notices/<int:item_id>/read", summary="Mark one notification read", response=m.Unread)
def notice_read(item_id: int) -> m.Unread:
    inbox.mark_read(runtime(), actor_id=actor().id, item_id=item_id)
    return m.Unread(unread=inbox.unread_count(runtime(), actor_id=actor().id))


@route(bp, "POST", "/notices/read", summary="Mark every notification read", response=m.Unread)
def notices_read() -> m.Unread:
    inbox.mark_read(runtime(), actor_id=actor().id)
    return m.Unread(unread=0)


def _user(row: users.UserRow) -> m.User:
    return m.User(id=row.id, name=row.name, email=row.email, active=row.active, roles=list(row.roles),
                  audiences=list(row.audiences))


@route(bp, "GET", "/users", summary="Users by name, searchable (admins)", response=m.UserPage,
       query=m.UserFilters, scope="admin")
def list_users(query: m.UserFilters) -> m.UserPage:
    rows, total = users.page_users(runtime(), q=query.q, limit=query.limit, offset=query.offset,
                                   sort=query.sort, actor_id=actor().id)
    return m.UserPage(items=[_user(r) for r in rows], total=total, limit=query.limit, offset=query.offset)


@route(bp, "POST", "/users", summary="Add a user (admins)", response=m.User, body=m.NewUser, status=201,
       scope="admin")
def create_user(body: m.NewUser) -> m.User:
    return _user(users.create_user(runtime(), actor_id=actor().id, name=body.name, email=body.email,
                                   roles=body.roles, audiences=body.audiences))


@route(bp, "GET", "/users/<int:user_id>", summary="One user (admins)", response=m.User, scope="admin")
def get_user(user_id: int) -> m.User:
    users.check_manages(runtime(), actor_id=actor().id, user_id=user_id)
    return _user(users.get_user(runtime(), user_id=user_id))


@route(bp, "PUT", "/users/<int:user_id>", response=m.User, body=m.UserEdit,
       summary="Change a user's name, roles, audiences, or deactivate (admins)", scope="admin")
def update_user(user_id: int, body: m.UserEdit) -> m.User:
    return _user(users.update_user(runtime(), actor_id=actor().id, user_id=user_id, name=body.name,
                                   roles=body.roles, audiences=body.audiences, active=body.active))


def _workflow(name: str) -> m.Workflow:
    d = runtime().workflows.get(name).definition
    return m.Workflow(
        name=d.name, title=d.title, description=d.description, categories=list(d.categories),
        initial=d.initial,
        states=[m.WorkflowState(name=s.name, title=s.title, phase=s.phase, kind=s.kind, final=s.final,
                                edits=list(s.edits)) for s in d.states.values()],
        transitions=[m.WorkflowTransition(trigger=t.trigger, title=t.title, sources=list(t.sources),
                                          dest=t.dest, roles=list(t.roles), guards=list(t.guards),
                                          signal=t.signal)
                     for t in d.transitions],
        gates=[m.WorkflowGate(name=g.name, title=g.title, state=g.state, approve=g.approve, reject=g.reject,
                              approvers=g.approvers) for g in d.gates.values()],
        diagram=mermaid(d))


@route(bp, "GET", "/workflows", summary="The loaded workflows", response=m.Workflows, who=VIEWERS)
def workflows() -> m.Workflows:
    return m.Workflows(items=[_workflow(name) for name in runtime().workflows.names()])


@route(bp, "GET", "/workflows/<name>", summary="One workflow, with its diagram source", response=m.Workflow,
       who=VIEWERS)
def workflow(name: str) -> m.Workflow:
    return _workflow(name)


def _period(p: Any) -> m.Period:
    first, last = p.days(runtime().timezone)
    return m.Period(id=p.id, kind=p.kind, title=p.title, starts_at=p.starts_at, ends_at=p.ends_at,
                    first_day=first, last_day=last, effect=p.effect, reason=p.reason, school_id=p.school_id)


@route(bp, "GET", "/calendar", summary="The school calendar: terms, holidays, exams, freezes",
       response=m.PeriodPage, query=m.PeriodFilters, who=VIEWERS)
def calendar_periods(query: m.PeriodFilters) -> m.PeriodPage:
    tz = runtime().timezone
    start = whole_days(query.start, query.start, tz)[0] if query.start else None
    end = whole_days(query.end, query.end, tz)[1] if query.end else None
    rows, total = calendar.page_periods(runtime(), q=query.q, kind=query.kind or "", start=start, end=end,
                                        limit=query.limit, offset=query.offset)
    return m.PeriodPage(items=[_period(p) for p in rows], total=total, limit=query.limit, offset=query.offset)


@route(bp, "POST", "/calendar", summary="Add a calendar period (admins)", response=m.Period,
       body=m.PeriodBody, status=201, scope="admin")
def add_calendar_period(body: m.PeriodBody) -> m.Period:
    return _period(calendar.add_period(runtime(), actor_id=actor().id, kind=body.kind, title=body.title,
                                       start=body.start, end=body.end, effect=body.effect,
                                       reason=body.reason, school=body.school or ""))


@route(bp, "GET", "/calendar/<int:period_id>", summary="One calendar period", response=m.Period, who=VIEWERS)
def calendar_period(period_id: int) -> m.Period:
    return _period(calendar.get_period(runtime(), period_id=period_id))


@route(bp, "PUT", "/calendar/<int:period_id>", summary="Change a calendar period (admins)",
       response=m.Period, body=m.PeriodBody, scope="admin")
def change_calendar_period(period_id: int, body: m.PeriodBody) -> m.Period:
    return _period(calendar.update_period(runtime(), actor_id=actor().id, period_id=period_id, kind=body.kind,
                                          title=body.title, start=body.start, end=body.end,
                                          effect=body.effect, reason=body.reason, school=body.school))


@route(bp, "DELETE", "/calendar/<int:period_id>", summary="Remove a calendar period (admins)",
       response=m.Removed, scope="admin")
def remove_calendar_period(period_id: int) -> m.Removed:
    calendar.delete_period(runtime(), actor_id=actor().id, period_id=period_id)
    return m.Removed(id=period_id)


def _service(v: catalogue.ServiceView) -> m.ServiceOut:
    return m.ServiceOut(id=v.id, name=v.name, description=v.description, active=v.active,
                        depends_on=list(v.depends_on), school=v.school)


@route(bp, "GET", "/services", summary="The service catalogue, with dependencies", response=m.ServicePage,
       query=m.ServiceFilters, who=VIEWERS)
def services_list(query: m.ServiceFilters) -> m.ServicePage:
    rows, total = catalogue.page_services(runtime(), q=query.q, limit=query.limit, offset=query.offset,
                                          actor_id=actor().id)
    return m.ServicePage(items=[_service(r) for r in rows], total=total, limit=query.limit,
                         offset=query.offset)


@route(bp, "POST", "/services", summary="Add a service, or change the one with this name (admins)",
       response=m.ServiceOut, body=m.ServiceBody, status=201, scope="admin")
def save_service(body: m.ServiceBody) -> m.ServiceOut:
    return _service(catalogue.save_service(runtime(), actor_id=actor().id, name=body.name,
                                           description=body.description, depends_on=body.depends_on,
                                           active=body.active, school=body.school or ""))


@route(bp, "GET", "/services/<int:service_id>", summary="One service", response=m.ServiceOut, who=VIEWERS)
def service(service_id: int) -> m.ServiceOut:
    return _service(catalogue.get_service(runtime(), service_id=service_id, actor_id=actor().id))


@route(bp, "GET", "/schedule", summary="The forward schedule of change: releases by day, with the "
       "school calendar and clashes", response=m.ForwardSchedule, query=m.ScheduleQuery)
def forward_schedule(query: m.ScheduleQuery) -> m.ForwardSchedule:
    start = query.start or runtime().today()
    found = schedule.forward_schedule(runtime(), actor_id=actor().id, start=start, days=query.days,
                                      service=query.service, state=query.state,
                                      category=query.category or "")
    releases = {r.ref: r for d in found.days for r in d.releases}
    return m.ForwardSchedule(
        start=found.start, end=found.end, periods=list(found.periods),
        releases=[m.ScheduledRelease(ref=r.ref, title=r.title, state=r.state, state_title=r.state_title,
                                     category=r.category, window_start=r.window_start,
                                     window_end=r.window_end, services=list(r.services),
                                     cancelled=r.cancelled, clashes_with=list(r.clashes_with))
                  for r in sorted(releases.values(), key=lambda r: (r.window_start, r.ref))],
        days=[m.ScheduleDay(day=d.day, school_day=d.school_day, shading=d.shading,  # type: ignore[arg-type]
                            notes=list(d.notes), releases=[r.ref for r in d.releases]) for d in found.days])


@route(bp, "GET", "/schedule/exceptions", summary="Freezes overridden, caution periods and clashes "
       "accepted, counted (from the audit trail)", response=m.CalendarExceptions, query=m.ExceptionsQuery)
def calendar_exceptions(query: m.ExceptionsQuery) -> m.CalendarExceptions:
    today = runtime().today()
    report = calendar_report.calendar_exceptions(runtime(), actor_id=actor().id,
                                                 first=query.start or academic_year_start(today),
                                                 last=query.end or today, limit=query.limit,
                                                 offset=query.offset)
    return m.CalendarExceptions(
        start=report.first, end=report.last,
        counts=m.ExceptionCounts(**{k.replace(".", "_"): n for k, n in report.counts.items()}),
        items=[m.CalendarException(seq=e.seq, at=e.at, ref=e.ref, kind=e.kind,
                                   actor=e.actor, reason=e.reason, details=list(e.details))
               for e in report.page.items],
        total=report.page.total, limit=report.page.limit, offset=report.page.offset)


def _questions(questions: Any) -> list[m.PolicyQuestion]:
    return [m.PolicyQuestion(name=q.name, text=q.text, answers=[
        m.PolicyAnswer(value=a.value, label=a.label, points=a.points) for a in q.answers]) for q in questions]


@route(bp, "GET", "/policy", summary="The approval policy: cost bands, risk and screening rules, "
       "category limits and the questions", response=m.Policy, who=VIEWERS)
def policy() -> m.Policy:
    p = runtime().settings.policy
    return m.Policy(
        cost_bands=[m.PolicyRule(gate=b.gate, roles=list(b.roles), above=f"{b.above:.2f}")
                    for b in p.cost_bands],
        risk_rules=[m.PolicyRule(gate=r.gate, roles=list(r.roles), level=r.level) for r in p.risk_rules],
        screening=[m.PolicyRule(gate=r.gate, roles=list(r.roles), question=r.question, answer=r.answer,
                                requires=r.requires or None) for r in p.screening],
        categories=[m.PolicyCategory(category=c.category, max_risk=c.max_risk,
                                     max_cost=f"{c.max_cost:.2f}" if c.max_cost is not None else None)
                    for c in p.categories],
        risk_questions=_questions(p.questions), screening_questions=_questions(p.screening_questions),
        medium_from=p.medium_from, high_from=p.high_from, peer_review=list(p.peer_review))



@route(bp, "GET", "/absences", summary="My absences, and those I stand in for", response=m.Absences)
def list_absences() -> m.Absences:
    found = absences.list_for(runtime(), actor_id=actor().id)
    return m.Absences(items=[m.AbsenceOut.model_validate(a) for a in found])


@route(bp, "POST", "/absences", summary="Record an absence with a substitute (an approver, or an admin)",
       response=m.AbsenceOut, body=m.AbsenceBody, status=201)
def add_absence(body: m.AbsenceBody) -> m.AbsenceOut:
    someone_else = bool(body.user_email) and body.user_email.strip().lower() != actor().email.lower()
    if someone_else and g.get("api_scope") != "admin":  # an administrator's act: an admin token
        raise NotPermitted(f"this token's scope is '{g.get('api_scope')}'; recording someone else's "
                           "absence needs 'admin'")
    return m.AbsenceOut.model_validate(absences.record(
        runtime(), actor_id=actor().id, substitute_email=body.substitute_email, first_day=body.first_day,
        last_day=body.last_day, reason=body.reason, user_email=body.user_email))


@route(bp, "DELETE", "/absences/<int:absence_id>", summary="Cancel an absence", response=m.Removed)
def cancel_absence(absence_id: int) -> m.Removed:
    absences.cancel(runtime(), actor_id=actor().id, absence_id=absence_id)
    return m.Removed(id=absence_id)


def _template(view: templates.TemplateView) -> m.TemplateOut:
    return m.TemplateOut.model_validate({
        **view.__dict__, "services": list(view.services), "used_by": list(view.used_by),
        "max_cost": f"{view.max_cost:.2f}", "screening": dict(view.screening),
        "approvals": [{"role": role, "given_by": who} for role, who in view.approvals]})


@route(bp, "GET", "/templates", summary="Standard-change templates, by title", response=m.TemplatePage,
       query=m.TemplateFilters, who=VIEWERS)
def list_templates(query: m.TemplateFilters) -> m.TemplatePage:
    page = templates.browse(runtime(), actor_id=actor().id, state=query.state or "", q=query.q,
                            limit=query.limit, offset=query.offset)
    return m.TemplatePage(items=[_template(v) for v in page.items], total=page.total, limit=query.limit,
                          offset=query.offset)


@route(bp, "POST", "/templates", summary="Propose a standard-change template (a requester)",
       response=m.TemplateOut, body=m.TemplateBody, status=201)
def propose_template(body: m.TemplateBody) -> tuple[m.TemplateOut, dict[str, str]]:
    view = templates.propose(runtime(), actor_id=actor().id, data=body.model_dump())
    return _template(view), {"Location": f"/api/v1/templates/{view.id}"}


@route(bp, "GET", "/templates/<int:template_id>", summary="One standard-change template",
       response=m.TemplateOut, who=VIEWERS)
def get_template(template_id: int) -> m.TemplateOut:
    return _template(templates.get(runtime(), actor_id=actor().id, template_id=template_id).template)


@route(bp, "POST", "/templates/<int:template_id>/actions", response=m.TemplateOut, body=m.TemplateAction,
       summary="Approve, reject, retire or revise a template")
def act_on_template(template_id: int, body: m.TemplateAction) -> m.TemplateOut:
    return _template(templates.act(runtime(), actor_id=actor().id, template_id=template_id,
                                   action=body.action, reason=body.reason,
                                   data=body.template.model_dump() if body.template else None,
                                   expected_version=body.expected_version))


# --- maintenance windows ----------------------------------------------------------------

def _window(w: maintenance_windows.WindowView) -> m.MaintenanceWindowOut:
    return m.MaintenanceWindowOut(id=w.id, title=w.title, service=w.service, weekdays=list(w.weekdays),
                                  starts=w.starts, ends=w.ends, when=w.when,  # type: ignore[arg-type]
                                  notice_days=w.notice_days, school=w.school, described=w.described)


@route(bp, "GET", "/maintenance-windows", summary="The maintenance windows agreed for routine work",
       response=m.MaintenanceWindows, who=VIEWERS)
def maintenance_windows_list() -> m.MaintenanceWindows:
    return m.MaintenanceWindows(items=[_window(w) for w in maintenance_windows.every(runtime(),
                                                                                     actor_id=actor().id)])


@route(bp, "POST", "/maintenance-windows", summary="Agree a maintenance window (admins)",
       response=m.MaintenanceWindowOut, body=m.MaintenanceWindowBody, status=201, scope="admin")
def add_maintenance_window(body: m.MaintenanceWindowBody) -> m.MaintenanceWindowOut:
    return _window(maintenance_windows.add(runtime(), actor_id=actor().id, title=body.title,
                                           service=body.service, weekdays=body.weekdays, starts=body.starts,
                                           ends=body.ends, when=body.when, notice_days=body.notice_days,
                                           school=body.school or ""))


@route(bp, "DELETE", "/maintenance-windows/<int:window_id>", summary="Remove a maintenance window (admins)",
       response=m.Removed, scope="admin")
def remove_maintenance_window(window_id: int) -> m.Removed:
    maintenance_windows.remove(runtime(), actor_id=actor().id, window_id=window_id)
    return m.Removed(id=window_id)


@route(bp, "GET", "/maintenance-windows/next", summary="The next free slots inside a maintenance window: "
       "clear of freezes, cautions, clashes and the window's notice", response=m.FreeSlots,
       query=m.FreeSlotQuery, who=VIEWERS)
def next_free_slots(query: m.FreeSlotQuery) -> m.FreeSlots:
    found = maintenance_windows.next_free(runtime(), actor_id=actor().id, services=[query.service],
                                          minutes=query.minutes, count=query.count, school=query.school)
    return m.FreeSlots(items=[m.FreeSlot(starts=s.starts, ends=s.ends, window=s.window) for s in found])


# --- recurring work -------------------------------------------------------------------------

def _recurrence(r: recurrences.RecurrenceView) -> m.RecurrenceOut:
    return m.RecurrenceOut(id=r.id, title=r.title, rule=r.rule, template=r.template, starts=r.starts,
                           minutes=r.minutes, on_closed=r.on_closed,  # type: ignore[arg-type]
                           ahead_days=r.ahead_days, active=r.active, next_days=list(r.next_days))


@route(bp, "GET", "/recurrences", summary="My recurring routine work", response=m.Recurrences, who=VIEWERS)
def my_recurrences() -> m.Recurrences:
    return m.Recurrences(items=[_recurrence(r) for r in recurrences.mine(runtime(), actor_id=actor().id)])


@route(bp, "POST", "/recurrences", summary="Agree recurring routine work from a standard-change template "
       "(a requester)", response=m.RecurrenceOut, body=m.RecurrenceBody, status=201)
def add_recurrence(body: m.RecurrenceBody) -> m.RecurrenceOut:
    return _recurrence(recurrences.add(runtime(), actor_id=actor().id, template=body.template,
                                       title=body.title, rule=body.rule, first_day=body.first_day.isoformat(),
                                       starts=body.starts, minutes=body.minutes, on_closed=body.on_closed,
                                       ahead_days=body.ahead_days, cost=body.cost, school=body.school))


@route(bp, "POST", "/recurrences/<int:recurrence_id>/stop", summary="Stop a recurrence (its requester)",
       response=m.Removed)
def stop_recurrence(recurrence_id: int) -> m.Removed:
    recurrences.stop(runtime(), actor_id=actor().id, recurrence_id=recurrence_id)
    return m.Removed(id=recurrence_id)


@route(bp, "GET", "/recurrences/missed", summary="My routine work whose day passed without its release",
       response=m.MissedList, who=VIEWERS)
def missed_recurrences() -> m.MissedList:
    return m.MissedList(items=[m.MissedOut(ref=x.ref, title=x.title, happens_on=x.happens_on,
                                           state_title=x.state_title)
                               for x in recurrences.missed(runtime(), actor_id=actor().id)])


# --- evidence -------------------------------------------------------------------------------

def _tag(t: evidence.rules.Tag) -> m.EvidenceTagOut:
    return m.EvidenceTagOut(name=t.name, label=t.label, group=t.group, update_days=t.update_days)


@route(bp, "GET", "/evidence", summary="The evidence catalogue: what changes can be evidence of",
       response=m.EvidenceCatalogue, who=VIEWERS)
def evidence_catalogue() -> m.EvidenceCatalogue:
    return m.EvidenceCatalogue(items=[_tag(t) for t in evidence.catalogue(runtime()).values()])


@route(bp, "PUT", "/changes/<ref>/evidence", summary="Record what a change is evidence of (its owners)",
       response=m.EvidenceOut, body=m.EvidenceBody)
def record_evidence(ref: str, body: m.EvidenceBody) -> m.EvidenceOut:
    evidence.record(runtime(), actor_id=actor().id, ref=ref, tags=body.tags,
                    vendor_released_on=body.vendor_released_on.isoformat() if body.vendor_released_on else "",
                    expected_version=body.expected_version)
    found = evidence.of_ref(runtime(), actor_id=actor().id, ref=ref)
    return m.EvidenceOut(tags=[_tag(t) for t in found.tags], vendor_released_on=found.vendor_released_on)


@route(bp, "GET", "/changes/<ref>/evidence", summary="What a change is evidence of", response=m.EvidenceOut,
       who=VIEWERS)
def change_evidence(ref: str) -> m.EvidenceOut:
    found = evidence.of_ref(runtime(), actor_id=actor().id, ref=ref)
    return m.EvidenceOut(tags=[_tag(t) for t in found.tags], vendor_released_on=found.vendor_released_on)
