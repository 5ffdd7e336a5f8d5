"""Issue 24.2 and 24.3: trust-wide changes and the trust's governance. A change affecting
several schools belongs to the set of them: the people of each school it affects see it
(no one else, unless a trust role); it needs the trust's approvals above each school's own;
every affected school's freezes hold for it; each school's people get their school's notice,
once per person even when they work in two. Above the trust's threshold, any school's
change needs trust finance — but only in an installation of several schools."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotFound
from fitsflow.persistence.models import NoticeReceipt, School
from fitsflow.services import calendar, change_search, notices, schools, stages
from fitsflow.services import changes as changes_service
from fitsflow.services.change_search import ChangeFilter

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

FAR = datetime(2100, 1, 1, tzinfo=UTC)
EVERY = "school,brook,cedar"


def _email(rt, uid: int) -> str:  # type: ignore[no-untyped-def]
    from fitsflow.persistence import user_store

    with rt.db.read() as session:
        user = user_store.get(session, uid)
        assert user is not None
        return user.email


class Trust:
    """Oak (the first school, slug "school"), Brook (in Wales) and Cedar, and Dale, which the
    trust-wide change does not affect; a requester in the first three; the trust's roles."""

    def __init__(self, rt):  # type: ignore[no-untyped-def]
        self.oak = f.School(rt)  # made while the trust has one school: they belong to it
        schools.add_school(rt, slug="brook", name="Brook Primary", nation="wales")
        schools.add_school(rt, slug="cedar", name="Cedar Primary")
        schools.add_school(rt, slug="dale", name="Dale Academy")
        schools.set_user_schools(rt, email=_email(rt, self.oak.requester), slugs=["school", "brook", "cedar"])
        self.oak.trust = {role: [f.user(rt, role, "", role)] for role in ("trust_cab", "it_director",
                                                                           "trust_finance")}
        self.teacher, self.viewer = {}, {}  # staff (notices), and a requester (changes) of each school
        for slug in ("school", "brook", "cedar", "dale"):
            self.teacher[slug] = f.user(rt, "", "staff", f"Teacher at {slug}")
            self.viewer[slug] = f.user(rt, "requester", "", f"Requester at {slug}")
            for uid in (self.teacher[slug], self.viewer[slug]):
                schools.set_user_schools(rt, email=_email(rt, uid), slugs=[slug])
        self.both = f.user(rt, "", "staff", "Teacher at two")
        schools.set_user_schools(rt, email=_email(rt, self.both), slugs=["school", "brook"])
        self.dale_cab = f.user(rt, "cab requester", "support", "Dale CAB")
        schools.set_user_schools(rt, email=_email(rt, self.dale_cab), slugs=["dale"])


@pytest.fixture
def trust(rt):  # type: ignore[no-untyped-def]
    return Trust(rt)


def _requirements(rt, actor: int, ref: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    detail = changes_service.get_change(rt, actor_id=actor, ref=ref)
    assert detail.gate is not None
    return detail.gate.requirements


def test_a_trust_wide_change_is_seen_by_each_affected_school_and_nobody_else(rt, trust):
    ref = changes_service.raise_change(rt, actor_id=trust.oak.requester, title="MIS migration",
                                       category="minor", school=EVERY).ref
    for slug in ("school", "brook", "cedar"):
        assert changes_service.get_change(rt, actor_id=trust.viewer[slug], ref=ref).change.ref == ref
    with pytest.raises(NotFound):
        changes_service.get_change(rt, actor_id=trust.viewer["dale"], ref=ref)
    for who, sees in ((trust.dale_cab, False), (trust.viewer["brook"], True)):
        found = change_search.find(rt, actor_id=who, filters=ChangeFilter(q="MIS migration"), limit=50)
        assert (ref in {c.change.ref for c in found.items}) is sees
        listed = change_search.find(rt, actor_id=who, filters=ChangeFilter(), limit=50)
        assert (ref in {c.change.ref for c in listed.items}) is sees
    # One set for the same schools, however they are named; never listed as a school.
    again = changes_service.raise_change(rt, actor_id=trust.oak.requester, title="Email migration",
                                         category="minor", school=" cedar,brook , school").ref
    with rt.db.read() as session:
        assert session.execute(select(func.count()).select_from(School)
                               .where(School.is_set.is_(True))).scalar_one() == 1
    assert [s.slug for s in schools.every_school(rt)] == ["school", "brook", "cedar", "dale"]
    assert changes_service.get_change(rt, actor_id=trust.viewer["cedar"], ref=again).change.ref == again


def test_only_a_person_of_every_school_named_raises_it(rt, trust):
    brook_requester = f.user(rt, "requester", "", "Brook requester")
    schools.set_user_schools(rt, email=_email(rt, brook_requester), slugs=["brook"])
    before = f.counts(rt)
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=brook_requester, title="Firewall", category="minor",
                                     school="brook,cedar")
    assert "cedar: must be one of your schools: brook" in err.value.problems["school"]
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=trust.oak.requester, title="Firewall", category="minor",
                                     school="brook,nowhere")
    assert "nowhere" in err.value.problems["school"]
    assert f.counts(rt) == before


