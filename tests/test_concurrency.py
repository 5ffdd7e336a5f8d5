"""Two people deciding the same change at the same moment. Votes that both count (two of
the CAB where two are needed; finance and SLT) both count, on either database, even from
pages showing the same version: a vote does not make another's page stale. Where one vote
settles the gate, the other is told someone else changed it first, and the audit gains
exactly the winner's events."""

from __future__ import annotations

import threading

import pytest

from fitsflow.domain.errors import Stale
from fitsflow.services import audit as audit_service
from fitsflow.services import changes, common, gates

from . import factories as f


def _race(rt, school, ref: str, deciders, start):  # type: ignore[no-untyped-def]
    version = f.snapshot(rt, ref)[1]
    start()
    outcomes: dict[int, object] = {}

    def decide(uid: int) -> None:
        try:
            gates.decide(rt, actor_id=uid, ref=ref, decision="approve", expected_version=version)
            outcomes[uid] = "won"
        except Stale as err:
            outcomes[uid] = err
        except Exception as err:  # noqa: BLE001 — reported by the assertion below
            outcomes[uid] = err

    threads = [threading.Thread(target=decide, args=(uid,)) for uid in deciders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _both_start_together(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Both transactions begin before either reads the change (a barrier in the service holds
    them), so the database alone must settle the race."""
    barrier = threading.Barrier(2, timeout=30)
    real = common.load_actor
    waited: set[int] = set()

    def load_then_wait(rt, session, actor_id):  # type: ignore[no-untyped-def]
        actor = real(rt, session, actor_id)
        if len(waited) < 2 and threading.get_ident() not in waited:  # the two racers' first reads
            waited.add(threading.get_ident())
            barrier.wait()
        return actor

    monkeypatch.setattr(common, "load_actor", load_then_wait)


def _names(rt, uids):  # type: ignore[no-untyped-def]
    from fitsflow.persistence.models import User

    with rt.db.read() as session:
        return sorted(session.get(User, uid).name for uid in uids)  # type: ignore[union-attr]


def _both_count(rt, school, ref, deciders, outcomes, audit_before, gate):  # type: ignore[no-untyped-def]
    assert outcomes == {uid: "won" for uid in deciders}
    detail = changes.get_change(rt, actor_id=school.auditor, ref=ref)
    assert sorted(a.approver for a in detail.approvals if a.gate == gate) == _names(rt, deciders)
    assert f.counts(rt)[0] >= audit_before + 2
    assert audit_service.verify(rt).ok


def _one_wins(rt, school, ref, outcomes, audit_before):  # type: ignore[no-untyped-def]
    won = [uid for uid, o in outcomes.items() if o == "won"]
    lost = [o for o in outcomes.values() if isinstance(o, Stale)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "changed by someone else first" in str(lost[0])
    detail = changes.get_change(rt, actor_id=school.auditor, ref=ref)
    assert [a.approver for a in detail.approvals if a.gate == "proceed"] == _names(rt, won)
    assert audit_service.verify(rt).ok


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def raced(request, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A runtime on either database, and what to call just before the race starts."""
    if request.param == "sqlite":
        return request.getfixturevalue("file_rt"), lambda: None
    return request.getfixturevalue("pg_rt"), lambda: _both_start_together(monkeypatch)


def test_two_votes_the_gate_needs_both_count(raced):
    rt, start = raced
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")  # two of the CAB
    audit_before = f.counts(rt)[0]
    _both_count(rt, school, ref, school.cab, _race(rt, school, ref, school.cab, start), audit_before,
                "implement")


def test_finance_and_slt_deciding_at_once_both_count(raced):
    rt, start = raced
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")  # finance and SLT
    audit_before = f.counts(rt)[0]
    deciders = [school.finance, school.slt]
    _both_count(rt, school, ref, deciders, _race(rt, school, ref, deciders, start), audit_before, "proceed")
    assert changes.get_change(rt, actor_id=school.auditor, ref=ref).change.state == "release_planning"


def test_where_one_vote_settles_the_gate_the_other_is_stale(raced):
    rt, start = raced
    school = f.School(rt)
    second = f.user(rt, "finance", "", "Finance two")
    ref = f.change_in(rt, school, "minor", "proceed_approval")  # one finance approval
    audit_before = f.counts(rt)[0]
    _one_wins(rt, school, ref, _race(rt, school, ref, [school.finance, second], start), audit_before)


def test_a_vote_in_turn_leaves_the_other_page_current_but_a_passed_gate_does_not(rt):
    """What two browser tabs showing the same page do, on either database."""
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")
    version = f.snapshot(rt, ref)[1]
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", expected_version=version)
    gates.decide(rt, actor_id=school.cab[1], ref=ref, decision="approve", expected_version=version)
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve", expected_version=version)
    gates.decide(rt, actor_id=school.head, ref=ref, decision="approve", expected_version=version)  # passes
    other = f.user(rt, "cab", "", "Late CAB")
    audit_before = f.counts(rt)[0]
    with pytest.raises(Stale):
        gates.decide(rt, actor_id=other, ref=ref, decision="approve", expected_version=version)
    assert f.counts(rt)[0] == audit_before


def test_a_head_who_is_also_slt_counts_where_she_is_missing_once(rt):
    """Issue 20.7/20.12: offered "decide as SLT" first when only the head's approval was
    missing, her vote counted as a second SLT and the gate jammed; a substitute for her,
    naming no role, did the same."""
    from fitsflow.domain.errors import NotPermitted
    from fitsflow.services import absences

    school = f.School(rt)
    head = f.user(rt, "head slt", "slt", "Head who is SLT")
    f.user(rt, "slt", "", "Another SLT")
    ref = f.change_in(rt, school, "major", "proceed_approval")  # finance, SLT, head
    gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
    gates.decide(rt, actor_id=school.slt, ref=ref, decision="approve")
    # The old head holds the role too: leave only the new one.
    detail = changes.get_change(rt, actor_id=head, ref=ref)
    assert detail.gate is not None and detail.gate.decide_as[0] == "head"
    with pytest.raises(NotPermitted, match="(?i)your one vote counts as head"):
        gates.decide(rt, actor_id=head, ref=ref, decision="approve", role="slt")
    assert gates.decide(rt, actor_id=head, ref=ref, decision="approve").outcome == gates.PASSED
    # Both short: the scarcer role (head: one other holder, SLT: two) counts first.
    other = f.change_in(rt, school, "major", "proceed_approval")
    gates.decide(rt, actor_id=school.finance, ref=other, decision="approve")
    sub = f.user(rt, "requester", "support", "Deputy")
    absences.record(rt, actor_id=head, substitute_email=_email(rt, sub), first_day=rt.today(),
                    last_day=rt.today())
    result = gates.decide(rt, actor_id=sub, ref=other, decision="approve", on_behalf_of=head)
    assert result.missing == ("needs 1 more approval from Senior leadership (SLT)",)


def _email(rt, uid):  # type: ignore[no-untyped-def]
    from fitsflow.persistence.models import User

    with rt.db.read() as session:
        return session.get(User, uid).email  # type: ignore[union-attr]


def test_a_requester_withdraws_a_change_waiting_at_a_gate_and_its_approvers_are_told(rt):
    from sqlmodel import select

    from fitsflow.domain.errors import InvalidInput, NotAllowed
    from fitsflow.persistence.models import OutboxMessage

    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "proceed_approval")  # finance and SLT
    with pytest.raises(InvalidInput, match="reason"):
        changes.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw")
    view = changes.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw",
                        reason="The trust is buying these centrally")
    assert view.state == "withdrawn"
    with rt.db.read() as session:
        told = {m.recipient_id for m in session.exec(select(OutboxMessage).where(
            OutboxMessage.change_ref == ref, OutboxMessage.event == "withdrawn"))}
    assert {school.finance, school.slt} <= told  # the requester did it: not told of it
    with pytest.raises(NotAllowed):
        gates.decide(rt, actor_id=school.finance, ref=ref, decision="approve")
