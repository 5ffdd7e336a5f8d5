"""Two people deciding the same change at the same moment: exactly one wins, the
other is told someone else changed it first, and the audit gains exactly one event."""

from __future__ import annotations

import threading

import pytest

from fitsflow.domain.errors import Stale
from fitsflow.services import audit as audit_service
from fitsflow.services import changes, common, gates

from . import factories as f


def _race(rt, school, ref: str, barrier: threading.Barrier | None):  # type: ignore[no-untyped-def]
    version = f.snapshot(rt, ref)[1]
    outcomes: dict[int, object] = {}

    def decide(uid: int) -> None:
        try:
            gates.decide(rt, actor_id=uid, ref=ref, decision="approve", expected_version=version)
            outcomes[uid] = "won"
        except Stale as err:
            outcomes[uid] = err
        except Exception as err:  # noqa: BLE001 — reported by the assertion below
            outcomes[uid] = err

    threads = [threading.Thread(target=decide, args=(uid,)) for uid in school.cab]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _check(rt, school, ref, outcomes, audit_before):  # type: ignore[no-untyped-def]
    assert len(outcomes) == 2
    won = [uid for uid, o in outcomes.items() if o == "won"]
    lost = [o for o in outcomes.values() if isinstance(o, Stale)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert "changed by someone else first" in str(lost[0])
    assert f.counts(rt)[0] == audit_before + 1
    detail = changes.get_change(rt, actor_id=school.auditor, ref=ref)
    assert [a.approver for a in detail.approvals if a.gate == "implement"] == [
        "CAB 0" if won[0] == school.cab[0] else "CAB 1"]
    assert audit_service.verify(rt).ok


def test_sqlite_file_two_deciders_one_wins(file_rt):
    rt = file_rt
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")
    audit_before = f.counts(rt)[0]
    _check(rt, school, ref, _race(rt, school, ref, None), audit_before)


@pytest.mark.postgres
def test_postgres_two_deciders_both_read_then_one_wins(pg_rt, monkeypatch):
    """Both transactions read the same version before either writes (a barrier inside
    the service holds them there), so the database alone must settle the race."""
    rt = pg_rt
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")
    audit_before = f.counts(rt)[0]
    barrier = threading.Barrier(2, timeout=30)
    real = common.check_version

    def check_then_wait(change, expected):  # type: ignore[no-untyped-def]
        real(change, expected)
        barrier.wait()

    monkeypatch.setattr(common, "check_version", check_then_wait)
    _check(rt, school, ref, _race(rt, school, ref, barrier), audit_before)


def test_same_version_twice_in_turn_is_stale(rt):
    """What two browser tabs showing the same page do, on either database."""
    school = f.School(rt)
    ref = f.change_in(rt, school, "major", "implement_approval")
    version = f.snapshot(rt, ref)[1]
    audit_before = f.counts(rt)[0]
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve", expected_version=version)
    with pytest.raises(Stale):
        gates.decide(rt, actor_id=school.cab[1], ref=ref, decision="approve", expected_version=version)
    assert f.counts(rt)[0] == audit_before + 1