def test_it_needs_the_trusts_approvals_above_the_schools_own(rt, trust):
    ref = f.change_in(rt, trust.oak, "minor", "proceed_approval", schools=EVERY)
    needs = _requirements(rt, trust.oak.requester, ref)
    assert needs.get("trust_cab") == 1 and "finance" in needs
    school_ref = f.change_in(rt, trust.oak, "minor", "proceed_approval", schools="school")
    assert "trust_cab" not in _requirements(rt, trust.oak.requester, school_ref)
    implement = f.change_in(rt, trust.oak, "minor", "implement_approval", schools=EVERY)
    assert _requirements(rt, trust.oak.requester, implement).get("it_director") == 1


@pytest.mark.parametrize("slug", ["school", "brook", "cedar"])
def test_every_affected_schools_freeze_blocks_it(rt, trust, slug):
    ref = f.change_in(rt, trust.oak, "minor", "release_planning", schools=EVERY)
    f.fill_stages(rt, trust.oak.requester, ref, ("release_plan",))
    first = (rt.now() + timedelta(days=8)).date().isoformat()
    last = (rt.now() + timedelta(days=12)).date().isoformat()
    calendar.add_period(rt, actor_id=None, kind="freeze", title=f"Freeze at {slug}", start=first, end=last,
                        school=slug)
    with pytest.raises(GateNotSatisfied) as err:
        changes_service.fire(rt, actor_id=trust.oak.requester, ref=ref, trigger="submit_implement")
    assert f"Freeze at {slug}" in str(err.value)


def test_dales_freeze_does_not_hold_for_it(rt, trust):
    ref = f.change_in(rt, trust.oak, "minor", "release_planning", schools=EVERY)
    f.fill_stages(rt, trust.oak.requester, ref, ("release_plan",))
    first = (rt.now() + timedelta(days=8)).date().isoformat()
    last = (rt.now() + timedelta(days=12)).date().isoformat()
    calendar.add_period(rt, actor_id=None, kind="freeze", title="Freeze at Dale", start=first, end=last,
                        school="dale")
    changes_service.fire(rt, actor_id=trust.oak.requester, ref=ref, trigger="submit_implement")


def test_each_schools_people_get_their_schools_notice_once(rt, trust):
    ref = f.change_in(rt, trust.oak, "minor", "scheduled", schools=EVERY)
    drafted = notices.notices_for(rt, actor_id=trust.oak.requester, ref=ref)
    staff = sorted(n.school for n in drafted if n.audience == "staff")
    assert staff == ["Brook Primary", "Cedar Primary", rt.settings.school.name]
    assert len(drafted) == 3 * len(rt.roles.audiences)
    f.send_held_notices(rt, trust.oak, ref)
    for moment in (FAR, FAR + timedelta(days=1)):
        notices.publish_due(rt, now=moment)
    with rt.db.read() as session:
        rows = session.execute(select(NoticeReceipt.user_id, NoticeReceipt.notice_id)).all()
    got: dict[int, list[int]] = {}
    for uid, notice in rows:
        got.setdefault(uid, []).append(notice)
    by_id = {n.id: n for n in drafted}
    for slug, name in (("school", rt.settings.school.name), ("brook", "Brook Primary"),
                       ("cedar", "Cedar Primary")):
        mine = got.get(trust.teacher[slug], [])
        assert len(mine) == 1 and by_id[mine[0]].school == name, slug
    assert trust.teacher["dale"] not in got
    assert len(got[trust.both]) == 1  # in two schools: one notice


