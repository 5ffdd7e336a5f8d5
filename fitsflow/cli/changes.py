"""``fitsflow change``: take a change through its workflow from the command line."""

from __future__ import annotations

import click

from ..domain.vocabulary import CATEGORIES, COST_KINDS, EMERGENCY_PURPOSES, REVIEW_OUTCOMES
from ..services import approved as approved_service
from ..services import category as category_service
from ..services import changes as changes_service
from ..services import gates, ownership, peer_review, rescheduling, stages
from ..services import notices as release_notices
from ..services.views import ChangeDetail
from .base import State, actor_id, as_option, echo, echo_text, pass_state


@click.group()
def change() -> None:
    """Raise changes and take them through their workflow."""


def _print_detail(detail: ChangeDetail) -> None:
    c = detail.change
    echo(f"{c.ref}  {c.title}")
    echo(f"  category: {c.category}   workflow: {c.workflow}   version: {c.version}")
    echo(f"  state: {c.state_title} ({c.state})   phase: {c.phase}")
    echo(f"  requester: {c.requester_name}")
    if c.parent_ref:
        echo(f"  follow-up of: {c.parent_ref}")
    if c.template_ref:
        echo(f"  from template: {c.template_ref}")
    if detail.follow_ups:
        echo(f"  follow-ups: {', '.join(detail.follow_ups)}")
    if c.description:
        echo_text("  description: ", c.description)
    if detail.needs:
        echo_text("  need: ", detail.needs.need)
        echo(f"  stakeholders: {', '.join(detail.needs.stakeholders) or '-'}")
    if detail.plan.lines:
        years = "  ".join(f"Y{i + 1} {amount:,.2f}" for i, amount in enumerate(detail.plan.total_by_year()))
        echo(f"  cost by year: {years}   total: {detail.total_cost:,.2f}")
    if detail.release_plan and detail.release_plan.window_start:
        rp = detail.release_plan
        echo(f"  window: {rp.window_start:%Y-%m-%d %H:%M} → "
             f"{rp.window_end:%Y-%m-%d %H:%M} UTC   risk: {rp.risk or '-'}")
    for a in detail.approvals:
        echo_text(f"  decision: {a.gate} round {a.round}: {a.approver} ({a.role}) {a.decision}"
                  + (" — " if a.comment else ""), a.comment or "")
    if detail.gate:
        g = detail.gate
        echo(f"  gate: {g.title}; needs {g.requirements}; "
             f"{'; '.join(g.missing) or 'quorum reached'}")
    for action in detail.actions:
        blocked = f"  (blocked: {'; '.join(action.blocked_by)})" if action.blocked_by else ""
        echo(f"  action: {action.trigger} — {action.title}{blocked}")
    if detail.editable_stages:
        echo(f"  you may edit: {', '.join(detail.editable_stages)}")


@change.command("raise")
@as_option
@click.option("--title", required=True)
@click.option("--category", required=True, type=click.Choice(CATEGORIES))
@click.option("--description", default="")
@click.option("--service", "services_", multiple=True, help="An affected service; repeat.")
@click.option("--urgency", default="", help="Emergency changes: why it cannot wait (required).")
@click.option("--purpose", "emergency_purpose", default="", type=click.Choice(["", *EMERGENCY_PURPOSES]),
              help="Emergency changes (required): restore a service that is down, or protect one at risk.")
@click.option("--template", default=None, help="Standard changes (required): the template, e.g. STD-0003.")
@click.option("--cost", default=None, help="Standard changes (required): the estimated cost.")
@click.option("--school", default=None, help="The school it is for (its short name), when the requester "
                                             "belongs to several; several separated by commas: a "
                                             "trust-wide change.")
@pass_state
def raise_(state: State, as_email: str, title: str, category: str, description: str,
           services_: tuple[str, ...], urgency: str, template: str | None, cost: str | None,
           emergency_purpose: str, school: str | None) -> None:
    """Raise a new change."""
    rt = state.runtime
    view = changes_service.raise_change(rt, actor_id=actor_id(rt, as_email), title=title, category=category,
                                 description=description, affected_services=services_, urgency=urgency,
                                 template=template, cost=cost, emergency_purpose=emergency_purpose,
                                 school=school)
    echo(f"{view.ref} raised ({view.workflow}), now in {view.state}")


