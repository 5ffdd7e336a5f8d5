"""Issue: nothing chased an approver. Now approvers still to decide are reminded after two
school days (by the school calendar: across a weekend and a half-term), the head is told
after five more, an emergency's approvers within hours; each once per round, and not once
the person has decided or the gate has settled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from fitsflow.domain.errors import NotPermitted
from fitsflow.persistence.models import AuditEvent, GateRequirement, OutboxMessage
from fitsflow.services import calendar, changes, gates, queues, reminders

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


def _sent(rt, ref, kind):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return sorted(
            m.recipient_id
            for m in session.exec(
                select(OutboxMessage).where(OutboxMessage.change_ref == ref, OutboxMessage.event == kind)
            )
        )


def _opened(rt, ref, at):  # type: ignore[no-untyped-def]
    """Pretend the round opened at ``at`` (a fake clock for the school days since)."""
    from fitsflow.persistence.models import Change

    with rt.db.transaction() as session:
        change_id = session.exec(select(Change.id).where(Change.ref == ref)).one()
        for row in session.exec(select(GateRequirement).where(GateRequirement.change_id == change_id)):
            row.opened_at = at
            session.add(row)


def test_reminded_after_two_school_days_across_a_weekend_and_a_half_term(rt):
    # Half-term Mon 26 – Fri 30 Oct 2026; the round opens on Thursday 22 Oct at 10:00.
    calendar.add_period(
        rt, actor_id=None, kind="half_term", title="October half-term", start="2026-10-26", end="2026-10-30"
    )
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")  # finance + SLT
    _opened(rt, ref, datetime(2026, 10, 22, 9, 0, tzinfo=UTC))
    # Friday 23rd is one school day; the second is Monday 2 November (weekend, half-term).
    assert reminders.run_due(rt, now=datetime(2026, 10, 30, 12, 0, tzinfo=UTC)) == 0
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    assert reminders.run_due(rt, now=datetime(2026, 11, 2, 9, 0, tzinfo=UTC)) == 1
    assert _sent(rt, ref, "reminder") == [school.slt]  # finance decided: not reminded
    assert reminders.run_due(rt, now=datetime(2026, 11, 3, 9, 0, tzinfo=UTC)) == 0  # once per round
    # Five more school days: Monday 9 November, the head is told.
    assert reminders.run_due(rt, now=datetime(2026, 11, 6, 12, 0, tzinfo=UTC)) == 0
    reminders.run_due(rt, now=datetime(2026, 11, 9, 9, 0, tzinfo=UTC))
    assert _sent(rt, ref, "escalation") == [school.head]


def test_no_reminder_once_the_gate_has_settled(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    _opened(rt, ref, rt.now() - timedelta(days=30))
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    assert reminders.run_due(rt, now=rt.now()) == 0 and _sent(rt, ref, "reminder") == []


def test_an_emergency_is_chased_within_hours(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "emergency", "emergency_approval")
    now = rt.now()
    _opened(rt, ref, now - timedelta(hours=3))
    reminders.run_due(rt, now=now)
    assert _sent(rt, ref, "reminder") == [school.slt] and _sent(rt, ref, "escalation") == []
    reminders.run_due(rt, now=now + timedelta(hours=2))
    assert _sent(rt, ref, "escalation") == [school.head]


def test_once_escalated_the_head_may_decide_in_place_of_the_missing_approver(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")  # finance + SLT, no head
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    # Before the escalation the head is not asked at this gate.
    with pytest.raises(NotPermitted, match="decided by"):
        gates.decide(rt, actor_id=school.head, ref=ref, decision="approve")
    assert ref not in [c.ref for c in queues.awaiting_decision(rt, actor_id=school.head).items]
    _opened(rt, ref, rt.now() - timedelta(days=40))
    reminders.run_due(rt, now=rt.now())
    assert _sent(rt, ref, "escalation") == [school.head]
    assert ref in [c.ref for c in queues.awaiting_decision(rt, actor_id=school.head).items]
    page = changes.get_change(rt, actor_id=school.head, ref=ref)
    assert page.gate is not None and page.gate.may_decide and page.gate.decide_as == ("slt",)
    result = gates.decide(rt, actor_id=school.head, ref=ref, decision="approve")
    assert result.outcome == "passed"  # the head's approval stood in for the SLT's
    with rt.db.read() as session:
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.change_ref == ref, AuditEvent.event_type == "approval.decided")
            .order_by(AuditEvent.seq.desc())  # type: ignore[attr-defined]
        ).first()
        assert event is not None
        payload = json.loads(event.payload)
    assert payload["role"] == "slt" and payload["escalated"] is True


def test_an_escalation_gives_the_head_one_decision_not_two(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "proceed_approval")  # finance, SLT and head
    _opened(rt, ref, rt.now() - timedelta(days=40))
    reminders.run_due(rt, now=rt.now())
    gates.decide(rt, actor_id=school.head, ref=ref, decision="approve")  # as head
    with pytest.raises(NotPermitted, match="already decided"):
        gates.decide(rt, actor_id=school.head, ref=ref, decision="approve", role="slt")


def test_looking_for_what_is_due_reads_the_same_statements_for_one_change_at_a_gate_or_many(rt):
    """The worker's sweep runs every minute inside a server worker: what is due is found
    from the changes at a gate and the reminders their rounds have had, never one change
    (or one sent reminder) at a time."""
    from sqlalchemy import event

    school = f.School(rt)
    monday = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)

    def statements_to_find_due() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            seen.append(statement)

        event.listen(rt.db.engine, "before_cursor_execute", count)
        try:
            assert reminders.run_due(rt, now=monday) == 0  # none due yet: only the reading
        finally:
            event.remove(rt.db.engine, "before_cursor_execute", count)
        return len(seen)

    first = f.change_in(rt, school, "significant", "proceed_approval")
    _opened(rt, first, monday)
    one = statements_to_find_due()
    for _ in range(5):
        _opened(rt, f.change_in(rt, school, "significant", "proceed_approval"), monday)
    assert statements_to_find_due() == one