def test_trust_finance_above_the_trusts_threshold_only_in_a_trust(rt, trust):
    ref = changes_service.raise_change(rt, actor_id=trust.oak.requester, title="New core switches",
                                       category="major", school="school").ref
    stages.record_needs(rt, actor_id=trust.oak.requester, ref=ref, data=f.NEEDS)
    changes_service.fire(rt, actor_id=trust.oak.requester, ref=ref, trigger="complete_needs")
    stages.record_financial_plan(rt, actor_id=trust.oak.requester, ref=ref, lines=[
        {"year": 1, "kind": "capital", "amount": "30000", "funding_source": "Trust capital"},
        *({"year": y, "kind": "licence", "amount": "100", "funding_source": "ICT"} for y in range(2, 6))])
    changes_service.fire(rt, actor_id=trust.oak.requester, ref=ref, trigger="submit_proceed")
    needs = _requirements(rt, trust.oak.requester, ref)
    assert needs.get("trust_finance") == 1 and needs.get("governors") == 1


def test_a_school_alone_never_needs_the_trusts_approvals(rt):
    school = f.School(rt)
    ref = changes_service.raise_change(rt, actor_id=school.requester, title="New core switches",
                                       category="major").ref
    stages.record_needs(rt, actor_id=school.requester, ref=ref, data=f.NEEDS)
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="complete_needs")
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref, lines=[
        {"year": 1, "kind": "capital", "amount": "30000", "funding_source": "Capital"},
        *({"year": y, "kind": "licence", "amount": "100", "funding_source": "ICT"} for y in range(2, 6))])
    changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    needs = _requirements(rt, school.requester, ref)
    assert "trust_finance" not in needs and needs.get("governors") == 1


def test_reports_roll_up_by_school_and_narrow_to_one(rt, trust):
    from fitsflow.services import reports

    f.change_in(rt, trust.oak, "minor", "needs_analysis", schools=EVERY, title="Trust firewall")
    f.change_in(rt, trust.oak, "minor", "needs_analysis", schools="brook", title="Brook projector")
    reader = f.user(rt, "auditor", "", "Trust auditor")
    schools.set_user_schools(rt, email=_email(rt, reader), slugs=["school", "brook", "cedar", "dale"])
    whole = reports.report(rt, actor_id=reader)
    every = "Trust-wide: " + " + ".join([rt.settings.school.name, "Brook Primary", "Cedar Primary"])
    assert whole.by_school[every] == {"in progress": 1}
    assert whole.by_school["Brook Primary"] == {"in progress": 1}
    assert whole.by_school["Dale Academy"] == {} and whole.raised == 2
    assert ("changes by school and outcome", "Brook Primary: in progress", "1") in whole.rows()
    brook = reports.report(rt, actor_id=reader, school="brook")
    assert brook.school == "Brook Primary" and brook.raised == 2 and brook.by_school == {}
    dale = reports.report(rt, actor_id=reader, school="dale")
    assert dale.raised == 0
    # A school reader of Dale alone sees no roll-up and cannot ask for another school's.
    dale_reader = f.user(rt, "auditor", "", "Dale auditor")
    schools.set_user_schools(rt, email=_email(rt, dale_reader), slugs=["dale"])
    assert reports.report(rt, actor_id=dale_reader).by_school == {}
    with pytest.raises(InvalidInput) as err:
        reports.report(rt, actor_id=dale_reader, school="brook")
    assert err.value.problems["school"] == "must be one of your schools: dale"