@change.command("list")
@as_option
@click.option("--state", "state_name")
@click.option("--category", type=click.Choice(CATEGORIES))
@click.option("--limit", default=50, show_default=True)
@pass_state
def list_(state: State, as_email: str, state_name: str | None, category: str | None, limit: int) -> None:
    """List changes, newest first."""
    from ..services import change_search

    rt = state.runtime
    filters = change_search.parse(rt, {"state": state_name, "category": category})
    page = change_search.find(rt, actor_id=actor_id(rt, as_email), filters=filters, limit=limit)
    for found in page.items:
        v = found.change
        echo(f"{v.ref}  {v.category:<12} {v.state:<20} {v.title}")
    echo(f"({len(page.items)} of {page.total})")


@change.command("show")
@click.argument("ref")
@as_option
@pass_state
def show(state: State, ref: str, as_email: str) -> None:
    """Show a change, its stage data, decisions and the actions open to you."""
    rt = state.runtime
    _print_detail(changes_service.get_change(rt, actor_id=actor_id(rt, as_email), ref=ref))


@change.command("needs")
@click.argument("ref")
@as_option
@click.option("--need", required=True)
@click.option("--stakeholder", "stakeholders", multiple=True, help="Who was consulted; repeat.")
@click.option("--sdp", "sdp_priority", default="", help="School Development Plan priority.")
@click.option("--options", "options_considered", default="")
@click.option("--screening", "screening", multiple=True, metavar="QUESTION=ANSWER",
              help="A screening answer (personal_data=none, safeguarding=no …); repeat.")
@click.option("--dpia", "dpia_reference", default="", help="DPIA reference (personal data processed anew).")
@click.option("--measure", "measures", multiple=True, metavar="'WHAT | HOW | BY DATE'",
              help="A success measure: what success looks like, how it will be checked and the date "
                   "by which, separated by '|'; repeat.")
@pass_state
def needs(state: State, ref: str, as_email: str, need: str, stakeholders: tuple[str, ...], sdp_priority: str,
          options_considered: str, screening: tuple[str, ...], dpia_reference: str,
          measures: tuple[str, ...]) -> None:
    """Record the needs analysis, with the policy's screening answers and success measures."""
    rt = state.runtime
    view = stages.record_needs(rt, actor_id=actor_id(rt, as_email), ref=ref, data={
        "need": need, "stakeholders": list(stakeholders), "sdp_priority": sdp_priority,
        "options_considered": options_considered, "screening": _pairs(screening, "--screening"),
        "dpia_reference": dpia_reference, "success_measures": [_measure(m) for m in measures]})
    echo(f"{view.ref}: needs analysis saved")


def _measure(item: str) -> dict[str, str]:
    parts = [part.strip() for part in item.split("|")]
    if len(parts) != 3:
        raise click.BadParameter(f"'{item}': expected 'WHAT | HOW | BY DATE' (three parts separated by '|')",
                                 param_hint="--measure")
    return dict(zip(("statement", "method", "check_by"), parts, strict=True))


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}': expected QUESTION=ANSWER", param_hint=option)
        pairs[name.strip()] = value.strip()
    return pairs


def _cost_line(text: str) -> dict[str, str]:
    parts = text.split(":", 4)
    if len(parts) < 4:
        raise click.BadParameter(f"'{text}': expected YEAR:KIND:AMOUNT:FUNDING[:DESCRIPTION]")
    keys = ("year", "kind", "amount", "funding_source", "description")
    return dict(zip(keys, parts, strict=False))


@change.command("costs")
@click.argument("ref")
@as_option
@click.option("--line", "lines", multiple=True, required=True,
              help=f"YEAR:KIND:AMOUNT:FUNDING[:DESCRIPTION]; KIND is one of {', '.join(COST_KINDS)}.")
@pass_state
def costs(state: State, ref: str, as_email: str, lines: tuple[str, ...]) -> None:
    """Replace the financial plan's cost lines."""
    rt = state.runtime
    view = stages.record_financial_plan(rt, actor_id=actor_id(rt, as_email), ref=ref,
                                          lines=[_cost_line(t) for t in lines])
    echo(f"{view.ref}: financial plan saved ({len(lines)} lines)")


