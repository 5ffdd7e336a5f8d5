"""Standard-change templates through their own workflow (domain.templates): proposed by a
requester with the approval policy's screening answers, approved or rejected by one of the
policy's template approvers who did not propose it — and, where the answers call for them
(personal data, safeguarding), by the DPO or the DSL too: it is active once each has
approved. Revised by their proposer, retired with a reason. Every step is audited (under
the template's reference, STD-0001) and tells the people concerned."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from ..domain import limits, templates
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted, Stale
from ..domain.roles import ADMIN, REQUESTER, may_view_changes
from ..domain.stages import CostLine, ReleasePlan, amount_problem, parse_amount
from ..domain.templates import parse_ref, ref_of
from ..domain.text import long_text_problem, normalise_newlines
from ..domain.vocabulary import COST_KINDS
from ..persistence import audit_store, outbox_store, queries, stage_store, template_store
from ..persistence.change_store import ChangeRecord
from ..persistence.db_hooks import clock_now
from ..persistence.models import StandardTemplate
from . import catalogue, common, evidence, schools
from .audit import TimelineEvent
from .common import unit_of_work
from .queues import Page
from .runtime import Runtime

USED = "template.used"
EVENTS = {
    "approve": "template.approved",
    "reject": "template.rejected",
    "revise": "template.revised",
    "retire": "template.retired",
}


@dataclass(frozen=True)
class TemplateView:
    id: int
    ref: str
    title: str
    description: str
    services: tuple[str, ...]
    max_cost: Decimal
    steps: str
    backout_plan: str
    used_by: tuple[str, ...]
    state: str
    state_title: str
    proposed_by: int
    proposed_by_name: str
    created_at: datetime
    updated_at: datetime
    decided_by_name: str
    decided_at: datetime | None
    note: str
    version: int
    uses: int
    screening: tuple[tuple[str, str], ...] = ()  # question → answer
    # Who must approve it (a label each) and who has, this round ("" while waiting).
    approvals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TemplateDetail:
    template: TemplateView
    actions: tuple[str, ...]  # what the viewer may do now (domain.templates.MOVES)
    recent_uses: tuple[tuple[str, str, str], ...]  # (ref, title, state)
    may_use: bool
    history: tuple[TimelineEvent, ...] = ()  # proposed, decided, revised, retired


def _lines(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("\n") if v)


def _answers(row: StandardTemplate) -> dict[str, str]:
    return dict(json.loads(row.screening or "{}"))


def _given(row: StandardTemplate) -> dict[str, str]:
    return dict(json.loads(row.approvals or "{}"))


def _needed(rt: Runtime, row: StandardTemplate) -> dict[str, tuple[str, ...]]:
    return rt.settings.policy.template_approvers_for(_answers(row))


def _missing(rt: Runtime, row: StandardTemplate) -> dict[str, tuple[str, ...]]:
    given = _given(row)
    return {key: roles for key, roles in _needed(rt, row).items() if key not in given}


def _approval_rows(rt: Runtime, row: StandardTemplate) -> tuple[tuple[str, str], ...]:
    given = _given(row)
    return tuple((" or ".join(rt.roles.label(r) for r in roles), given.get(key, ""))
                 for key, roles in _needed(rt, row).items())


def _view(rt: Runtime, row: StandardTemplate, names: Mapping[int, str], uses: int) -> TemplateView:
    assert row.id is not None
    return TemplateView(
        row.id,
        ref_of(row.id),
        row.title,
        row.description,
        _lines(row.services),
        row.max_cost,
        row.steps,
        row.backout_plan,
        _lines(row.used_by),
        row.state,
        templates.STATE_TITLES[row.state],
        row.proposed_by,
        names.get(row.proposed_by, ""),
        row.created_at,
        row.updated_at,
        names.get(row.decided_by or 0, ""),
        row.decided_at,
        row.note,
        row.version,
        uses,
        tuple(sorted(_answers(row).items())),
        _approval_rows(rt, row),
    )


def _views(rt: Runtime, session: Session, rows: list[StandardTemplate]) -> list[TemplateView]:
    names = queries.names_of(
        session, {r.proposed_by for r in rows} | {r.decided_by for r in rows if r.decided_by}
    )
    counts = template_store.use_counts(session, [r.id for r in rows if r.id is not None])
    return [_view(rt, r, names, counts.get(r.id or 0, 0)) for r in rows]


def _is_approver(rt: Runtime, actor: Actor) -> bool:
    return bool(set(rt.settings.policy.template_approvers) & set(actor.roles))


def _fills(rt: Runtime, actor: Actor, row: StandardTemplate) -> str | None:
    """The approval still missing that this person may give (a role they hold), or None."""
    return next((key for key, roles in _missing(rt, row).items() if set(roles) & set(actor.roles)), None)


def _actions(rt: Runtime, actor: Actor, row: StandardTemplate) -> tuple[str, ...]:
    deciding = _fills(rt, actor, row) is not None if row.state == templates.PROPOSED \
        else _is_approver(rt, actor)
    actions = templates.allowed_actions(
        row.state,
        approver=deciding,
        proposer=row.proposed_by == actor.id and REQUESTER in actor.roles,
    )
    if (
        row.state == templates.ACTIVE
        and "retire" not in actions
        and (ADMIN in actor.roles or _is_approver(rt, actor))
    ):
        actions.append("retire")  # retiring approves nothing: an admin, or the proposer on the CAB, may
    return tuple(actions)


def _screening(rt: Runtime, data: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """The screening answers (a JSON object, or form fields ``screening.<question>``) and
    what is wrong with them: every question of the policy answered from its choices."""
    raw = data.get("screening")
    if isinstance(raw, Mapping):
        answers = {str(k): str(v) for k, v in raw.items()}
    else:
        answers = {k.removeprefix("screening."): str(v) for k, v in data.items()
                   if isinstance(k, str) and k.startswith("screening.") and v}
    policy = rt.settings.policy
    return answers, policy.check_answers(answers, policy.screening_questions, "screening.")


def _content(rt: Runtime, session: Session, data: Mapping[str, Any],
             school_id: int | None = None) -> templates.TemplateData:
    answers, problems = _screening(rt, data)
    try:
        parsed = templates.parse_template(data, roles=rt.roles.names)
    except InvalidInput as err:
        raise InvalidInput({**err.problems, **problems}) from None
    if problems:
        raise InvalidInput(problems)
    # The trust's services, and a school's template its school's own too.
    services, unknown = catalogue.canonical(session, parsed.services,
                                            [] if school_id is None else [school_id])
    if unknown:
        raise InvalidInput({"services": unknown})
    return templates.TemplateData(
        parsed.title,
        parsed.description,
        tuple(services),
        parsed.max_cost,
        parsed.steps,
        parsed.backout_plan,
        parsed.used_by,
        tuple(sorted(answers.items())),
    )


def _payload(content: templates.TemplateData | StandardTemplate) -> dict[str, Any]:
    services = content.services if isinstance(content.services, tuple) else _lines(content.services)
    used_by = content.used_by if isinstance(content.used_by, tuple) else _lines(content.used_by)
    return {
        "title": content.title,
        "description": content.description,
        "services": list(services),
        "max_cost": str(content.max_cost),
        "steps": content.steps,
        "backout_plan": content.backout_plan,
        "used_by": list(used_by),
        "screening": dict(content.screening) if isinstance(content.screening, tuple)
        else json.loads(content.screening or "{}"),
    }


def _tell(
    rt: Runtime,
    session: Session,
    people: list[int],
    row: StandardTemplate,
    event: str,
    subject: str,
    body: str,
) -> None:
    assert row.id is not None
    at = rt.now()
    link = f"/templates/{row.id}"
    outbox_store.add(
        session,
        [
            {
                "created_at": at,
                "event": event,
                "change_ref": "",
                "recipient_id": uid,
                "channel": "person",
                "subject": f"[{ref_of(row.id)}] {subject}: {row.title}"[: limits.NOTICE_SUBJECT],
                "body": f"{body}\nOpen: {link}",
                "payload": json.dumps({"link": link}),
                "available_at": at,
            }
            for uid in dict.fromkeys(people)
        ],
    )


def _approvers(rt: Runtime, session: Session, but: int, row: StandardTemplate | None = None) -> list[int]:
    """Who is asked to decide: the template approvers, and the specialists its screening
    answers call for (each still to approve) — of its school, for a school's template."""
    roles = sorted({r for roles in (_missing(rt, row) if row is not None else
                                    {"t": rt.settings.policy.template_approvers}).values() for r in roles})
    school = row.school_id if row is not None else None
    found = queries.users_with_roles(session, roles) if school is None else \
        queries.users_with_roles(session, roles, school_id=school, across=rt.roles.trust_roles)
    return [u for u in found if u != but]