def test_a_trust_wide_change_raised_on_the_web_form(rt, tmp_path):
    from .web_support import WebSchool, login, make_app, post

    oak = WebSchool(rt)
    schools.add_school(rt, slug="brook", name="Brook Primary", nation="wales")
    schools.set_user_schools(rt, email=oak.emails[oak.requester], slugs=["school", "brook"])
    client = make_app(rt, tmp_path).test_client()
    login(client, oak.emails[oak.requester])
    form = client.get("/changes/new").get_data(as_text=True)
    assert 'type="checkbox" name="school" value="brook"' in form
    made = post(client, "/changes/new", {"title": "Trust Wi-Fi", "category": "minor",
                                         "school": ["school", "brook"]}, page="/changes/new")
    assert made.status_code == 302
    page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert f"Trust-wide: {rt.settings.school.name}, Brook Primary" in page
    refused = post(client, "/changes/new", {"title": "Trust Wi-Fi", "category": "minor"}, page="/changes/new")
    assert refused.status_code == 400 and "say which school it is for" in refused.get_data(as_text=True)


def test_each_schools_notice_names_that_school(rt, trust):
    primaries = f.School(rt)  # people of Brook and Cedar: the requester and every approver
    for uid in (primaries.requester, *primaries.cab, primaries.slt, primaries.finance, primaries.head):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["brook", "cedar"])
    primaries.trust = trust.oak.trust
    ref = f.change_in(rt, primaries, "minor", "scheduled", schools="brook,cedar")
    staff = {n.school: n.body for n in notices.notices_for(rt, actor_id=primaries.requester, ref=ref)
             if n.audience == "staff"}
    assert "Brook Primary — what changes for staff" in staff["Brook Primary"]
    assert "Cedar Primary — what changes for staff" in staff["Cedar Primary"]
    brook_only = f.change_in(rt, primaries, "minor", "scheduled", schools="brook")
    bodies = [n.body for n in notices.notices_for(rt, actor_id=primaries.requester, ref=brook_only)
              if n.audience == "staff"]
    assert len(bodies) == 1 and "Brook Primary — what changes for staff" in bodies[0]


def test_a_school_sets_its_own_policy_where_the_trust_allows(rt, trust, tmp_path):
    import dataclasses

    from fitsflow.config import ConfigError, load_settings

    # Brook: SLT above £500 (the trust's shipped bands ask for SLT above £2,000).
    own = rt.settings.replace()
    path = tmp_path / "fitsflow.toml"
    path.write_text('[school_policy.brook]\ncost_bands = [{ above = "0", gate = "proceed", '
                    'roles = ["finance"] }, { above = "500", gate = "proceed", roles = ["slt"] }]\n')
    settings = load_settings(path, environ={})
    assert set(settings.school_policies) == {"brook"}
    assert own.school_policies == {}
    rt = dataclasses.replace(rt, settings=settings)
    brook = f.School(rt)
    for uid in (brook.requester, *brook.cab, brook.slt, brook.finance, brook.head):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["brook"])
    at_brook = f.change_in(rt, brook, "minor", "proceed_approval")
    at_oak = f.change_in(rt, trust.oak, "minor", "proceed_approval", schools="school")
    assert _requirements(rt, brook.requester, at_brook) == {"finance": 1, "slt": 1}
    assert _requirements(rt, trust.oak.requester, at_oak) == {"finance": 1}
    # A key the trust does not let schools set, and a bad value, are named.
    path.write_text('[school_policy.brook]\ntrust = { trust_wide = [] }\n')
    with pytest.raises(ConfigError, match=r"school_policy\.brook: unknown key|school_policy\.brook\.trust"):
        load_settings(path, environ={})
    path.write_text('[policy]\ntrust = { school_may_set = ["risk_rules"] }\n'
                    '[school_policy.brook]\ncost_bands = []\n')
    with pytest.raises(ConfigError, match=r"school_policy\.brook\.cost_bands: not a key the trust lets"):
        load_settings(path, environ={})
    path.write_text('[school_policy.brook]\n'
                    'cost_bands = [{ above = "x", gate = "proceed", roles = ["slt"] }]\n')
    with pytest.raises(ConfigError, match=r"school_policy\.brook\.cost_bands\[0\]\.above: must be an amount"):
        load_settings(path, environ={})


