"""Issue: clash detection ran only when scheduling, compared only with scheduled changes,
ignored services (a printing change was flagged against an unrelated network change and
the real clash was missed), told the CAB afterwards and the person scheduling not at all.
Now services are a catalogue with dependencies, and a clash — overlapping windows on the
same service or on services depending on each other at any depth, among changes from
release planning to scheduled — is shown before anyone decides and needs a reason to
schedule over."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from fitsflow.domain.catalogue import Catalogue
from fitsflow.domain.errors import GateNotSatisfied, InvalidInput
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import catalogue
from fitsflow.services import changes as changes_service

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar


@pytest.fixture
def school(rt):  # type: ignore[no-untyped-def]
    catalogue.load_demo(rt)
    return f.School(rt)


def _clashes(rt, school, ref: str) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return changes_service.get_change(rt, actor_id=school.requester, ref=ref).clashes


@pytest.mark.parametrize("state", ["release_planning", "implement_approval", "approved", "scheduled"])
def test_the_same_service_clashes_in_every_state_that_holds_a_window(rt, school, state):
    other = f.change_in(rt, school, "minor", state, title="Replace the core switch",
                        affected=("Core network",))
    if state == "release_planning":  # its window is planned, not yet submitted
        f.fill_stages(rt, school.requester, other, ("release_plan",))
    mine = f.change_in(rt, school, "minor", "release_planning", affected=("core network",))
    f.fill_stages(rt, school.requester, mine, ("release_plan",))  # the same window as the other
    found = _clashes(rt, school, mine)
    assert len(found) == 1 and other in found[0] and "Replace the core switch" in found[0]
    assert "Core network" in found[0]


def test_a_dependent_service_two_levels_down_clashes_and_an_unrelated_one_does_not(rt, school):
    network = f.change_in(rt, school, "minor", "scheduled", title="Core switch firmware",
                          affected=("Core network",))
    av = f.change_in(rt, school, "minor", "release_planning", title="Projector refresh",
                     affected=("Classroom AV",))  # Classroom AV → Wi-Fi → Core network
    f.fill_stages(rt, school.requester, av, ("release_plan",))
    assert any(network in c and "Classroom AV ↔ Core network" in c for c in _clashes(rt, school, av))
    printing = f.change_in(rt, school, "minor", "release_planning", title="New copier",
                           affected=("Printing",))
    phones = f.change_in(rt, school, "minor", "release_planning", title="Phone system",
                         affected=("Telephony",))
    for ref in (printing, phones):
        f.fill_stages(rt, school.requester, ref, ("release_plan",))
    # Printing and telephony both rest on the core network but not on each other.
    assert not any(phones in c for c in _clashes(rt, school, printing))
    assert any(network in c for c in _clashes(rt, school, printing))  # Printing → … → Core network


def test_a_withdrawn_or_released_change_no_longer_clashes(rt, school):
    released = f.change_in(rt, school, "minor", "released", affected=("Wi-Fi",))
    mine = f.change_in(rt, school, "minor", "release_planning", affected=("Wi-Fi",))
    f.fill_stages(rt, school.requester, mine, ("release_plan",))
    assert not any(released in c for c in _clashes(rt, school, mine))


def test_scheduling_over_a_clash_needs_a_reason_and_the_cab_hears_which_change(rt, school):
    first = f.change_in(rt, school, "minor", "scheduled", title="Wi-Fi controller upgrade",
                        affected=("Wi-Fi",))
    second = f.change_in(rt, school, "minor", "approved", affected=("Wi-Fi",))
    before = f.counts(rt)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=school.requester, ref=second, trigger="schedule")
    assert first in str(err.value) and "give a reason" in str(err.value)
    assert f.counts(rt) == before
    changes_service.fire(rt, actor_id=school.requester, ref=second, trigger="schedule",
                  reason="Both in the same evening by the same engineer")
    with rt.db.read() as session:
        events = [(e.event_type, json.loads(e.payload)) for e in audit_store.iter_events(session)
                  if e.change_ref == second]
        clash = session.execute(select(OutboxMessage.recipient_id, OutboxMessage.body).where(
            OutboxMessage.event == "window_clash", OutboxMessage.change_ref == second)).all()
    accepted = [p for e, p in events if e == "clash.accepted"]
    assert accepted and accepted[0]["reason"].startswith("Both in the same evening")
    assert {uid for uid, _ in clash} >= set(school.cab)
    assert all(first in body and "Wi-Fi controller upgrade" in body for _, body in clash)


def test_services_come_from_the_catalogue(rt, school):
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=school.requester, title="T", category="minor",
                              affected_services=["Wi-Fi", "The canteen till"])
    assert "unknown service The canteen till" in err.value.problems["affected_services"]
    view = changes_service.raise_change(rt, actor_id=school.requester, title="T", category="minor",
                                 affected_services=["wi-fi", "MIS"])
    assert view.affected_services == ("Wi-Fi", "MIS")
    with pytest.raises(InvalidInput) as err:
        catalogue.save_service(rt, actor_id=None, name="Core network", depends_on=["Classroom AV"])
    assert "depend on itself" in err.value.problems["depends_on"]
    with pytest.raises(InvalidInput):
        catalogue.save_service(rt, actor_id=None, name="Canteen tills", depends_on=["Nothing"])
    # What a save answers is the service as saved, its dependencies too (read in the same
    # transaction, which keeps the catalogue it has read: it must read it again after writing).
    saved = catalogue.save_service(rt, actor_id=None, name="Canteen tills", depends_on=["Wi-Fi", "MIS"])
    assert set(saved.depends_on) == {"Wi-Fi", "MIS"}


def test_the_cabs_approval_request_names_the_clash(rt, school):
    other = f.change_in(rt, school, "minor", "scheduled", title="Switch firmware", affected=("Core network",))
    mine = f.change_in(rt, school, "minor", "release_planning", affected=("Wi-Fi",))
    f.fill_stages(rt, school.requester, mine, ("release_plan",))
    changes_service.fire(rt, actor_id=school.requester, ref=mine, trigger="submit_implement")
    with rt.db.read() as session:
        bodies = session.execute(select(OutboxMessage.recipient_id, OutboxMessage.body).where(
            OutboxMessage.event == "submitted", OutboxMessage.change_ref == mine)).all()
    to_cab = [b for uid, b in bodies if uid in school.cab]
    assert to_cab and all(other in b and "Switch firmware" in b and "Clash:" in b for b in to_cab)


def test_the_cab_sees_the_clash_on_the_decision_card_before_deciding(sqlite_rt, tmp_path):
    from .web_support import WebSchool, login, make_app

    app = make_app(sqlite_rt, tmp_path)
    catalogue.load_demo(sqlite_rt)
    school = WebSchool(sqlite_rt)
    other = f.change_in(sqlite_rt, school, "minor", "scheduled", title="Switch firmware",
                        affected=("Core network",))
    mine = f.change_in(sqlite_rt, school, "minor", "implement_approval", affected=("Wi-Fi",))
    client = app.test_client()
    login(client, school.emails[school.cab[0]])
    page = client.get(f"/changes/{mine}").get_data(as_text=True)
    card = page[page.index('class="panel decision-card"'):page.index('name="decision" value="approve"')]
    assert "<strong>Clash:</strong>" in card and other in card  # on the card, above the buttons
    assert "Switch firmware" in card and "Wi-Fi ↔ Core network" in card


def test_a_name_differing_only_in_non_ascii_case_updates_the_service(rt, school):
    catalogue.save_service(rt, actor_id=None, name="Salle Ò")
    saved = catalogue.save_service(rt, actor_id=None, name="salle ò", description="again")
    assert saved.name == "Salle Ò" and saved.description == "again"


@given(st.dictionaries(st.integers(0, 7), st.frozensets(st.integers(0, 7), max_size=3), max_size=8),
       st.lists(st.integers(0, 7), max_size=3), st.lists(st.integers(0, 7), max_size=3))
def test_the_schedules_sweep_relates_services_as_the_clash_check_does(depends, a, b):
    """The schedule marks clashes by meeting one list's ids with the other's reach, computed
    once per release; the clash check compares pairs. Any catalogue (cycles too), any two
    lists: alike."""
    names = {i: f"Service {i}" for i in range(8)}
    cat = Catalogue(names, {sid: frozenset(d - {sid}) for sid, d in depends.items()})
    first, second = [names[i] for i in a], [names[i] for i in b]
    assert bool(cat.related(first, second)) == bool(cat.reach(first) & cat.ids(second))
    assert bool(cat.related(first, second)) == bool(cat.reach(second) & cat.ids(first))


def test_the_api_reads_a_changes_clash_as_the_page_does(sqlite_rt, tmp_path):
    """Issue 22.10: GET /changes/{ref} carried no clash, though the card, the email and the
    schedule did."""
    from .web_support import WebSchool, bearer, make_app

    rt = sqlite_rt
    catalogue.load_demo(rt)
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    other = f.change_in(rt, school, "minor", "scheduled", title="Replace the core switch",
                        affected=("Core network",))
    mine = f.change_in(rt, school, "minor", "release_planning", affected=("Core network",))
    f.fill_stages(rt, school.requester, mine, ("release_plan",))
    body = app.test_client().get(f"/api/v1/changes/{mine}", headers=bearer(rt, school.requester)).get_json()
    assert body["clashes"] == list(_clashes(rt, school, mine)) and other in body["clashes"][0]
    assert body["window_freezes"] == [] and body["window_cautions"] == []
