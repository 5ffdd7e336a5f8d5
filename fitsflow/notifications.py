"""Built-in receivers: turn each signal into outbox rows for the right people.

Who hears what is configuration: the ``[notify]`` settings name, per event, rules
from ``_RULES`` below (see config.example.toml). Rows are written through the
sender's session, so they commit with the state change or not at all. Delivery is a separate worker's job.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from . import signals
from .config import DEFAULTS
from .domain.actor import Actor
from .domain.errors import ConfigError
from .domain.vocabulary import SIGNAL_NAMES
from .persistence import queries
from .persistence.change_store import ChangeRecord
from .persistence.db_hooks import NOTIFY_RULES, WEBHOOK_EVENTS
from .persistence.models import OutboxMessage
from .workflow.definition import WorkflowDefinition


def parse_rules(notify: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """The [notify] settings as rule names per event; unknown names are a ConfigError."""
    rules: dict[str, tuple[str, ...]] = {}
    for event, text in notify.items():
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        unknown = [n for n in names if n not in _RULES]
        if unknown:
            raise ConfigError(f"notify.{event}: unknown recipient rule {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(_RULES))})")
        rules[event] = names
    return rules


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
    "review_due": "Review due",
    "release_notice": "Release notice",
}

_INSERT = OutboxMessage.__table__.insert()  # type: ignore[attr-defined]

Rule = Callable[[Session, ChangeRecord, WorkflowDefinition, dict[str, Any]], list[int]]


def _requester(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
               kw: dict[str, Any]) -> list[int]:
    return [change.requester_id]


def _gate_approvers(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
                    kw: dict[str, Any]) -> list[int]:
    gate = wf.gate_at(change.state)
    if gate is None:
        return []
    return queries.users_with_roles(session, gate.requirements(change.category))


def _waiting_approvers(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
                       kw: dict[str, Any]) -> list[int]:
    gate = kw.get("gate")
    if gate is None or kw.get("outcome") == "pending":
        return []
    asked = queries.users_with_roles(session, gate.requirements(change.category))
    decided = {a.approver_id for a in kw.get("decisions", ())}
    return [uid for uid in asked if uid not in decided]


def _support_team(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
                  kw: dict[str, Any]) -> list[int]:
    return queries.audience_members(session, ["support"])


def _cab(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
         kw: dict[str, Any]) -> list[int]:
    return queries.users_with_roles(session, ["cab"])


def _slt(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
         kw: dict[str, Any]) -> list[int]:
    return queries.users_with_roles(session, ["slt", "head"])


def _deciders(session: Session, change: ChangeRecord, wf: WorkflowDefinition,
              kw: dict[str, Any]) -> list[int]:
    return queries.deciders_of(session, change.id)


_RULES: dict[str, Rule] = {
    "requester": _requester,
    "gate_approvers": _gate_approvers,
    "waiting_approvers_when_gate_done": _waiting_approvers,
    "support_team": _support_team,
    "cab": _cab,
    "slt": _slt,
    "deciders": _deciders,
}


def recipients(event: str, session: Session, change: ChangeRecord, workflow: WorkflowDefinition,
               actor: Actor, extra: dict[str, Any], include_actor: bool = False) -> list[int]:
    """Everyone the rules for this event name, without duplicates (or the actor, unless asked)."""
    seen: dict[int, None] = {}
    for rule in session.info.get(NOTIFY_RULES, DEFAULT_RULES).get(event, ()):
        for uid in _RULES[rule](session, change, workflow, extra):
            if include_actor or uid != actor.id:
                seen.setdefault(uid, None)
    return list(seen)


def _body(event: str, change: ChangeRecord, actor: Actor, extra: dict[str, Any]) -> str:
    lines = [f"{change.ref}: {change.title}", f"State: {change.state.replace('_', ' ')}",
             f"By: {actor.name}"]
    gate = extra.get("gate")
    if event == "submitted" and extra.get("gate_title"):
        lines.append(f"Your decision is needed at: {extra['gate_title']}")
    if event == "decided" and gate is not None:
        lines.append(f"{gate.title}: {extra.get('decision')} ({extra.get('outcome')})")
        if extra.get("comment"):
            lines.append(f"Comment: {extra['comment']}")
    if extra.get("reason"):
        lines.append(f"Reason: {extra['reason']}")
    lines.append(f"Open: /changes/{change.ref}")
    return "\n".join(lines)


def queue(event: str, change: ChangeRecord, *, session: Session, actor: Actor, workflow: WorkflowDefinition,
          available_at: datetime | None = None, include_actor: bool = False, **extra: Any) -> int:
    """Write one outbox row per recipient (due now, or at ``available_at``); return how many."""
    now = datetime.now(UTC)
    due = available_at or now
    people = recipients(event, session, change, workflow, actor, extra, include_actor=include_actor)
    subject = f"[{change.ref}] {SUBJECTS.get(event, event)}: {change.title}"[:300]
    body = _body(event, change, actor, extra)
    payload = json.dumps({"event": event, "ref": change.ref, "state": change.state,
                          "link": f"/changes/{change.ref}"}, sort_keys=True)
    rows: list[dict[str, Any]] = []
    if event in session.info.get(WEBHOOK_EVENTS, ()):
        rows.append({"created_at": now, "event": event, "change_ref": change.ref, "recipient_id": None,
                     "subject": subject, "body": body, "payload": payload, "status": "pending",
                     "attempts": 0, "available_at": due, "last_error": "", "channel": "webhook"})
    if people or rows:
        session.connection().execute(_INSERT, rows + [
            {"created_at": now, "event": event, "change_ref": change.ref, "recipient_id": uid,
             "subject": subject, "body": body, "payload": payload, "status": "pending",
             "attempts": 0, "available_at": due, "last_error": "", "channel": "person"}
            for uid in people])
    return len(people)


def _receiver(event: str) -> Callable[..., None]:
    def receive(change: ChangeRecord, **kw: Any) -> None:
        queue(event, change, **kw)

    receive.__name__ = f"on_{event}"
    return receive


DEFAULT_RULES = parse_rules(DEFAULTS["notify"])

# Held strongly (weak=False): these receivers are built here, not module-level functions.
for _event in SIGNAL_NAMES:
    signals.by_name(_event).connect(_receiver(_event), weak=False)