def test_a_clash_is_with_a_change_of_a_school_it_affects(rt, trust):
    from fitsflow.services import catalogue

    catalogue.load_demo(rt)
    director = trust.oak.trust["it_director"][0]  # sees every school: nothing is hidden from them
    primaries = f.School(rt)  # Brook's and Cedar's requester and approvers
    for uid in (primaries.requester, *primaries.cab, primaries.slt, primaries.finance, primaries.head):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["brook", "cedar"])
    primaries.trust = trust.oak.trust
    at_brook = f.change_in(rt, primaries, "minor", "scheduled", title="Brook core switch", schools="brook",
                           affected=("Core network",))
    at_cedar = f.change_in(rt, primaries, "minor", "release_planning", title="Cedar core switch",
                           schools="cedar", affected=("Core network",))
    f.fill_stages(rt, primaries.requester, at_cedar, ("release_plan",))  # the same window as Brook's
    # Two schools' core networks are two sites': no clash.
    assert changes_service.get_change(rt, actor_id=director, ref=at_cedar).clashes == ()
    wide = f.change_in(rt, primaries, "minor", "release_planning", title="Trust core firmware",
                       schools="brook,cedar", affected=("Core network",))
    f.fill_stages(rt, primaries.requester, wide, ("release_plan",))
    found = changes_service.get_change(rt, actor_id=director, ref=wide).clashes
    assert len(found) == 2 and any(at_brook in c for c in found) and any(at_cedar in c for c in found)
    # And Brook's sees the trust-wide one.
    assert any(wide in c for c in changes_service.get_change(rt, actor_id=director, ref=at_brook).clashes)


def _primaries(rt, trust) -> f.School:  # type: ignore[no-untyped-def]
    """A requester and approvers who belong to Brook and Cedar."""
    people = f.School(rt)
    for uid in (people.requester, people.other_requester, *people.cab, people.slt, people.finance,
                people.head, people.auditor, people.admin, people.staff):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["brook", "cedar"])
    people.trust = trust.oak.trust
    return people


def _of(rt, roles: str, slugs: list[str], audiences: str = "") -> int:  # type: ignore[no-untyped-def]
    uid = f.user(rt, roles, audiences)
    schools.set_user_schools(rt, email=_email(rt, uid), slugs=slugs)
    return uid


def test_an_escalation_never_stands_in_for_the_trust(rt, trust):
    from fitsflow.domain.errors import NotPermitted
    from fitsflow.services import gates, reminders

    people = _primaries(rt, trust)
    brook_head = _of(rt, "head", ["brook"])
    ref = f.change_in(rt, people, "minor", "proceed_approval", schools="brook,cedar")
    rt.clock.set(rt.now() + timedelta(days=21), running=True)
    reminders.run_due(rt, now=rt.now())  # reminded, then escalated to the heads
    detail = changes_service.get_change(rt, actor_id=brook_head, ref=ref)
    assert detail.gate is not None and "trust_cab" not in detail.gate.decide_as
    with pytest.raises(NotPermitted):
        gates.decide(rt, actor_id=brook_head, ref=ref, decision="approve", role="trust_cab")
    assert gates.decide(rt, actor_id=brook_head, ref=ref, decision="approve", role="finance").outcome \
        == "pending"  # a school's role it may fill; the trust CAB's it may not


def test_a_proposal_is_one_schools_and_a_follow_up_only_of_the_proposers_schools(rt, trust):
    from fitsflow.services import proposals

    people = _primaries(rt, trust)
    before = f.counts(rt)
    with pytest.raises(InvalidInput) as err:
        proposals.propose(rt, actor_id=people.requester, data={
            "what": "Visualisers", "why": "Maths lessons", "affects": "Maths", "school": "brook,cedar"})
    assert err.value.problems["school"] == "name one school"
    assert f.counts(rt) == before
    # A follow-up of a trust-wide change raised by a requester of Brook alone is Brook's.
    wide = f.change_in(rt, people, "minor", "in_review", schools="brook,cedar")
    brook_requester = _of(rt, "requester", ["brook"])
    child = changes_service.spawn_follow_up(rt, actor_id=brook_requester, ref=wide, title="Spares on site")
    cedar_viewer = trust.viewer["cedar"]
    with pytest.raises(NotFound):
        changes_service.get_change(rt, actor_id=cedar_viewer, ref=child.ref)
    brook_viewer = trust.viewer["brook"]
    assert changes_service.get_change(rt, actor_id=brook_viewer, ref=child.ref).change.ref == child.ref
    # The requester of both schools follows it up for both.
    both = changes_service.spawn_follow_up(rt, actor_id=people.requester, ref=wide, title="Spares for both")
    assert changes_service.get_change(rt, actor_id=cedar_viewer, ref=both.ref).change.ref == both.ref