@change.command("release-plan")
@click.argument("ref")
@as_option
@click.option("--start", "window_start", help="Window start, school local time: 2026-07-20T16:00")
@click.option("--end", "window_end", help="Window end, school local time.")
@click.option("--backout", "backout_plan", default="")
@click.option("--test-plan", "test_plan", default="")
@click.option("--risk", "risk_answers", multiple=True, metavar="QUESTION=ANSWER",
              help="A risk-assessment answer (people=group, teaching=no …; see GET /api/v1/policy); repeat.")
@click.option("--impact", default="")
@pass_state
def release_plan(state: State, ref: str, as_email: str, risk_answers: tuple[str, ...], **data: str) -> None:
    """Record the release plan: window, risk assessment, impact, back-out and test plans."""
    rt = state.runtime
    view = stages.record_release_plan(rt, actor_id=actor_id(rt, as_email), ref=ref,
                                        data={**data, "risk_answers": _pairs(risk_answers, "--risk")})
    echo(f"{view.ref}: release plan saved")


@change.command("transfer")
@click.argument("ref")
@as_option
@click.option("--to", "to_email", required=True, help="The new owner's email (a requester).")
@click.option("--reason", required=True)
@pass_state
def transfer(state: State, ref: str, as_email: str, to_email: str, reason: str) -> None:
    """Hand a change to another requester (its requester, or accounts.change_transfer roles)."""
    rt = state.runtime
    view = ownership.transfer(rt, actor_id=actor_id(rt, as_email), ref=ref, to_email=to_email, reason=reason)
    echo(f"{view.ref}: now owned by {view.requester_name}")


@change.command("reschedule")
@click.argument("ref")
@as_option
@click.option("--start", "window_start", required=True, help="New window start, school local time.")
@click.option("--end", "window_end", required=True)
@click.option("--reason", required=True)
@pass_state
def reschedule(state: State, ref: str, as_email: str, window_start: str, window_end: str,
               reason: str) -> None:
    """Move a scheduled release (notices re-timed; those who had one get a correction)."""
    rt = state.runtime
    view = rescheduling.reschedule(rt, actor_id=actor_id(rt, as_email), ref=ref, window_start=window_start,
                               window_end=window_end, reason=reason)
    echo(f"{view.ref}: rescheduled, now {view.state}")


@change.command("unschedule")
@click.argument("ref")
@as_option
@click.option("--reason", required=True)
@pass_state
def unschedule(state: State, ref: str, as_email: str, reason: str) -> None:
    """Take a scheduled release off the schedule, back to approved."""
    rt = state.runtime
    view = rescheduling.unschedule(rt, actor_id=actor_id(rt, as_email), ref=ref, reason=reason)
    echo(f"{view.ref}: unscheduled, now {view.state}")


@change.command("peer-review")
@click.argument("ref")
@click.argument("outcome", type=click.Choice(["approve", "return"]))
@as_option
@click.option("--comments", default="", help="Required to return the plan.")
@pass_state
def peer_review_(state: State, ref: str, outcome: str, as_email: str, comments: str) -> None:
    """FITS's technical peer review of a release plan (support team, not its owners)."""
    rt = state.runtime
    view = peer_review.review_plan(rt, actor_id=actor_id(rt, as_email), ref=ref, outcome=outcome,
                                            comments=comments)
    echo(f"{view.ref}: peer review recorded ({outcome})")


@change.command("notices")
@click.argument("ref")
@as_option
@pass_state
def notices_(state: State, ref: str, as_email: str) -> None:
    """A release's notices, one per audience: id, status, when it goes, its subject."""
    rt = state.runtime
    for n in release_notices.notices_for(rt, actor_id=actor_id(rt, as_email), ref=ref):
        when = n.publish_at.astimezone(rt.timezone).strftime("%a %d %b %Y %H:%M")
        echo(f"{n.id}  {n.audience}  {n.status}  {when}  {n.subject}")


@change.command("notice")
@click.argument("ref")
@click.argument("notice_id", type=int)
@click.argument("action", type=click.Choice(release_notices.RELEASE_ACTIONS))
@as_option
@click.option("--at", default="",
              help="For send_at: a date and time in the school's zone, e.g. 2026-07-20T08:00.")
