"""Issue: 52+ audit event types were free strings; search re-indexed by a list of event
names of its own and the timeline titled the events it knew. A new text-editing event, or
a write that forgot its event, left search stale with no error. Every kind is now declared
once (fitsflow/domain/events.py): the audit trail refuses any other, search and the
timeline read the declaration, and the search index is checked against a rebuild after
every service that writes a change's text has run."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fitsflow.domain import events
from fitsflow.domain.stages import Needs
from fitsflow.persistence import audit_store, change_store, search_store, stage_store
from fitsflow.services.demo import build_demo, demo_size

from . import factories as f


def _index(rt) -> dict[int, str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        connection = session.connection()
        if rt.db.dialect == "postgresql":
            rows = connection.execute(text("SELECT change_id, document::text FROM change_search")).all()
        else:
            rows = connection.execute(text("SELECT rowid, ref || '|' || title || '|' || body "
                                           "FROM change_search")).all()
    return {row[0]: row[1] for row in rows}


def _rebuilt(rt) -> dict[int, str]:  # type: ignore[no-untyped-def]
    """The index as a rebuild from the changes' rows makes it (rolled back after reading)."""
    with rt.db.engine.connect() as connection:
        transaction = connection.begin()
        search_store.reindex(connection)
        if rt.db.dialect == "postgresql":
            rows = connection.execute(text("SELECT change_id, document::text FROM change_search")).all()
        else:
            rows = connection.execute(text("SELECT rowid, ref || '|' || title || '|' || body "
                                           "FROM change_search")).all()
        transaction.rollback()
    return {row[0]: row[1] for row in rows}


def test_every_service_that_writes_a_changes_text_keeps_search_as_a_rebuild_would(rt):
    # The demo raises changes of every workflow (from templates too), records needs, decides
    # gates with comments, peer-reviews plans and spawns a follow-up: all through services.
    with rt.db.all_or_nothing():
        build_demo(rt, password="demo school password")
    index = _index(rt)
    assert len(index) == demo_size(rt) + 2  # the review's follow-up, and the change a pilot adopted
    assert index == _rebuilt(rt)


def test_the_check_above_sees_text_written_without_its_event(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    assert _index(rt) == _rebuilt(rt)
    with rt.db.transaction() as session:  # a "service" that forgot its audit event
        change = change_store.load(session, ref)
        assert change is not None
        stage_store.save_needs(session, change.id, Needs("Zanzibar projectors", (), "", ""),
                               rt.now())
    assert _index(rt) != _rebuilt(rt)


def test_an_undeclared_event_or_a_payload_missing_its_keys_is_refused_and_nothing_is_written(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = f.counts(rt)
    with pytest.raises(events.UnknownEvent, match="'change.renamed' is not declared"):
        with rt.db.transaction() as session:
            audit_store.append(session, actor="t", change_ref=ref, event_type="change.renamed", payload={})
    with pytest.raises(events.UnknownEvent, match="missing decision, gate"):
        with rt.db.transaction() as session:
            audit_store.append(session, actor="t", change_ref=ref, event_type="approval.decided",
                               payload={"round": 1, "role": "cab", "comment": ""})
    assert f.counts(rt) == before


def test_search_and_the_timeline_read_the_declaration():
    texts = {e.name for e in events.text_events()}
    assert texts == {"change.raised", "stage.needs", "follow_up.spawned", "approval.decided",
                     "peer_review.recorded"}
    decided = events.get("approval.decided")
    assert decided.touches_text({"comment": "Too dear"}) and not decided.touches_text({"comment": " "})
    assert events.get("stage.needs").title == "Needs analysis edited"


def test_each_cached_read_moves_only_with_the_kinds_that_name_it(rt):
    from sqlalchemy import text

    def versions() -> dict[str, int]:
        with rt.db.read() as session:
            row = session.connection().execute(text("SELECT schedule_seq, calendar_seq FROM audit_head"))\
                .one()
        return dict(zip(("schedule", "calendar"), row, strict=True))

    assert set(versions()) == set(events.READS)
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = versions()
    with rt.db.transaction() as session:  # quiet: a sign-in shows on no schedule or feed
        audit_store.append(session, actor="t", change_ref="", event_type="auth.signed_in",
                           payload={"email": "a@b.c", "address": "::1"})
    assert versions() == before
    # About one change: quiet too, as the schedule and the feeds read their own range's
    # changes' versions (tests/test_schedule.py, tests/test_calendar_feeds.py).
    with rt.db.transaction() as session:
        audit_store.append(session, actor="t", change_ref=ref, event_type="change.recategorised",
                           payload={"from": "minor", "to": "major", "reason": "r"})
    assert versions() == before
    with rt.db.transaction() as session:  # the catalogue, undeclared: stale everywhere
        audit_store.append(session, actor="t", change_ref="", event_type="service.saved",
                           payload={"name": "X"})
    after = versions()
    assert all(after[name] > before[name] for name in events.READS)
    with rt.db.transaction() as session:  # the calendar: its own read alone (the releases stay)
        audit_store.append(session, actor="t", change_ref="", event_type="calendar.added",
                           payload={"kind": "freeze", "title": "Ofsted"})
    moved = versions()
    assert moved["calendar"] > after["calendar"] and moved["schedule"] == after["schedule"]
    quiet = {e.name for e in events.EVENTS.values() if not e.reads}
    assert {"calendar.added", "service.saved", "user.updated", "database.restored"}.isdisjoint(quiet)
    assert {"auth.signed_in", "notice.acknowledged", "token.created", "transition"} <= quiet


def test_a_payload_of_the_wrong_type_is_refused_and_the_models_say_why():
    ok = {"gate": "proceed", "round": 1, "role": "cab", "decision": "approve", "comment": ""}
    assert events.check("approval.decided", {**ok, "digest": "x"}).name == "approval.decided"
    for wrong in ({**ok, "round": "1"}, {**ok, "round": True}, {**ok, "comment": None}):
        with pytest.raises(events.UnknownEvent, match="wrong shape"):
            events.check("approval.decided", wrong)
    with pytest.raises(events.UnknownEvent, match="wrong shape: changes"):
        events.check("approval.reopened", {"gate": "g", "round": 2, "changes": "cost"})
    assert events.check("stage.needs", {"before": None, "after": {}}).text


def test_cancelling_an_absence_writes_its_declared_event(rt):
    """Its payload named a key the declaration did not have: cancelling was refused."""
    from datetime import timedelta

    from fitsflow.services import absences, users

    school = f.School(rt)
    sub = users.list_users(rt, q="")[0].email
    view = absences.record(rt, actor_id=school.finance, substitute_email=sub, first_day=rt.today(),
                           last_day=rt.today() + timedelta(days=2))
    absences.cancel(rt, actor_id=school.finance, absence_id=view.id)
    assert [a.cancelled for a in absences.list_for(rt, actor_id=school.finance)] == [True]
