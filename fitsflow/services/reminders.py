"""Nothing stalls at a gate: approvers still to decide are reminded after
``reminders.after_school_days`` school days (an emergency's after hours), and the
``reminders.escalation_role`` is told after a further ``escalate_after_school_days``. Each is
sent once per round; neither goes out once the person has decided or the gate has settled
(a settled gate's round is no longer open). The worker runs this."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlmodel import Session

from ..domain.guards import gate_quorum
from ..persistence import absence_store, change_store, outbox_store, queries
from ..persistence.models import GateReminder
from . import calendar, common
from .ownership import owns
from .runtime import Runtime
from .subject import ChangeSubject

REMINDER, ESCALATION = "reminder", "escalation"


def run_due(rt: Runtime, *, now: datetime) -> int:
    """Send the reminders and escalations now due; return how many messages were queued.
    What is due is found in a read (nothing holds the write lock while the open rounds are
    looked through); only what is due is written, each checked again inside the write."""
    at_gates = sorted({(wf.name, gate.state) for wf in rt.workflows.every_version()
                       for gate in wf.definition.gates.values()})
    with rt.db.read() as session:
        due = _due(rt, session, now, at_gates)
    if not due:
        return 0
    sent = 0
    with rt.db.transaction() as session:
        for ref, gate_name, round_, kind, opened in due:
            change = change_store.load(session, ref)
            if change is None or change.approval_round != round_:
                continue
            definition = common.workflow_of(rt, change).definition
            gate = definition.gate_at(change.state)
            if gate is None or gate.name != gate_name \
                    or session.get(GateReminder, (change.id, gate_name, round_, kind)) is not None:
                continue  # settled, or sent by another worker, since it was read
            subject = ChangeSubject(rt, session, change, definition)
            sent += _send(rt, session, change, subject, gate.title, kind, now, opened)
            session.add(GateReminder(change_id=change.id, gate=gate_name, round=round_, kind=kind,
                                     sent_at=now))
    return sent


def _due(rt: Runtime, session: Session, now: datetime,
         at_gates: list[tuple[str, str]]) -> list[tuple[str, str, int, str, datetime]]:
    """(ref, gate, round, kind, opened) of each reminder or escalation due and not yet sent."""
    settings = rt.settings.reminders
    due = []
    for found in queries.open_rounds(session, at_gates):
        definition = common.workflow_of(rt, found).definition
        gate = definition.gate_at(found.state)
        if gate is None or gate.name != found.gate:
            continue
        opened = found.opened
        if definition.emergency:
            remind_at = opened + timedelta(hours=settings.emergency_after_hours)
            escalate_at = opened + timedelta(hours=2 * settings.emergency_after_hours)
        else:
            school = calendar.school_calendar(rt, session, found.school_id)  # read once a school
            remind_at = school.school_days_after(opened, settings.after_school_days)
            escalate_at = school.school_days_after(
                opened, settings.after_school_days + settings.escalate_after_school_days
            )
        for kind, at in ((REMINDER, remind_at), (ESCALATION, escalate_at)):
            if now >= at and kind not in found.sent:
                due.append((found.ref, found.gate, found.round, kind, opened))
    return due


def _send(
    rt: Runtime,
    session: Session,
    change: change_store.ChangeRecord,
    subject: ChangeSubject,
    gate_title: str,
    kind: str,
    now: datetime,
    opened: datetime,
) -> int:
    missing = gate_quorum(subject)
    decided = {a.approver_id for a in subject.approvals}
    short = [
        role
        for role, n in subject.gate_requirements.items()
        if sum(1 for a in subject.approvals if a.role == role and a.decision == "approve") < n
    ]
    waiting = [
        uid
        for uid in queries.users_with_roles(session, short, school_id=change.school_id,
                                            across=rt.roles.trust_roles)
        if uid not in decided and not owns(session, change, uid)
    ]
    today = now.astimezone(rt.timezone).date()
    waiting = list(dict.fromkeys([*waiting, *absence_store.away(session, waiting, today).values()]))
    since = opened.astimezone(rt.timezone).strftime("%a %d %b %Y")
    if kind == REMINDER:
        people, title = waiting, "Reminder: your decision is needed"
        body = (
            f"{change.ref}: {change.title} has been waiting at {gate_title} since {since}.\n"
            f"Still needed: {'; '.join(missing)}"
        )
    else:
        people = [
            u
            for u in queries.users_with_roles(session, [rt.settings.reminders.escalation_role],
                                              school_id=change.school_id, across=rt.roles.trust_roles)
            if not owns(session, change, u)
        ]
        title = "Escalated: a decision is overdue"
        body = (
            f"{change.ref}: {change.title} has waited at {gate_title} since {since} and its approvers were "
            f"reminded.\nStill needed: {'; '.join(missing)}\n"
            "You may now decide in place of an approver still missing (not in a trust role's place: "
            "those wait for the trust's people)."
        )
    outbox_store.add(
        session,
        [
            {
                "created_at": now,
                "event": kind,
                "change_ref": change.ref,
                "recipient_id": uid,
                "channel": "person",
                "subject": f"[{change.ref}] {title}: {change.title}"[:300],
                "body": body,  # delivery adds the link, absolute, as a link
                "payload": json.dumps({"link": f"/changes/{change.ref}#decide"}),
                "available_at": now,
            }
            for uid in people
        ],
    )
    return len(people)
