"""Issue 25.3: web-filtering decisions — a member of staff asks for a site or category to be
allowed or blocked (what, why, for whom, until when); the DSL or a deputy decides with the
reason (nobody else, never the asker); the network manager records it applied and put back;
the log is searchable and exports for the annual filtering review. The lifecycle is data: a bad
file names the file and the key."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.domain.errors import ConfigError, InvalidInput, NotFound, NotPermitted
from fitsflow.persistence.models import AuditEvent, OutboxMessage
from fitsflow.services import auth, filtering

from . import factories as f
from .conftest import at_test_time
from .web_support import WebSchool, login, make_app, post

ASK = {"what": "www.bbc.co.uk/bitesize", "action": "allow", "why": "Year 9 revision needs the videos",
       "for_whom": "Year 9", "until": ""}


def _told(rt, request_id: int) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        rows = session.execute(select(OutboxMessage.recipient_id, OutboxMessage.subject,
                                      OutboxMessage.payload).order_by(OutboxMessage.id)).all()
    return [(uid, subject) for uid, subject, payload in rows
            if json.loads(payload or "{}").get("link") == f"/filtering/{request_id}"]


@pytest.fixture
def people(rt):  # type: ignore[no-untyped-def]
    school = f.School(rt)
    dsl = f.user(rt, "dsl", "slt", "Jo DSL")
    deputy = f.user(rt, "deputy_dsl", "staff", "Deputy DSL")
    return school, dsl, deputy


def test_a_teacher_asks_the_dsl_decides_the_manager_applies_and_puts_it_back(rt, people):
    school, dsl, deputy = people
    until = rt.today() + timedelta(days=10)
    asked = filtering.ask(rt, actor_id=school.staff, data={**ASK, "until": until.isoformat()})
    assert asked.state == "asked" and asked.until == until and asked.steps[0].trigger == "withdraw"
    # Whoever decides is told (the DSL and the deputy); nobody else.
    assert {uid for uid, _ in _told(rt, asked.id)} == {dsl, deputy}

    # Nobody but the DSL or a deputy decides: not the network manager, the CAB, the head or an admin.
    for who in (school.requester, school.cab[0], school.head, school.admin, school.staff):
        with pytest.raises((NotPermitted, NotFound)):
            filtering.act(rt, actor_id=who, request_id=asked.id, trigger="agree", reason="Fine")
    with pytest.raises(InvalidInput, match="required"):
        filtering.act(rt, actor_id=dsl, request_id=asked.id, trigger="agree", reason=" ")
    with pytest.raises(InvalidInput, match="not possible at .*you may: Agree, Refuse"):
        filtering.act(rt, actor_id=dsl, request_id=asked.id, trigger="apply")

    agreed = filtering.act(rt, actor_id=deputy, request_id=asked.id, trigger="agree",
                           reason="Educational; the category stays blocked", expected_version=asked.version)
    assert agreed.state == "agreed" and agreed.decision == "agree" and agreed.decided_by == "Deputy DSL"
    # A second decision on the version read is refused: someone moved it on.
    with pytest.raises(InvalidInput):
        filtering.act(rt, actor_id=dsl, request_id=asked.id, trigger="refuse", reason="No",
                      expected_version=asked.version)
    told = _told(rt, asked.id)
    # The asker hears the decision; the network managers hear there is something to apply.
    later = {uid for uid, _ in told[2:]}
    assert school.staff in later and school.requester in later and school.other_requester in later

    with pytest.raises(NotPermitted):
        filtering.act(rt, actor_id=dsl, request_id=asked.id, trigger="apply")
    assert filtering.waiting_count(rt, actor_id=school.requester) == 1
    with pytest.raises(NotPermitted):  # only the asker withdraws: the ICT team applies what was agreed
        filtering.act(rt, actor_id=school.requester, request_id=asked.id, trigger="withdraw", reason="x")
    applied = filtering.act(rt, actor_id=school.requester, request_id=asked.id, trigger="apply")
    assert applied.state == "applied" and applied.applied_by == "Requester" and not applied.overdue
    # Applied, it waits for nobody until its time is over; then the network manager puts it back.
    assert filtering.waiting_count(rt, actor_id=school.requester) == 0
    assert filtering.listing(rt, actor_id=school.requester, view="todo").items == []

    rt.clock.advance(timedelta(days=11))
    late = filtering.get(rt, actor_id=school.requester, request_id=asked.id)
    assert late.overdue
    assert [r.id for r in filtering.listing(rt, actor_id=school.requester, view="todo").items] == [asked.id]
    assert filtering.waiting_count(rt, actor_id=school.requester) == 1
    back = filtering.act(rt, actor_id=school.requester, request_id=asked.id, trigger="revert")
    assert back.state == "reverted" and back.final and not back.overdue and back.steps == ()

    with rt.db.read() as session:
        kinds = [(e.event_type, json.loads(e.payload).get("trigger")) for e in session.exec(
            select(AuditEvent).where(AuditEvent.event_type.like("filtering.%"))  # type: ignore[attr-defined]
            .order_by(AuditEvent.seq)).scalars()]  # type: ignore[attr-defined]
    assert kinds == [("filtering.asked", None), ("filtering.moved", "agree"), ("filtering.moved", "apply"),
                     ("filtering.moved", "revert")]


def test_nobody_decides_their_own_request_and_their_queue_leaves_it_out(rt, people):
    school, dsl, deputy = people
    own = filtering.ask(rt, actor_id=dsl, data={**ASK, "what": "YouTube for Year 11"})
    other = filtering.ask(rt, actor_id=school.staff, data=ASK)
    assert "agree" not in {s.trigger for s in own.steps}
    with pytest.raises(NotPermitted, match="nobody decides their own request"):
        filtering.act(rt, actor_id=dsl, request_id=own.id, trigger="agree", reason="Mine")
    queue = filtering.listing(rt, actor_id=dsl, view="todo")
    assert [r.id for r in queue.items] == [other.id] and queue.total == 1
    assert filtering.waiting_count(rt, actor_id=dsl) == 1
    assert filtering.waiting_count(rt, actor_id=deputy) == 2
    assert filtering.waiting_count(rt, actor_id=school.staff) == 0
    # The deputy decides the DSL's own request.
    assert filtering.act(rt, actor_id=deputy, request_id=own.id, trigger="refuse",
                         reason="Use the clips in the library").state == "refused"


def test_who_sees_what(rt, people):
    school, dsl, _ = people
    mine = filtering.ask(rt, actor_id=school.staff, data=ASK)
    other_teacher = f.user(rt, "", "staff", "Other teacher")
    with pytest.raises(NotFound):
        filtering.get(rt, actor_id=other_teacher, request_id=mine.id)
    assert filtering.listing(rt, actor_id=other_teacher).items == []
    with pytest.raises(NotPermitted):
        filtering.listing(rt, actor_id=other_teacher, view="all")
    for reader in (dsl, school.requester, school.head, school.auditor):
        assert filtering.get(rt, actor_id=reader, request_id=mine.id).id == mine.id
    with pytest.raises(NotFound):
        filtering.get(rt, actor_id=school.cab[0], request_id=mine.id)
    pupil = f.user(rt, "", "students", "Pupil")
    with pytest.raises(NotPermitted, match="for the school's staff"):
        filtering.ask(rt, actor_id=pupil, data=ASK)
    # The asker withdraws with a reason; then nothing is left to decide.
    gone = filtering.act(rt, actor_id=school.staff, request_id=mine.id, trigger="withdraw",
                         reason="Found another site")
    assert gone.state == "withdrawn" and gone.withdrawn_reason == "Found another site"
    with pytest.raises(InvalidInput, match="nothing is yours to do"):
        filtering.act(rt, actor_id=dsl, request_id=mine.id, trigger="agree", reason="Late")


def test_bad_requests_name_every_problem(rt, people):
    school, _, _ = people
    with pytest.raises(InvalidInput) as err:
        yesterday = (rt.today() - timedelta(days=1)).isoformat()
        filtering.ask(rt, actor_id=school.staff,
                      data={"what": "", "action": "open", "why": "", "for_whom": "", "until": yesterday})
    assert set(err.value.problems) == {"what", "action", "why", "for_whom", "until"}
    with pytest.raises(InvalidInput, match="a date"):
        filtering.ask(rt, actor_id=school.staff, data={**ASK, "until": "next week"})
    with pytest.raises(InvalidInput):
        filtering.listing(rt, actor_id=school.requester, state="nowhere")
    with pytest.raises(NotFound):
        filtering.get(rt, actor_id=school.requester, request_id=2**40)


def test_the_log_is_searchable_and_exports_for_the_annual_review(rt, people):
    school, dsl, _ = people
    made = []
    for what, action, who in (("tiktok.com", "block", "Year 7"), ("www.bbc.co.uk", "allow", "Year 9"),
                              ("Games category", "block", "Everyone"),
                              ("scratch.mit.edu", "allow", "Year 8")):
        made.append(filtering.ask(rt, actor_id=school.staff, data={**ASK, "what": what, "action": action,
                                                                    "for_whom": who}))
    filtering.act(rt, actor_id=dsl, request_id=made[0].id, trigger="agree", reason="Distraction in lessons")
    filtering.act(rt, actor_id=dsl, request_id=made[1].id, trigger="refuse", reason="=HYPERLINK(\"x\")")
    filtering.act(rt, actor_id=dsl, request_id=made[3].id, trigger="agree", reason="Computing curriculum")
    found = filtering.listing(rt, actor_id=school.requester, view="all", q="BBC")
    assert [r.id for r in found.items] == [made[1].id]
    def ids(**narrowed: str) -> set[int]:
        return {r.id for r in filtering.listing(rt, actor_id=dsl, view="all", **narrowed).items}

    assert ids(q="curriculum") == {made[3].id}
    assert ids(action="block") == {made[0].id, made[2].id}
    assert ids(state="refused") == {made[1].id}
    assert filtering.listing(rt, actor_id=dsl, view="all", q="%").items == []  # wildcards are text

    today = rt.today()
    rows = filtering.log(rt, actor_id=school.head, start=today - timedelta(days=365), end=today)
    assert [(r[0], r[9], r[12]) for r in rows] == [
        (made[0].id, "Agree", "Distraction in lessons"), (made[1].id, "Refuse", '=HYPERLINK("x")'),
        (made[3].id, "Agree", "Computing curriculum")]
    text = filtering.log_csv(rows)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == list(filtering.LOG_COLUMNS) and len(parsed) == 4
    assert parsed[2][12] == "'=HYPERLINK(\"x\")"  # a spreadsheet will not run it
    assert filtering.log(rt, actor_id=school.head, start=today + timedelta(days=1),
                         end=today + timedelta(days=2)) == []
    with pytest.raises(NotPermitted):
        filtering.log(rt, actor_id=school.staff, start=today, end=today)
    with pytest.raises(NotPermitted):
        filtering.log(rt, actor_id=school.cab[0], start=today, end=today)
    with pytest.raises(InvalidInput):
        filtering.log(rt, actor_id=school.head, start=today, end=today - timedelta(days=1))
    assert filtering.log_xlsx(rows)[:2] == b"PK"


def test_another_schools_requests_are_not_seen(rt, people):
    school, dsl, _ = people
    from fitsflow.persistence.models import User
    from fitsflow.services import schools as schools_service

    schools_service.add_school(rt, slug="brook", name="Brook Primary")
    their_teacher = f.user(rt, "", "staff", "Brook teacher")
    their_dsl = f.user(rt, "dsl", "", "Brook DSL")
    for uid in (their_teacher, their_dsl):
        with rt.db.read() as session:
            email = session.get(User, uid).email  # type: ignore[union-attr]
        schools_service.set_user_schools(rt, email=email, slugs=["brook"])
    theirs = filtering.ask(rt, actor_id=their_teacher, data=ASK)
    with pytest.raises(NotFound):
        filtering.get(rt, actor_id=dsl, request_id=theirs.id)
    with pytest.raises(NotFound):
        filtering.act(rt, actor_id=dsl, request_id=theirs.id, trigger="agree", reason="x")
    assert theirs.id not in {r.id for r in filtering.listing(rt, actor_id=dsl, view="all").items}
    assert dsl not in {uid for uid, _ in _told(rt, theirs.id)}
    decided = filtering.act(rt, actor_id=their_dsl, request_id=theirs.id, trigger="agree", reason="ok")
    assert decided.state == "agreed"


def test_the_web_journey_and_the_api(rt, people, tmp_path):
    school = WebSchool(rt)
    from fitsflow.services import users

    users.add_user(rt, name="Web DSL", email="dsl@web.school", password="correct horse battery",
                   roles="dsl", audiences="slt")
    app = make_app(rt, tmp_path)
    teacher, manager, dsl = app.test_client(), app.test_client(), app.test_client()
    assert login(teacher, school.emails[school.staff]).status_code == 302
    assert login(manager, school.emails[school.requester]).status_code == 302
    assert login(dsl, "dsl@web.school", "correct horse battery").status_code == 302

    bad = post(teacher, "/filtering/new", {"what": "", "action": "allow"}, page="/filtering/new")
    assert bad.status_code == 400 and "is required" in bad.get_data(as_text=True)
    made = post(teacher, "/filtering/new", ASK, page="/filtering/new")
    assert made.status_code == 302
    path = made.headers["Location"]
    assert "Waiting for the safeguarding lead" in teacher.get(path).get_data(as_text=True)
    page = dsl.get("/filtering").get_data(as_text=True)
    assert "www.bbc.co.uk/bitesize" in page and "Waiting for me" in page
    refused = post(manager, path, {"trigger": "agree", "reason": "ok"}, page=path)
    assert refused.status_code == 403
    assert post(dsl, path, {"trigger": "agree", "reason": ""}, page=path).status_code == 400
    assert post(dsl, path, {"trigger": "agree", "reason": "Revision"}, page=path).status_code == 302
    assert post(manager, path, {"trigger": "apply"}, page=path).status_code == 302
    assert "Applied on the filter" in teacher.get(path).get_data(as_text=True)
    export = dsl.get("/filtering/log.csv")
    assert export.status_code == 200 and "Revision" in export.get_data(as_text=True)
    assert teacher.get("/filtering/log.csv").status_code == 403
    assert dsl.get("/filtering/log.csv?from=soon").status_code == 400
    assert dsl.get("/filtering/log.csv?from=9999-12-30&to=9999-12-31").status_code == 400
    assert dsl.get("/filtering/log.xlsx").status_code == 200
    assert app.test_client().get("/filtering").status_code == 302

    token = auth.create_token(rt, user_id=school.staff, name="t")
    headers = {"Authorization": f"Bearer {token}"}
    asked = teacher.post("/api/v1/filtering", json={**ASK, "until": None, "what": "scratch.mit.edu"},
                         headers=headers)
    assert asked.status_code == 201, asked.get_json()
    number = asked.get_json()["id"]
    wrong = teacher.post("/api/v1/filtering", json={**ASK, "action": "open"}, headers=headers)
    assert wrong.status_code == 400
    mine = teacher.get("/api/v1/filtering?view=mine", headers=headers).get_json()
    assert number in {r["id"] for r in mine["items"]}
    step = teacher.post(f"/api/v1/filtering/{number}/steps", json={"trigger": "agree", "reason": "me"},
                        headers=headers)
    assert step.status_code == 403
    manager_token = auth.create_token(rt, user_id=school.requester, name="m")
    listed = manager.get("/api/v1/filtering?view=all&q=scratch",
                         headers={"Authorization": f"Bearer {manager_token}"}).get_json()
    assert [r["id"] for r in listed["items"]] == [number]


def test_a_bad_lifecycle_file_names_the_file_and_the_key(tmp_path):
    bad = tmp_path / "filtering.toml"
    config = tmp_path / "fitsflow.toml"
    config.write_text(f'[filtering]\nworkflow = "{bad}"\n')
    cases = {
        'title = "x"\ninitial = "a"\n[states.a]\ntitle = "A"\n[[transitions]]\ntrigger = "go"\nsource = "a"\n'
        'dest = "a"\nroles = ["nobody_here"]\nrecords = "decision"\n': "transitions[0].roles: unknown role",
        'title = "x"\ninitial = "z"\n[states.a]\ntitle = "A"\n': "initial: must name a state",
        'title = "x"\ninitial = "a"\n[states.a]\ntitle = "A"\n[states.b]\ntitle = "B"\n[[transitions]]\n'
        'trigger = "go"\nsource = "a"\ndest = "a"\nroles = ["dsl"]\nrecords = "decision"\n':
            "states.b: no transition leads to it",
        'title = "x"\ninitial = "a"\n[states.a]\ntitle = "A"\n[[transitions]]\ntrigger = "go"\nsource = "a"\n'
        'dest = "a"\nroles = ["dsl"]\n': "no step records the decision",
        'title = "x"\nbogus = 1\n': "bogus: not a key",
    }
    for body, said in cases.items():
        bad.write_text(body)
        pattern = re.escape(f"filtering.workflow: {bad}: ") + ".*" + re.escape(said)
        with pytest.raises(ConfigError, match=pattern):
            load_settings(config, environ={})
    (tmp_path / "missing.toml").unlink(missing_ok=True)
    config.write_text(f'[filtering]\nworkflow = "{tmp_path / "missing.toml"}"\n')
    with pytest.raises(ConfigError, match="filtering.workflow: no file"):
        load_settings(config, environ={})


def test_the_school_may_ship_its_own_lifecycle(tmp_path):
    own = tmp_path / "filtering.toml"
    own.write_text('title = "Filtering"\ninitial = "asked"\nreaders = ["head"]\n'
                   '[states.asked]\ntitle = "With the head"\n[states.done]\ntitle = "Decided"\nfinal = true\n'
                   '[[transitions]]\ntrigger = "decide"\nsource = "asked"\ndest = "done"\nroles = ["head"]\n'
                   'records = "decision"\nreason = true\n')
    rt = at_test_time(build_runtime(load_settings(environ={}).replace(filtering={"workflow": str(own)}),
                                    database_url="sqlite://"))
    rt.db.create_all()
    school = f.School(rt)
    dsl = f.user(rt, "dsl", "", "DSL")
    asked = filtering.ask(rt, actor_id=school.staff, data=ASK)
    with pytest.raises(NotFound):  # in this school's lifecycle the DSL neither decides nor reads
        filtering.act(rt, actor_id=dsl, request_id=asked.id, trigger="decide", reason="x")
    done = filtering.act(rt, actor_id=school.head, request_id=asked.id, trigger="decide", reason="Fine")
    assert done.state_title == "Decided" and done.final
    # The log's readers are the file's: the head, not the DSL.
    with pytest.raises(NotPermitted):
        filtering.log(rt, actor_id=dsl, start=rt.today(), end=rt.today())
    assert len(filtering.log(rt, actor_id=school.head, start=rt.today(), end=rt.today())) == 1
