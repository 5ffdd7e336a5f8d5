"""Issue 20.3 and 20.6: an administrator took over the head's decisions by recording her
absent with a requester made a minute before as substitute — no second administrator, no
consent, no notice; the gate's transition then named the head as its actor. A student was
named substitute; a technician approved £11,900 as finance. And two administrators became
one by deactivating the other, granting, and reactivating.

Now the roles a substitute uses are given for the absence by the person away or by
administrators under the second-administrator rule; substitutes are staff; money roles act
within a limit; the person away and the other approvers are told; the audit names who acted
and for whom on the decision and on the transition. Deactivating an administrator and taking
a role from one wait for a second administrator (or their own consent)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage, User
from fitsflow.services import absences, auth, changes, gates, queues, users

from . import factories as f


def _email(rt, uid):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return session.get(User, uid).email  # type: ignore[union-attr]


def _told(rt, uid):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    with rt.db.read() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.recipient_id == uid))
        return [m.subject for m in rows]


def test_an_admins_absence_takeover_waits_for_a_second_admin_and_is_told(rt):
    school = f.School(rt)
    second_admin = f.user(rt, "admin", "", "Second admin")
    newcomer = users.add_user(rt, name="Made a minute ago", email="newcomer@test.school", roles="requester")
    ref = f.change_in(rt, school, "major", "proceed_approval")  # finance, SLT and the head
    today = absences.today(rt)
    waiting = absences.record(rt, actor_id=school.admin, user_email=_email(rt, school.head),
                              substitute_email="newcomer@test.school", first_day=today,
                              last_day=today + timedelta(days=3))
    assert not waiting.confirmed
    assert any("recorded you as away" in s for s in _told(rt, school.head))
    with pytest.raises(NotPermitted, match="not standing in"):
        gates.decide(rt, actor_id=newcomer, ref=ref, decision="approve", on_behalf_of=school.head)
    assert ref not in [c.ref for c in queues.awaiting_decision(rt, actor_id=newcomer).items]
    # The asking administrator cannot confirm their own act; the second can.
    grant = next(g for g in users.pending_grants(rt) if g.act == "absence")
    with pytest.raises(NotPermitted):
        users.decide_grant(rt, actor_id=school.admin, grant_id=grant.id, confirm=True)
    users.decide_grant(rt, actor_id=second_admin, grant_id=grant.id, confirm=True)
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    result = gates.decide(rt, actor_id=newcomer, ref=ref, decision="approve", on_behalf_of=school.head)
    assert result.outcome == gates.PASSED
    with rt.db.read() as session:
        trail = list(audit_store.iter_events(session, change_ref=ref))
    decided = [e for e in trail if e.event_type == "approval.decided"][-1]
    moved = [e for e in trail if e.event_type == "transition"][-1]
    for event in (decided, moved):  # who acted, and for whom, on both
        assert event.actor == "newcomer@test.school"
        assert json.loads(event.payload)["on_behalf_of"] == _email(rt, school.head)
    assert any("on behalf of Head" in s for s in _told(rt, school.head))
    assert any("on behalf of Head" in s for s in _told(rt, school.finance))


def test_a_student_cannot_be_named_and_a_substitute_acts_within_the_limit(rt):
    school = f.School(rt)
    student = users.add_user(rt, name="A student", email="pupil@test.school", audiences="students")
    today = absences.today(rt)
    with pytest.raises(InvalidInput, match="member of staff"):
        absences.record(rt, actor_id=school.finance, substitute_email="pupil@test.school", first_day=today,
                        last_day=today)
    assert absences.list_for(rt, actor_id=student) == []
    technician = f.user(rt, "requester", "support", "Technician")
    absences.record(rt, actor_id=school.finance, substitute_email=_email(rt, technician), first_day=today,
                    last_day=today + timedelta(days=2))
    dear = f.change_in(rt, school, "minor", "proceed_approval")
    from fitsflow.persistence import change_store

    with rt.db.read() as session:
        planned = change_store.load(session, dear).planned_cost  # type: ignore[union-attr]
    assert planned and planned > 100
    object.__setattr__(rt, "settings", rt.settings.replace(accounts={"substitute_limit": 100}))
    before = f.snapshot(rt, dear)
    with pytest.raises(NotPermitted, match="up to £100"):
        gates.decide(rt, actor_id=technician, ref=dear, decision="approve", on_behalf_of=school.finance)
    assert f.snapshot(rt, dear) == before
    object.__setattr__(rt, "settings", rt.settings.replace(accounts={"substitute_limit": int(planned) + 1}))
    assert gates.decide(rt, actor_id=technician, ref=dear, decision="approve",
                        on_behalf_of=school.finance).outcome == gates.PASSED


def test_the_peer_reviewer_cannot_stand_in_at_the_changes_gate(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")  # peer-reviewed first
    from fitsflow.persistence import change_store, peer_store

    with rt.db.read() as session:
        change = change_store.load(session, ref)
        assert change is not None
        reviewer = peer_store.of_change(session, change.id)[0].reviewer_id
    today = absences.today(rt)
    away = next(uid for uid in school.cab if uid != reviewer)
    absences.record(rt, actor_id=away, substitute_email=_email(rt, reviewer), first_day=today, last_day=today)
    with pytest.raises(NotPermitted, match="peer reviewer"):
        gates.decide(rt, actor_id=reviewer, ref=ref, decision="approve", on_behalf_of=away)


def test_two_administrators_cannot_become_one_without_the_second(rt):
    school = f.School(rt)
    other = f.user(rt, "admin", "", "Other admin")
    target = users.add_user(rt, name="Pat", email="pat@test.school", roles="requester")
    # Deactivate the other administrator: it waits, and they are told.
    row = users.get_user(rt, user_id=other)
    users.update_user(rt, actor_id=school.admin, user_id=other, name=row.name, roles=row.roles,
                      audiences=row.audiences, active=False)
    assert users.get_user(rt, user_id=other).active
    assert any("asked to deactivate" in s for s in _told(rt, other))
    # So a grant still waits for them.
    users.update_user(rt, actor_id=school.admin, user_id=target, name="Pat", roles=("requester", "finance"),
                      audiences=(), active=True)
    assert users.get_user(rt, user_id=target).roles == ("requester",)
    # Taking the admin role from them waits too.
    users.update_user(rt, actor_id=school.admin, user_id=other, name=row.name, roles=(),
                      audiences=row.audiences, active=True)
    assert "admin" in users.get_user(rt, user_id=other).roles
    acts = {g.act for g in users.pending_grants(rt)}
    assert acts == {"deactivate", "grant", "remove"}
    # The person concerned may consent to what is taken from them.
    deactivate = next(g for g in users.pending_grants(rt) if g.act == "deactivate")
    users.decide_grant(rt, actor_id=other, grant_id=deactivate.id, confirm=True)
    assert not users.get_user(rt, user_id=other).active


def test_a_role_given_or_taken_ends_the_persons_tokens(rt):
    school = f.School(rt)
    person = users.add_user(rt, name="Sam", email="sam@test.school", roles="requester")
    token = auth.create_token(rt, user_id=person, name="script")
    assert auth.token_user(rt, token=token) is not None
    users.update_user(rt, actor_id=school.admin, user_id=person, name="Sam", roles=("requester", "cab"),
                      audiences=(), active=True)
    assert auth.token_user(rt, token=token) is None


def test_one_person_has_one_vote_at_a_gate_in_their_own_name_or_another_s(rt):
    school = f.School(rt)
    today = absences.today(rt)
    # The head stands in for the business manager; the gate needs finance and SLT (over £2,000).
    absences.record(rt, actor_id=school.finance, substitute_email=_email(rt, school.slt), first_day=today,
                    last_day=today + timedelta(days=2))
    ref = f.costly_change(rt, school)
    changes.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve", role="slt").outcome \
        == gates.PENDING
    before = f.snapshot(rt, ref)
    with pytest.raises(NotPermitted, match="one person has one vote at a gate"):
        gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve", on_behalf_of=school.finance)
    assert f.snapshot(rt, ref) == before
    # And the other way round: a vote in another's name, then none in their own.
    object.__setattr__(rt, "settings", rt.settings.replace(accounts={"substitute_limit": 20000}))
    other = f.costly_change(rt, school, title="Replace the Wi-Fi controller")
    changes.fire(rt, actor_id=school.requester, ref=other, trigger="submit_proceed")
    gates.decide(rt, actor_id=school.slt, ref=other, decision="approve", on_behalf_of=school.finance)
    with pytest.raises(NotPermitted, match="already decided"):
        gates.decide(rt, actor_id=school.slt, ref=other, decision="approve", role="slt")