@click.option("--reason", default="", help="Why (required for not_relevant).")
@pass_state
def notice(state: State, ref: str, notice_id: int, action: str, as_email: str, at: str, reason: str) -> None:
    """Send a held notice now (send_now) or at a time (send_at), or mark it not relevant to
    its audience (not_relevant), as the change page does."""
    rt = state.runtime
    release_notices.release_notice(rt, actor_id=actor_id(rt, as_email), ref=ref, notice_id=notice_id,
                                   action=action, at=at, reason=reason)
    echo(f"{ref.upper()}: notice {notice_id} {action.replace('_', ' ')}")


@change.command("acknowledge")
@click.argument("ref")
@as_option
@pass_state
def acknowledge(state: State, ref: str, as_email: str) -> None:
    """Acknowledge changes made within the policy's tolerance since approval."""
    rt = state.runtime
    view = approved_service.acknowledge(rt, actor_id=actor_id(rt, as_email), ref=ref)
    echo(f"{view.ref}: changes since approval acknowledged")


@change.command("category")
@click.argument("ref")
@click.argument("category")
@as_option
@click.option("--reason", required=True, help="Why (the category decides who must approve).")
@pass_state
def category(state: State, ref: str, category: str, as_email: str, reason: str) -> None:
    """Move a change being planned to another category of its workflow (not lighter than the
    approval policy allows for its cost and risk)."""
    rt = state.runtime
    view = category_service.change_category(rt, actor_id=actor_id(rt, as_email), ref=ref, category=category,
                                    reason=reason)
    echo(f"{view.ref}: now {view.category}")


@change.command("review")
@click.argument("ref")
@as_option
@click.option("--outcome", required=True, type=click.Choice(REVIEW_OUTCOMES))
@click.option("--notes", default="")
@click.option("--actual", "actual", multiple=True, help="An actual cost: YEAR:KIND:AMOUNT:FUNDING")
@pass_state
def review(state: State, ref: str, as_email: str, outcome: str, notes: str, actual: tuple[str, ...]) -> None:
    """Record the post-implementation review."""
    rt = state.runtime
    view = stages.record_review(rt, actor_id=actor_id(rt, as_email), ref=ref, data={
        "outcome": outcome, "notes": notes, "actual_costs": [_cost_line(t) for t in actual]})
    echo(f"{view.ref}: review saved")


@change.command("do")
@click.argument("ref")
@click.argument("trigger")
@as_option
@click.option("--reason", default="")
@pass_state
def do(state: State, ref: str, trigger: str, as_email: str, reason: str) -> None:
    """Fire a workflow trigger (see 'change show' for those open to you)."""
    rt = state.runtime
    view = changes_service.fire(rt, actor_id=actor_id(rt, as_email), ref=ref, trigger=trigger, reason=reason)
    echo(f"{view.ref}: {trigger} → {view.state}")


@change.command("decide")
@click.argument("ref")
@click.argument("decision", type=click.Choice(["approve", "reject"]))
@as_option
@click.option("--comment", default="", help="Required to reject: the reason.")
@click.option("--role", help="Decide in this role, when you hold several the gate needs.")
@click.option("--on-behalf-of", "on_behalf_of", default="",
              help="A substitute deciding for this absent approver (their email).")
@pass_state
def decide(state: State, ref: str, decision: str, as_email: str, comment: str, role: str | None,
           on_behalf_of: str) -> None:
    """Approve or reject at the gate the change is waiting at."""
    rt = state.runtime
    result = gates.decide(rt, actor_id=actor_id(rt, as_email), ref=ref, decision=decision,
                             comment=comment, role=role,
                             on_behalf_of=actor_id(rt, on_behalf_of) if on_behalf_of else None)
    tail = f"; still {'; '.join(result.missing)}" if result.missing else ""
    echo(f"{result.change.ref}: {decision} recorded, gate {result.outcome}, "
         f"now in {result.change.state}{tail}")


@change.command("follow-up")
@click.argument("ref")
@as_option
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--category", type=click.Choice(["minor", "significant", "major"]))
@pass_state
def follow_up(state: State, ref: str, as_email: str, title: str, description: str,
              category: str | None) -> None:
    """Raise a follow-up change from a review; it starts at needs analysis."""
    rt = state.runtime
    view = changes_service.spawn_follow_up(rt, actor_id=actor_id(rt, as_email), ref=ref, title=title,
                                    description=description, category=category)
    echo(f"{view.ref} raised as a follow-up of {ref.upper()}, now in {view.state}")