def test_a_standard_change_is_one_schools(rt, trust):
    people = _primaries(rt, trust)
    template = f.standard_template(rt, people, for_school="brook")
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=people.requester, title="Lamp", category="standard",
                                     template=template, cost="100", school="brook,cedar")
    assert "one school's" in err.value.problems["school"]


def test_report_counts_of_notices_and_proposals_are_the_readers_schools(rt, trust):
    from fitsflow.services import proposals, reports

    people = _primaries(rt, trust)
    proposals.propose(rt, actor_id=people.requester, data={
        "what": "Visualisers", "why": "Maths lessons", "affects": "Maths", "school": "brook"})
    ref = f.change_in(rt, people, "minor", "scheduled", schools="brook")
    f.send_held_notices(rt, people, ref)
    notices.publish_due(rt, now=rt.now() + timedelta(days=60))  # every release notice due by then
    dale = _of(rt, "auditor", ["dale"])
    period = {"start": rt.today().isoformat(), "end": (rt.today() + timedelta(days=90)).isoformat()}
    theirs = reports.report(rt, actor_id=dale, **period)
    assert theirs.proposals == {} and all(r.of == 0 for r in theirs.acknowledgements.values())
    mine = reports.report(rt, actor_id=_of(rt, "auditor", ["brook"]), **period)
    assert mine.proposals == {"open": 1} and sum(r.of for r in mine.acknowledgements.values()) > 0


def test_two_schools_of_one_name_keep_their_reports_apart(rt, trust):
    from fitsflow.services import reports

    schools.add_school(rt, slug="twin-a", name="Twin")
    schools.add_school(rt, slug="twin-b", name="Twin")
    twins = f.School(rt)
    for uid in (twins.requester, *twins.cab, twins.slt, twins.finance, twins.head):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["twin-a", "twin-b"])
    f.change_in(rt, twins, "minor", "needs_analysis", schools="twin-a")
    reader = _of(rt, "auditor", ["twin-a", "twin-b"])
    assert reports.report(rt, actor_id=reader, school="twin-a").raised == 1
    assert reports.report(rt, actor_id=reader, school="twin-b").raised == 0
    rolled = reports.report(rt, actor_id=reader).by_school
    assert rolled == {"Twin (twin-a)": {"in progress": 1}, "Twin (twin-b)": {}}


def test_a_school_administrator_never_manages_a_trust_role(rt, trust):
    from fitsflow.services import users

    admin = _of(rt, "admin", ["brook"])
    director = trust.oak.trust["it_director"][0]
    with pytest.raises(NotFound):
        users.check_manages(rt, actor_id=admin, user_id=director)
    rows, _ = users.page_users(rt, actor_id=admin, limit=500)
    assert director not in {r.id for r in rows}


def test_only_a_notices_school_sees_who_read_it(rt, trust):
    people = _primaries(rt, trust)
    ref = f.change_in(rt, people, "minor", "scheduled", schools="brook,cedar")
    brook_head = _of(rt, "head slt", ["brook"], "slt")
    seen = {n.school: n.names_visible for n in notices.notices_for(rt, actor_id=brook_head, ref=ref)}
    assert seen == {"Brook Primary": True, "Cedar Primary": False}
    cedar_notice = next(n for n in notices.notices_for(rt, actor_id=brook_head, ref=ref)
                        if n.school == "Cedar Primary")
    with pytest.raises(NotFound):
        notices.acknowledgements(rt, actor_id=brook_head, ref=ref, notice_id=cedar_notice.id, waiting=True)