def _evidence(rt: Runtime, data: Mapping[str, Any]) -> list[str]:
    """The evidence tags a template's uses start with (InvalidInput naming ``evidence``)."""
    tags, problem = evidence.clean(rt, data.get("evidence") or [])
    if problem:
        raise InvalidInput({"evidence": problem})
    return tags


def propose(rt: Runtime, *, actor_id: int, data: Mapping[str, Any]) -> TemplateView:
    """A requester proposes a template; the template approvers are asked to decide."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        if REQUESTER not in actor.roles:
            raise NotPermitted("only a requester may propose a standard-change template")
        school_id = schools.owner_of_new(rt, session, actor, str(data.get("school") or ""))
        content = _content(rt, session, data, school_id)
        tags = _evidence(rt, data)
        at = rt.now()
        row = template_store.add(
            session,
            StandardTemplate(
                title=content.title,
                description=content.description,
                services="\n".join(content.services),
                max_cost=content.max_cost,
                steps=content.steps,
                backout_plan=content.backout_plan,
                used_by="\n".join(content.used_by),
                screening=json.dumps(dict(content.screening), sort_keys=True),
                approvals="{}",
                state=templates.PROPOSED,
                proposed_by=actor.id,
                created_at=at,
                updated_at=at,
                note="",
                school_id=school_id,
                evidence="\n".join(tags),
            ),
        )
        assert row.id is not None
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=ref_of(row.id),
            event_type="template.proposed",
            payload=_payload(content),
        )
        _tell(
            rt,
            session,
            _approvers(rt, session, actor.id, row),
            row,
            "template.proposed",
            "Standard-change template to approve",
            f"{actor.name} proposes a standard-change template: {row.title}.\n"
            f"Up to {rt.money(row.max_cost)} a use; services: {', '.join(content.services)}.",
        )
        return _views(rt, session, [row])[0]


def _load(session: Session, template_id: int, expected_version: int | None,
          schools_seen: frozenset[int] | None) -> StandardTemplate:
    row = template_store.get_for_update(session, template_id, schools=schools_seen)
    if row is None:
        raise NotFound(f"no template {ref_of(template_id) if 0 < template_id < 10**9 else template_id}")
    if expected_version is not None and row.version != expected_version:
        raise Stale(ref_of(template_id))
    return row


def _check_reason(action: str, reason: str) -> str:
    reason = normalise_newlines(reason or "").strip()
    if action in templates.NEEDS_REASON and not reason:
        raise InvalidInput({"reason": f"a reason is required to {action} a template"})
    if problem := long_text_problem(reason, limits.REASON):
        raise InvalidInput({"reason": problem})
    return reason


def act(
    rt: Runtime,
    *,
    actor_id: int,
    template_id: int,
    action: str,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> TemplateView:
    """Approve, reject, retire (with a reason) or revise (with new content) a template."""
    reason = _check_reason(action, reason)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = _load(session, template_id, expected_version, actor.schools)
        if row.school_id is None and actor.schools is not None and action != "revise":
            # The trust's template is every school's: decided by someone who acts in every school.
            raise NotPermitted("the trust's templates are approved, returned and retired by someone who acts "
                               "in every school")
        new_state = templates.next_state(action, row.state)
        if action not in _actions(rt, actor, row):
            if row.proposed_by == actor.id and action in ("approve", "reject") and _is_approver(rt, actor):
                raise NotPermitted("nobody approves or rejects a template they proposed")
            if action == "revise":
                raise NotPermitted("only the template's proposer may revise it")
            raise NotPermitted(
                f"templates are approved by: "
                f"{', '.join(rt.roles.label(r) for r in rt.settings.policy.template_approvers)}"
            )
        assert row.id is not None
        payload: dict[str, Any] = {"from": row.state, "to": new_state, "reason": reason}
        if action == "approve":
            # One approval each for the CAB and every specialist the screening calls for: the
            # template is active once the last is given.
            key = _fills(rt, actor, row)
            assert key is not None
            given = {**_given(row), key: actor.label}
            row.approvals = json.dumps(given, sort_keys=True)
            payload["approved_as"] = key
            if _missing(rt, row):
                new_state = templates.PROPOSED
                payload["to"] = new_state
                payload["waiting_for"] = sorted(_missing(rt, row))
        elif action in ("revise", "reject"):
            row.approvals = "{}"  # a new round: every approval again
        if action == "revise":
            content = _content(rt, session, data or {}, row.school_id)
            if (data or {}).get("evidence") is not None:
                row.evidence = "\n".join(_evidence(rt, data or {}))
            payload |= {"before": _payload(row), "after": _payload(content)}
            row.title, row.description = content.title, content.description
            row.services, row.max_cost = "\n".join(content.services), content.max_cost
            row.steps, row.backout_plan = content.steps, content.backout_plan
            row.used_by = "\n".join(content.used_by)
            row.screening = json.dumps(dict(content.screening), sort_keys=True)
        else:
            row.decided_by, row.decided_at = actor.id, rt.now()
        row.state, row.note = new_state, reason
        row.updated_at, row.version = rt.now(), row.version + 1
        session.add(row)
        partial = action == "approve" and new_state == templates.PROPOSED
        audit_store.append(session, actor=actor.label, change_ref=ref_of(row.id),
                           event_type="template.endorsed" if partial else EVENTS[action], payload=payload)
        if action == "revise" or partial:
            _tell(
                rt,
                session,
                _approvers(rt, session, actor.id, row),
                row,
                "template.proposed",
                "Standard-change template to approve" if partial
                else "Revised standard-change template to approve",
                f"{actor.name} approved the template {row.title} as "
                f"{' or '.join(rt.roles.label(r) for r in _needed(rt, row)[payload['approved_as']])}; "
                "it needs your approval too." if partial
                else f"{actor.name} revised the template {row.title}; it awaits a decision again.",
            )
        else:
            verdict = {"approve": "approved", "reject": "returned", "retire": "retired"}[action]
            _tell(
                rt,
                session,
                [row.proposed_by] if row.proposed_by != actor.id else [],
                row,
                f"template.{verdict}",
                f"Template {verdict}",
                f"{actor.name} {verdict} the standard-change template {row.title}."
                + (f"\n{reason}" if reason else ""),
            )
        return _views(rt, session, [row])[0]


def get(rt: Runtime, *, actor_id: int, template_id: int) -> TemplateDetail:
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            raise NotFound(f"no template {ref_of(template_id)}")
        row = template_store.get(session, template_id, schools=actor.schools)
        if row is None:
            raise NotFound(f"no template {ref_of(template_id) if 0 < template_id < 10**9 else template_id}")
        view = _views(rt, session, [row])[0]
        return TemplateDetail(
            view,
            _actions(rt, actor, row),
            tuple(template_store.recent_uses(session, template_id)),
            row.state == templates.ACTIVE and bool(set(view.used_by) & set(actor.roles)),
            tuple(
                TimelineEvent(seq, at, who, kind, json.loads(payload))
                for seq, at, who, kind, payload in audit_store.of_template(session, view.ref, leave_out=USED)
            ),
        )


def browse(
    rt: Runtime, *, actor_id: int, state: str = "", q: str = "", limit: int = 25, offset: int = 0
) -> Page:
    """Templates the viewer may see (anyone who sees changes), by title."""
    problems = {}
    if state and state not in templates.STATES:
        problems["state"] = f"must be one of: {', '.join(templates.STATES)}"
    if len(q) > limits.SEARCH:
        problems["q"] = f"is longer than {limits.SEARCH} characters"
    if problems:
        raise InvalidInput(problems)
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not may_view_changes(actor.roles):
            return Page([], 0, limit, offset)
        rows, total = template_store.page(session, state=state, q=q.strip(), limit=limit, offset=offset,
                                          schools=actor.schools)
        return Page(_views(rt, session, rows), total, limit, offset)


def usable(rt: Runtime, *, actor_id: int) -> list[TemplateView]:
    """The active templates this person may raise a standard change from."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        rows, _ = template_store.page(session, state=templates.ACTIVE, q="", limit=limits.PAGE_MAX, offset=0,
                                      schools=actor.schools)
        return [v for v in _views(rt, session, rows) if set(v.used_by) & set(actor.roles)]


