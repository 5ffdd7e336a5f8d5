"""Built-in receivers: turn each signal into outbox rows for the right people.

Who hears what is configuration: ``[notify]`` names, per event, recipient rules —
``requester``, ``gate_approvers``, ``waiting_approvers_when_gate_done``, ``deciders``,
any role name (everyone holding it) and ``audience:NAME`` (everyone in it). Rows are
written through the sender's session, so they commit with the state change or not
at all; delivery is the worker's job. ``connect`` is called when the runtime is built.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from .. import signals
from ..config import NotifySettings
from ..domain.actor import Actor
from ..domain.errors import ConfigError
from ..domain.roles import RoleBook
from ..domain.vocabulary import SIGNAL_NAMES
from ..persistence import absence_store, outbox_store, queries, queue_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import Gate, WorkflowDefinition
from .runtime import Runtime

_DYNAMIC = ("requester", "gate_approvers", "waiting_approvers_when_gate_done", "deciders")
AUDIENCE_PREFIX = "audience:"


def parse_rules(notify: NotifySettings, roles: RoleBook) -> Mapping[str, tuple[str, ...]]:
    """The [notify] settings as rule names per event; an unknown name is a ConfigError."""
    return {event: rule_names(text, roles, f"notify.{event}") for event, text in notify.model_dump().items()}


def rule_names(text: str, roles: RoleBook, key: str) -> tuple[str, ...]:
    """Comma-separated recipient rules (requester, deciders, a role, audience:NAME …), each
    known, or a ConfigError naming the setting."""
    known = [*_DYNAMIC, *roles.names, *(AUDIENCE_PREFIX + a for a in roles.audience_names)]
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(f"{key}: unknown recipient rule {', '.join(unknown)} (known: {', '.join(known)})")
    return names


SUBJECTS: dict[str, str] = {
    "raised": "Change raised",
    "submitted": "Approval needed",
    "decided": "Decision recorded",
    "scheduled": "Release scheduled",
    "released": "Released",
    "backed_out": "Release backed out",
    "review_opened": "Review open: your feedback is wanted",
    "closed": "Change closed",
    "withdrawn": "Change withdrawn",
    "window_clash": "Release window clashes with another change",
    "approval_changed": "Changed since approval: please acknowledge",
    "rescheduled": "Release moved",
    "peer_reviewed": "Peer review of the release plan",
    "peer_review_wanted": "A release plan awaits your peer review",
    "review_due": "Review due",
    "release_notice": "Release notice",
}


def _round_roles(session: Session, change: ChangeRecord, gate: Gate) -> list[str]:
    """The roles the current round asks for, as the policy computed them when it opened."""
    stored = queries.round_requirements(session, change.id, gate.name, change.approval_round)
    return list(stored) if stored else list(gate.requirements(change.category))


def rule_members(rule: str, runtime: Runtime, session: Session, change: ChangeRecord,
                 wf: WorkflowDefinition, kw: dict[str, Any]) -> list[int]:
    if rule == "requester":
        return [change.requester_id]
    if rule == "gate_approvers":  # and the substitutes of those away today
        # The gate it is at, or the one it just left (withdrawn while approvers waited).
        gate = wf.gate_at(change.state) or wf.gates.get(kw.get("left_gate") or "")
        if gate is None:
            return []
        people = queries.users_with_roles(session, _round_roles(session, change, gate),
                                          **_of_school(runtime, change))
        today = runtime.today()
        return list(dict.fromkeys([*people, *absence_store.away(session, people, today).values()]))
    if rule == "waiting_approvers_when_gate_done":
        gate = kw.get("gate")
        if gate is None or kw.get("outcome") == "pending":
            return []
        decided = {a.approver_id for a in kw.get("decisions", ())}
        return [uid for uid in queries.users_with_roles(session, _round_roles(session, change, gate),
                                                        **_of_school(runtime, change))
                if uid not in decided]
    if rule == "deciders":
        return queries.deciders_of(session, change.id)
    if rule.startswith(AUDIENCE_PREFIX):
        return queries.audience_members(session, [rule[len(AUDIENCE_PREFIX):]], school_id=change.school_id)
    return queries.users_with_roles(session, [rule], **_of_school(runtime, change))


def _of_school(runtime: Runtime, change: ChangeRecord) -> dict[str, Any]:
    """Who is told of a change: its school's people, and holders of trust roles."""
    return {"school_id": change.school_id, "across": runtime.roles.trust_roles}


def recipients(event: str, runtime: Runtime, session: Session, change: ChangeRecord,
               workflow: WorkflowDefinition, actor: Actor, extra: dict[str, Any],
               include_actor: bool = False, exclude: Collection[int] = ()) -> list[int]:
    """Everyone the rules for this event name, without duplicates (or the actor, unless
    asked, or anyone in ``exclude``)."""
    seen: dict[int, None] = {}
    for rule in runtime.notify_rules.get(event, ()):
        for uid in rule_members(rule, runtime, session, change, workflow, extra):
            if (include_actor or uid != actor.id) and uid not in exclude:
                seen.setdefault(uid, None)
    return list(seen)


def _decision_facts(runtime: Runtime, session: Session, change: ChangeRecord) -> list[str]:
    """What an approver decides on, as the decision card shows it: money, risk, window."""
    known = queue_store.facts(session, [change.id])[change.id]
    total = sum(known.cost_by_year.values(), Decimal(0))
    first = known.cost_by_year.get(0, Decimal(0))
    lines = [f"Five-year cost: {runtime.money(total)} (year 1: {runtime.money(first)})",
             f"Risk: {known.risk or 'not assessed yet'}"]
    if known.window_start and known.window_end:
        zone = runtime.timezone
        lines.append(f"Window: {known.window_start.astimezone(zone):%a %d %b %Y %H:%M} to "
                     f"{known.window_end.astimezone(zone):%a %d %b %Y %H:%M}")
    return lines