def test_a_school_has_its_own_notice_templates_where_it_writes_them(rt, trust, tmp_path):
    import dataclasses

    from fitsflow.notice_templates import NoticeTemplates

    folder = tmp_path / "notices"
    (folder / "brook").mkdir(parents=True)
    (folder / "brook" / "staff.txt").write_text("{{ change.title }} at Brook\nCroeso, Brook staff: "
                                                "{{ release.window_start }}\n")
    templates = NoticeTemplates(school=rt.settings.school.name, currency="GBP", template_dir=str(folder))
    rt = dataclasses.replace(rt, templates=templates)
    people = _primaries(rt, trust)
    ref = f.change_in(rt, people, "minor", "scheduled", schools="brook,cedar")
    drafted = {(n.school, n.audience): n for n in notices.notices_for(rt, actor_id=people.requester, ref=ref)}
    assert drafted[("Brook Primary", "staff")].body.startswith("Croeso, Brook staff")
    assert drafted[("Brook Primary", "staff")].subject.endswith("at Brook")
    assert "Cedar Primary — what changes for staff" in drafted[("Cedar Primary", "staff")].body
    assert "Brook Primary" in drafted[("Brook Primary", "slt")].body  # the shipped full tier


def test_a_schools_standard_template_is_its_own_and_the_trusts_is_everyones(rt, tmp_path, trust):
    from fitsflow.services import catalogue, templates

    from .web_support import WebSchool, login, make_app

    catalogue.save_service(rt, actor_id=None, name=f.TEMPLATE_SERVICE)
    people = _primaries(rt, trust)
    with pytest.raises(InvalidInput) as err:  # in two schools: say whose
        f.standard_template(rt, people)
    assert "say which school it is for" in err.value.problems["school"]
    brook_cab = _of(rt, "cab", ["brook"])
    cedar_cab = _of(rt, "cab", ["cedar"])

    def propose(who: int, title: str, school: str = "") -> templates.TemplateView:
        return templates.propose(rt, actor_id=who, data={
            "title": title, "services": [f.TEMPLATE_SERVICE], "max_cost": "200", "steps": "Swap it",
            "backout_plan": "Refit the old one", "screening": dict(f.SCREENED_CLEAR), "school": school})

    view = propose(people.requester, "Brook projector lamps", "brook")
    # Brook's CAB decides it; Cedar's never sees it.
    with pytest.raises(NotFound):
        templates.get(rt, actor_id=cedar_cab, template_id=view.id)
    assert view.id not in {t.id for t in templates.browse(rt, actor_id=cedar_cab).items}
    templates.act(rt, actor_id=brook_cab, template_id=view.id, action="approve")
    # Brook's changes use it; a Cedar change cannot.
    made = changes_service.raise_change(rt, actor_id=people.requester, title="Lamp", category="standard",
                                        template=view.ref, cost="100", school="brook")
    assert made.ref
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=people.requester, title="Lamp", category="standard",
                                     template=view.ref, cost="100", school="cedar")
    assert "another school's template" in err.value.problems["template"]
    assert view.id not in {t.id for t in templates.usable(rt, actor_id=trust.viewer["cedar"])}
    # The trust's (proposed by someone who acts in every school, naming none) is everyone's.
    trust_requester = f.user(rt, "requester it_director")
    shared = propose(trust_requester, "Trust certificate renewal")
    from fitsflow.domain.errors import NotPermitted

    with pytest.raises(NotPermitted):  # one school's CAB does not decide for every school
        templates.act(rt, actor_id=cedar_cab, template_id=shared.id, action="approve")
    templates.act(rt, actor_id=f.user(rt, "cab trust_cab"), template_id=shared.id, action="approve")
    assert shared.id in {t.id for t in templates.usable(rt, actor_id=trust.viewer["cedar"])}
    assert shared.id in {t.id for t in templates.usable(rt, actor_id=trust.viewer["brook"])}
    # On the web, Cedar's CAB gets Brook's template page as one that does not exist.
    web = WebSchool(rt)
    schools.set_user_schools(rt, email=web.emails[web.cab[0]], slugs=["cedar"])
    client = make_app(rt, tmp_path).test_client()
    login(client, web.emails[web.cab[0]])
    assert client.get(f"/templates/{view.id}").status_code == 404
    assert client.get("/templates/999999").status_code == 404
    assert "Brook projector lamps" not in client.get("/templates").get_data(as_text=True)