@dataclass(frozen=True)
class Use:
    """A standard change about to be raised from a template, checked."""

    template: StandardTemplate
    services: tuple[str, ...]
    cost: Decimal
    description: str


def check_use(
    rt: Runtime,
    session: Session,
    actor: Actor,
    template: str | int | None,
    services: list[str],
    cost: Any,
    description: str,
    school_id: int | None = None,
) -> Use:
    """What a standard change raised from ``template`` will hold, or InvalidInput saying why it
    cannot be: no active template, a role it is not for, services outside it, a cost above it."""
    template_id = parse_ref(template) if template not in (None, "") else None
    if template_id is None:
        raise InvalidInput(
            {"template": "a standard change is raised from an approved template: choose one from Templates"}
        )
    row = template_store.get(session, template_id, schools=actor.schools)
    if row is None:
        raise InvalidInput({"template": f"no template {ref_of(template_id)}"})
    if row.school_id is not None and school_id is not None and row.school_id != school_id:
        raise InvalidInput({"template": f"{ref_of(template_id)} is another school's template: a change of "
                                        "this school uses the trust's or its own"})
    allowed = _lines(row.services)
    chosen = tuple(services) or allowed
    amount = parse_amount(cost) if cost not in (None, "") else None
    problems = templates.use_problems(
        state=row.state,
        used_by=_lines(row.used_by),
        actor_roles=actor.roles,
        services=chosen,
        allowed_services=allowed,
        cost=amount,
        max_cost=row.max_cost,
        money=rt.money,
    )
    if cost not in (None, "") and amount is None:
        problems["cost"] = amount_problem(cost) or "must be an amount of money"
    if row.state == templates.ACTIVE and (not _answers(row) or _missing(rt, row)):
        # Approved before templates were screened (or before the policy asked for more):
        # its proposer revises it with the screening answers, and those they call for approve.
        problems["template"] = (f"{ref_of(template_id)} has not been screened for personal data and "
                                "safeguarding: its proposer revises it with the screening answers first")
    if problems:
        raise InvalidInput(problems)
    assert amount is not None
    return Use(row, chosen, amount, description.strip() or row.description)


def record_use(session: Session, actor: Actor, use: Use, change: ChangeRecord,
               window: tuple[datetime, datetime] | None = None) -> None:
    """The change starts with the template's back-out plan in its release plan (and ``window``,
    a recurrence's occurrence's) and its estimate as the planned cost; the template's history
    records the use."""
    row = use.template
    assert row.id is not None
    at = clock_now(session)
    change_id, change_ref = change.id, change.ref
    change.planned_cost = stage_store.replace_cost_lines(
        session,
        change_id,
        [CostLine(0, COST_KINDS[0], use.cost, "", f"estimate within {ref_of(row.id)}")],
        actual=False,
    )
    stage_store.save_release_plan(
        session, change_id, ReleasePlan(window[0] if window else None, window[1] if window else None,
                                        row.backout_plan, "", "", ""), at
    )
    if row.evidence:  # what its uses are evidence of
        evidence.save(session, change_id, row.evidence.split("\n"), None, at)
    audit_store.append(
        session,
        actor=actor.label,
        change_ref=ref_of(row.id),
        event_type=USED,
        payload={"change": change_ref, "cost": str(use.cost), "services": list(use.services)},
    )