_DECIDED = {"approve": "approved", "reject": "rejected"}
_OUTCOMES = {"passed": "the gate is passed and the change moves on",
             "pending": "other approvals are still needed",
             "rejected": "the change goes back to be reworked or withdrawn"}


def decision_line(gate_title: str, decision: str, outcome: str, by: str) -> str:
    """A decision in words: "Approval to implement: rejected by Sam — the change goes back…"."""
    return f"{gate_title}: {_DECIDED.get(decision, decision)} by {by} — {_OUTCOMES.get(outcome, outcome)}"


def subject_of(event: str, change: ChangeRecord, extra: Mapping[str, Any]) -> str:
    """A message's subject: a decision says which (a rejection must not read like any other)."""
    what = SUBJECTS.get(event, event)
    if event == "decided":
        what = {"reject": "Rejected", "approve": "Approved" if extra.get("outcome") == "passed"
                else "Approval recorded"}.get(str(extra.get("decision")), what)
    return f"[{change.ref}] {what}: {change.title}"[:300]


def _body(event: str, change: ChangeRecord, workflow: WorkflowDefinition, actor: Actor,
          extra: dict[str, Any], facts: list[str]) -> str:
    state = workflow.states.get(change.state)
    lines = [f"{change.ref}: {change.title}", f"State: {state.title if state else change.state}",
             f"By: {actor.name}"]
    gate = extra.get("gate")
    if event == "submitted" and extra.get("gate_title"):
        lines.append(f"Your decision is needed at: {extra['gate_title']}")
        lines.extend(facts)
    if event == "decided" and gate is not None:
        lines.append(decision_line(gate.title, str(extra.get("decision")), str(extra.get("outcome")),
                                   actor.name))
        if extra.get("comment"):
            label = "Reason" if extra.get("decision") == "reject" else "Comment"
            lines.append(f"{label}: {extra['comment']}")
    if event == "approval_changed" and extra.get("gate_title"):
        lines.append(f"Still approved ({extra['gate_title']}) within the policy's tolerance; to acknowledge:")
    for line in extra.get("changed", ()):
        lines.append(f"Changed since approval: {line}")
    for clash in extra.get("clashes", ()):
        lines.append(f"Clash: the window overlaps {clash}")
    for period in extra.get("calendar", ()):
        lines.append(f"School calendar: the window falls in {period}")
    if extra.get("reason"):
        lines.append(f"Reason: {extra['reason']}")
    return "\n".join(lines)  # the link is the message's own (delivery makes it absolute)


def queue(event: str, change: ChangeRecord, *, runtime: Runtime, session: Session, actor: Actor,
          workflow: WorkflowDefinition, available_at: datetime | None = None,
          include_actor: bool = False, exclude: Collection[int] = (), also: Collection[int] = (),
          feedback_from: Collection[int] = (), **extra: Any) -> int:
    """Write one outbox row per recipient (due now, or at ``available_at``); return how many.
    ``also``: people told besides those the rules name; ``feedback_from``: those whose message
    opens the review's feedback form (after sign-in) rather than the change."""
    now = runtime.now()
    due = available_at or now
    people = recipients(event, runtime, session, change, workflow, actor, extra,
                        include_actor=include_actor, exclude=exclude)
    people += [uid for uid in dict.fromkeys(also) if uid not in set(people)]
    subject = subject_of(event, change, extra)
    asks_decision = event == "submitted" and bool(extra.get("gate_title"))
    body = _body(event, change, workflow, actor, extra,
                 _decision_facts(runtime, session, change) if asks_decision else [])
    # An approval request opens the decision card (after sign-in, sign-in returns to it).
    link = f"/changes/{change.ref}#decide" if asks_decision else f"/changes/{change.ref}"
    payload = json.dumps({"event": event, "ref": change.ref, "state": change.state, "link": link},
                         sort_keys=True)
    common = {"created_at": now, "event": event, "change_ref": change.ref, "subject": subject,
              "body": body, "payload": payload, "available_at": due}
    rows: list[dict[str, Any]] = []
    if event in runtime.settings.webhook.event_set:
        rows.append({**common, "recipient_id": None, "channel": "webhook"})
    rows += [{**common, "recipient_id": uid, "channel": "person"} for uid in people]
    if feedback_from:
        asked = set(feedback_from)
        form = json.dumps({"event": event, "ref": change.ref, "state": change.state,
                           "link": f"/changes/{change.ref}/feedback"}, sort_keys=True)
        body_form = body + "\nYour feedback is wanted: four questions and two boxes, a minute or two."
        for row in rows:
            if row["recipient_id"] in asked:
                row.update(payload=form, body=body_form)
    outbox_store.add(session, rows)
    return len(people)


def _receiver(event: str) -> Callable[..., None]:
    def receive(change: ChangeRecord, **kw: Any) -> None:
        queue(event, change, **kw)

    receive.__name__ = f"notify_{event}"
    return receive


# Built once here, connected by ``connect`` (held strongly: they are not module-level defs).
# A review opening is told by services.feedback, which asks for the feedback in the same step.
RECEIVERS: dict[str, Callable[..., None]] = {event: _receiver(event) for event in SIGNAL_NAMES
                                             if event != "review_opened"}


def connect() -> None:
    """Connect the built-in receivers; connecting again is a no-op."""
    for event, receiver in RECEIVERS.items():
        signals.by_name(event).connect(receiver, weak=False)