def test_a_school_has_its_own_services_beside_the_trusts(rt, trust, tmp_path):
    from fitsflow.domain.errors import NotPermitted
    from fitsflow.services import catalogue

    catalogue.save_service(rt, actor_id=None, name="Core network")  # the trust's
    brook_admin = _of(rt, "admin", ["brook"])
    own = catalogue.save_service(rt, actor_id=brook_admin, name="Brook farm webcam",
                                 depends_on=["Core network"])
    assert own.school == "brook"
    # A school's administrator changes its own services, never the trust's.
    with pytest.raises(NotPermitted):
        catalogue.save_service(rt, actor_id=brook_admin, name="Core network", description="mine now")
    # The trust's services never depend on a school's.
    with pytest.raises(InvalidInput) as err:
        catalogue.save_service(rt, actor_id=None, name="Email", depends_on=["Brook farm webcam"])
    assert "depends only on the trust's" in err.value.problems["depends_on"]
    # Brook's people choose it; Cedar's neither see nor choose it.
    assert "Brook farm webcam" in catalogue.active_names(rt, trust.viewer["brook"])
    assert "Brook farm webcam" not in catalogue.active_names(rt, trust.viewer["cedar"])
    with pytest.raises(NotFound):
        catalogue.get_service(rt, service_id=own.id, actor_id=trust.viewer["cedar"])
    cedar_requester = _of(rt, "requester", ["cedar"])
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=cedar_requester, title="Webcam", category="minor",
                                     affected_services=["Brook farm webcam"])
    assert "unknown service Brook farm webcam" in err.value.problems["affected_services"]
    brook_requester = _of(rt, "requester", ["brook"])
    made = changes_service.raise_change(rt, actor_id=brook_requester, title="Webcam", category="minor",
                                        affected_services=["brook farm webcam"])
    assert made.affected_services == ("Brook farm webcam",)
    # Cedar's administrator cannot take the name, nor see whose it is.
    with pytest.raises(InvalidInput) as err:
        catalogue.save_service(rt, actor_id=_of(rt, "admin", ["cedar"]), name="Brook farm webcam")
    assert err.value.problems["name"] == "that name is taken: choose another"


def test_the_schedule_answers_another_schools_service_as_one_that_does_not_exist(rt, trust):
    from fitsflow.services import catalogue, schedule

    catalogue.save_service(rt, actor_id=None, name="Brook farm webcam", school="brook")
    cedar = trust.viewer["cedar"]
    for name in ("Brook farm webcam", "Nothing here"):
        with pytest.raises(InvalidInput) as err:
            schedule.forward_schedule(rt, actor_id=cedar, start=rt.today(), days=7, service=name)
        assert err.value.problems["service"] == "is not in the service catalogue"
    assert schedule.forward_schedule(rt, actor_id=trust.viewer["brook"], start=rt.today(), days=7,
                                     service="Brook farm webcam")


def test_a_set_made_in_a_unit_of_work_stays_in_its_scope_when_the_person_is_loaded_again(rt):
    """A request remembers the sets of schools a person's trust-wide changes are in; making a
    new set forgets that, so loading the person again in the same unit of work keeps the new
    set in what the session sees (a scope only narrows: a stale memory would drop it)."""
    from fitsflow.persistence import school_scope
    from fitsflow.services import common

    trust = Trust(rt)
    requester = trust.oak.requester
    with rt.db.remembering(), rt.db.transaction() as session:
        actor = common.load_actor(rt, session, requester)
        made = schools.for_new_change(rt, session, actor, "school,cedar", several=True)
        common.load_actor(rt, session, requester)  # someone loaded again in the same work
        assert made in (school_scope.scope_of(session) or ())
