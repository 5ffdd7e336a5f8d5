"""Issue 24.1 and 24.4: schools as tenants. A trust holds schools; every change belongs to one;
people belong to schools and see only theirs (trust roles see every school's). Isolation is a
proof, not a promise: every web route and API operation that takes a change — from the URL
map, through the route matrix's rows, so a new route is covered — answers a person of school
A holding school B's reference exactly as it answers a reference that does not exist; every
page and API list without parameters shows none of B's changes; feeds and the schedule too."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from click.testing import CliRunner

from fitsflow.cli import cli
from fitsflow.domain.errors import InvalidInput, NotFound
from fitsflow.services import auth, change_search, changes, schedule, schools, users
from fitsflow.services.change_search import ChangeFilter

from . import factories as f
from .test_route_matrix import API, PEOPLE, WEB, _ids, _path
from .web_support import WebSchool, csrf_token, login, make_app

SECRET = "Brook secret fibre upgrade"
NOWHERE = "CHG-2099-9999"


def _brook(rt) -> f.School:  # type: ignore[no-untyped-def]
    """A second school with its own people (who belong to it alone) and changes."""
    schools.add_school(rt, slug="brook", name="Brook Primary", nation="wales")
    brook = f.School(rt)
    for uid in (brook.requester, brook.other_requester, *brook.cab, brook.slt, brook.finance, brook.head,
                brook.auditor, brook.admin, brook.staff):
        schools.set_user_schools(rt, email=_email(rt, uid), slugs=["brook"])
    return brook


def _email(rt, uid: int) -> str:  # type: ignore[no-untyped-def]
    from fitsflow.persistence import user_store

    with rt.db.read() as session:
        user = user_store.get(session, uid)
        assert user is not None
        return user.email


@pytest.fixture
def trust(rt, tmp_path):  # type: ignore[no-untyped-def]
    """Oak (the installation's first school) and Brook, on each database."""
    return _trust(rt, tmp_path)


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    """The same, for crawling every route (on SQLite: the routes do not differ by database)."""
    return _trust(sqlite_rt, tmp_path)


def _trust(rt, tmp_path):  # type: ignore[no-untyped-def]
    oak = WebSchool(rt)  # made while the trust has one school: its people belong to it
    own = f.change_in(rt, oak, "minor", "financial_planning", title="Oak projector")
    brook = _brook(rt)
    theirs = f.change_in(rt, brook, "minor", "financial_planning", title=SECRET)
    f.change_in(rt, brook, "minor", "scheduled", title=SECRET + " (scheduled)")
    # A trust-wide change of Brook and Cedar (not Oak): Oak's people never see it either.
    schools.add_school(rt, slug="cedar", name="Cedar Primary")
    schools.set_user_schools(rt, email=_email(rt, brook.requester), slugs=["brook", "cedar"])
    brook.trust = {"trust_cab": [f.user(rt, "trust_cab")], "it_director": [f.user(rt, "it_director")]}
    f.change_in(rt, brook, "minor", "scheduled", title=SECRET + " (trust-wide)", schools="brook,cedar")
    schools.set_user_schools(rt, email=_email(rt, brook.requester), slugs=["brook"])
    return make_app(rt, tmp_path), oak, own, brook, theirs


def _wide(rt) -> str:  # type: ignore[no-untyped-def]
    """The reference of the trust-wide change of Brook and Cedar."""
    from sqlalchemy import select

    from fitsflow.persistence.models import Change

    with rt.db.read() as session:
        return str(session.execute(select(Change.ref).where(Change.title == SECRET + " (trust-wide)"))
                   .scalar_one())


def _readable(response: Any) -> str:
    """A response's text, whatever its format (a workbook's cells, a PDF's text)."""
    data = response.get_data()
    if response.mimetype.endswith("spreadsheetml.sheet"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    if response.mimetype == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return str(data.decode())


def _comparable(body: str, ref: str) -> str:
    # The same page for another reference; the CSRF token and request ids differ each time.
    body = body.replace(ref, "REF")
    return re.sub(r'(name="csrf_token" value=|"request_id": ?|nonce=)"?[^" >]+', r"\1X", body)


def test_a_person_sees_only_their_schools_changes_and_a_trust_role_sees_every_school(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    seen = {c.change.ref for c in change_search.find(rt, actor_id=oak.auditor, filters=ChangeFilter(),
                                                     limit=50).items}
    assert own in seen and theirs not in seen
    with pytest.raises(NotFound):
        changes.get_change(rt, actor_id=oak.requester, ref=theirs)
    mine = {c.change.ref for c in change_search.find(rt, actor_id=brook.auditor, filters=ChangeFilter(),
                                                     limit=50).items}
    assert theirs in mine and own not in mine
    director = users.add_user(rt, name="IT director", email="director@trust.example", roles="it_director")
    every = {c.change.ref for c in change_search.find(rt, actor_id=director, filters=ChangeFilter(),
                                                      limit=50).items}
    assert {own, theirs} <= every
    assert changes.get_change(rt, actor_id=director, ref=theirs).change.ref == theirs


def test_a_change_is_raised_in_one_of_the_requesters_schools(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    both = users.add_user(rt, name="Shared manager", email="shared@trust.example", roles="requester")
    with pytest.raises(InvalidInput) as err:  # in no school yet
        changes.raise_change(rt, actor_id=both, title="Wi-Fi", category="minor")
    assert "belong to no school" in err.value.problems["school"]
    schools.set_user_schools(rt, email="shared@trust.example", slugs=["school", "brook"])
    with pytest.raises(InvalidInput) as err:
        changes.raise_change(rt, actor_id=both, title="Wi-Fi", category="minor")
    assert "say which school" in err.value.problems["school"]
    with pytest.raises(InvalidInput) as err:
        changes.raise_change(rt, actor_id=oak.requester, title="Wi-Fi", category="minor", school="brook")
    assert "one of your schools" in err.value.problems["school"]
    made = changes.raise_change(rt, actor_id=both, title="Wi-Fi", category="minor", school="brook")
    assert made.ref in {c.change.ref for c in change_search.find(
        rt, actor_id=brook.auditor, filters=ChangeFilter(), limit=50).items}
    with pytest.raises(NotFound):
        changes.get_change(rt, actor_id=oak.auditor, ref=made.ref)


def test_every_route_taking_a_change_answers_another_schools_as_one_that_does_not_exist(site):
    app, oak, own, brook, theirs = site
    rt = app.extensions["fitsflow"]
    ids = _ids(oak)
    clients = {}
    for person, uid in ids.items():
        client = app.test_client()
        if uid is not None:
            assert login(client, oak.emails[uid]).status_code == 302
        clients[person] = client
    tokens = {person: {"Authorization": "Bearer " + auth.create_token(
        rt, user_id=uid, name="crawl", scope="admin" if person == "admin" else "write")}
        for person, uid in ids.items() if uid is not None}
    crawled, leaks = 0, []
    wide = _wide(rt)
    for table, api in ((WEB, False), (API, True)):
        for (method, rule), (_, body) in table.items():
            if "<ref>" not in rule:
                continue
            for person in PEOPLE[1:]:
                answers = []
                for ref in (theirs, wide, NOWHERE):
                    path = _path(rule, ref, oak)
                    if api:
                        got = clients[person].open(path, method=method, headers=tokens[person],
                                                   json=dict(body) if body is not None else None)
                    else:
                        form: dict[str, Any] = dict(body or {})
                        if method == "POST":
                            form["csrf_token"] = csrf_token(clients[person])
                        got = clients[person].open(path, method=method, data=form)
                    text = got.get_data(as_text=True)
                    assert SECRET not in text, (method, rule, person)
                    answers.append((got.status_code, _comparable(text, ref)))
                crawled += 1
                for found in answers[:2]:
                    if found != answers[2]:
                        leaks.append(f"{method} {rule} as {person}: {found[0]} (missing: {answers[2][0]})")
    assert crawled > 300 and not leaks, "\n".join(leaks)


def test_no_list_page_feed_or_api_list_shows_another_schools_changes(site):
    app, oak, own, brook, theirs = site
    rt = app.extensions["fitsflow"]
    listed = [rule for (method, rule) in WEB if method == "GET" and "<" not in rule]
    # The exports, in each of their formats.
    listed += [rule.replace("<fmt>", fmt) for (method, rule) in WEB if method == "GET" and "<fmt>" in rule
               and rule.count("<") == 1 for fmt in ("csv", "xlsx", "pdf", "json")]
    api_listed = [rule for (method, rule) in API if method == "GET" and "<" not in rule]
    seen_own, wide = False, _wide(rt)
    for person, uid in _ids(oak).items():
        if uid is None:
            continue
        client = app.test_client()
        assert login(client, oak.emails[uid]).status_code == 302
        token = {"Authorization": "Bearer " + auth.create_token(rt, user_id=uid, name="lists", scope="read")}
        for rule in listed:
            text = _readable(client.get(rule))
            assert SECRET not in text and theirs not in text and wide not in text, (rule, person)
            seen_own |= "Oak projector" in text
        for rule in api_listed:
            text = _readable(client.get(rule, headers=token))
            assert SECRET not in text and theirs not in text and wide not in text, (rule, person)
        for query in ("?q=fibre", "?q=brook", f"?q={theirs}", f"?q={wide}", "?q=trust-wide"):
            assert SECRET not in client.get("/changes" + query).get_data(as_text=True)
    assert seen_own  # the pages crawled do list changes
    from fitsflow.services import feeds

    for kind in feeds.kinds_for(rt, user_id=oak.requester):
        token = feeds.create_feed(rt, user_id=oak.requester, kind=kind)
        feed = feeds.render(rt, token=token)
        assert feed is not None and SECRET.encode() not in feed.body, kind
    for kind in feeds.kinds_for(rt, user_id=brook.requester):
        if kind != "maintenance":
            feed = feeds.render(rt, token=feeds.create_feed(rt, user_id=brook.requester, kind=kind))
            assert feed is not None and SECRET.encode() in feed.body, kind  # Brook's own do show it
    start = rt.today()
    plan = schedule.forward_schedule(rt, actor_id=oak.requester, start=start, days=62)
    assert not [r for d in plan.days for r in d.releases if SECRET in r.title]
    theirs_plan = schedule.forward_schedule(rt, actor_id=brook.requester, start=start, days=62)
    assert [r for d in theirs_plan.days for r in d.releases if SECRET in r.title]


def test_the_command_line_adds_schools_and_says_who_belongs(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args))
        assert result.exit_code == code, result.output
        return result.output

    run("init")
    assert "school" in run("school", "list")  # the installation's own school
    assert "oak-lane added" in run("school", "add", "oak-lane", "--name", "Oak Lane Primary",
                                   "--nation", "wales")
    assert "Oak Lane Primary  (wales)" in run("school", "list")
    assert "lower-case" in run("school", "add", "Oak Lane", "--name", "x", code=1)
    assert "already a school's" in run("school", "add", "oak-lane", "--name", "Again", code=1)
    run("user", "add", "--name", "Pat", "--email", "pat@x.example", "--role", "requester")
    assert "belongs to: no school" in run("school", "members", "pat@x.example")
    assert "belongs to: oak-lane, school" in run("school", "members", "pat@x.example", "oak-lane", "school")
    assert "no school nowhere" in run("school", "members", "pat@x.example", "nowhere", code=1)
    assert "say which school" in run("change", "raise", "--as", "pat@x.example", "--title", "Wi-Fi",
                                     "--category", "minor", code=1)
    assert "raised" in run("change", "raise", "--as", "pat@x.example", "--title", "Wi-Fi", "--category",
                           "minor", "--school", "oak-lane")


def test_only_the_changes_school_and_the_trust_are_told(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from datetime import timedelta

    from sqlalchemy import text

    from fitsflow.services import notices

    cfo = users.add_user(rt, name="Trust CFO", email="cfo@trust.example", roles="trust_finance")
    assert cfo
    at_gate = f.change_in(rt, brook, "minor", "proceed_approval", title=SECRET + " at the gate")
    notices.publish_due(rt, now=rt.now() + timedelta(days=60))  # every release notice due by then
    oak_people = set(_ids(oak).values()) - {None} | {oak.other_requester, oak.cab[1], oak.slt, oak.head}
    brook_people = {brook.requester, brook.other_requester, *brook.cab, brook.slt, brook.finance, brook.head,
                    brook.auditor, brook.admin, brook.staff}
    with rt.db.engine.connect() as connection:
        asked = {r[0] for r in connection.execute(
            text("SELECT recipient_id FROM outbox WHERE change_ref = :ref"), {"ref": at_gate})}
        told = {r[0] for r in connection.execute(text(
            "SELECT o.recipient_id FROM outbox o JOIN changes c ON c.ref = o.change_ref "
            "WHERE c.school_id <> 1"))}
        received = {r[0] for r in connection.execute(text(
            "SELECT n.user_id FROM notice_receipts n JOIN changes c ON c.id = n.change_id "
            "WHERE c.school_id <> 1"))}
    assert brook.finance in asked  # the gate's approvers at Brook are asked …
    assert told and not told & oak_people  # … and nobody at Oak is told anything of Brook's changes
    assert brook.staff in received and oak.staff not in received
    # (and the trust's people: the trust-wide change's trust CAB and IT director)
    assert told <= brook_people | {cfo, *(uid for held in brook.trust.values() for uid in held)}


def test_an_administrator_says_which_schools_a_person_belongs_to(site):
    app, oak, own, brook, theirs = site
    rt = app.extensions["fitsflow"]
    client = app.test_client()
    assert login(client, oak.emails[oak.admin]).status_code == 302
    # An administrator of Oak alone: Brook's people are not there for them, nor trust roles.
    assert client.get(f"/admin/users/{brook.requester}").status_code == 404
    listed = client.get("/admin/users?size=100").get_data(as_text=True)
    assert _email(rt, brook.requester) not in listed and oak.emails[oak.requester] in listed
    form = {"csrf_token": csrf_token(client, f"/admin/users/{brook.requester}"), "name": "Taken over",
            "roles": "requester", "active": "1", "password": "a long new password 42!"}
    assert client.post(f"/admin/users/{brook.requester}", data=form).status_code == 404
    form = {"csrf_token": csrf_token(client, f"/admin/users/{oak.auditor}"), "name": "Auditor",
            "roles": ["auditor", "it_director"], "active": "1"}
    refused = client.post(f"/admin/users/{oak.auditor}", data=form)
    assert refused.status_code == 400 and "act for the whole trust" in refused.get_data(as_text=True)
    form = {"csrf_token": csrf_token(client, f"/admin/users/{oak.auditor}"), "name": "Auditor",
            "roles": "auditor", "active": "1", "schools_shown": "1", "schools": ["school", "brook"]}
    refused = client.post(f"/admin/users/{oak.auditor}", data=form)
    assert refused.status_code == 400
    assert "brook: not a school you administer" in refused.get_data(as_text=True)
    # An administrator of both schools places people in either.
    schools.set_user_schools(rt, email=oak.emails[oak.admin], slugs=["school", "brook"])
    page = client.get(f"/admin/users/{oak.auditor}").get_data(as_text=True)
    assert 'name="schools" value="brook"' in page and 'value="school" checked' in page
    form = {"csrf_token": csrf_token(client, f"/admin/users/{oak.auditor}"), "name": "Auditor",
            "roles": "auditor", "active": "1", "schools_shown": "1", "schools": ["school", "brook"]}
    assert client.post(f"/admin/users/{oak.auditor}", data=form).status_code == 302
    seen = {c.change.ref for c in change_search.find(rt, actor_id=oak.auditor, filters=ChangeFilter(),
                                                     limit=50).items}
    assert {own, theirs} <= seen
    form = {**form, "csrf_token": csrf_token(client, f"/admin/users/{oak.auditor}"), "schools": ["brook"]}
    assert client.post(f"/admin/users/{oak.auditor}", data=form).status_code == 302
    assert schools.of_person(rt, oak.auditor) == ["brook"]
    with pytest.raises(NotFound):
        changes.get_change(rt, actor_id=oak.auditor, ref=own)
    # A form that did not offer the schools leaves them as they are.
    form = {k: v for k, v in form.items() if k not in ("schools", "schools_shown")}
    form["csrf_token"] = csrf_token(client, f"/admin/users/{oak.auditor}")
    assert client.post(f"/admin/users/{oak.auditor}", data=form).status_code == 302
    assert schools.of_person(rt, oak.auditor) == ["brook"]


def test_the_change_page_names_its_school_once_the_trust_has_several(site):
    app, oak, own, brook, theirs = site
    client = app.test_client()
    assert login(client, oak.emails[oak.requester]).status_code == 302
    first = app.extensions["fitsflow"].settings.school.name  # the first school takes the settings' name
    assert f"· {first}</p>" in client.get(f"/changes/{own}").get_data(as_text=True)


@pytest.mark.postgres
def test_postgresql_row_security_refuses_a_query_that_forgets_the_school(pg_rt):
    """The second line: a statement the application does not scope (raw SQL here), run by a
    role the policy binds, in a transaction that acts for Brook, reads only Brook's changes."""
    from sqlalchemy import text

    rt = pg_rt
    oak = f.School(rt)
    own = f.change_in(rt, oak, "minor", "needs_analysis", title="Oak projector")
    brook = _brook(rt)
    theirs = f.change_in(rt, brook, "minor", "needs_analysis", title=SECRET)
    probe = "fitsflow_rls_probe"
    with rt.db.engine.begin() as c:
        if not c.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": probe}).first():
            c.exec_driver_sql(f"CREATE ROLE {probe} NOLOGIN")
        schema = c.execute(text("SELECT current_schema()")).scalar_one()
        c.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {probe}")
        c.exec_driver_sql(f"GRANT SELECT ON changes TO {probe}")
    try:
        with rt.db.engine.connect() as c:
            with c.begin():
                c.exec_driver_sql(f"SET LOCAL ROLE {probe}")
                every = {r[0] for r in c.exec_driver_sql("SELECT ref FROM changes")}
            with c.begin():
                c.exec_driver_sql("SELECT set_config('fitsflow.schools', %s, true)", (str(2),))
                c.exec_driver_sql(f"SET LOCAL ROLE {probe}")
                for_brook = {r[0] for r in c.exec_driver_sql("SELECT ref FROM changes")}
            with c.begin():
                c.exec_driver_sql("SELECT set_config('fitsflow.schools', '0', true)")  # no school at all
                c.exec_driver_sql(f"SET LOCAL ROLE {probe}")
                nothing = c.exec_driver_sql("SELECT count(*) FROM changes").scalar_one()
    finally:
        with rt.db.engine.begin() as c:
            c.exec_driver_sql(f"REVOKE ALL ON changes FROM {probe}")
            c.exec_driver_sql(f"REVOKE USAGE ON SCHEMA {schema} FROM {probe}")
    assert {own, theirs} <= every  # no school set: the workers, the command line, trust roles
    assert theirs in for_brook and own not in for_brook
    assert nothing == 0
    # And the application sets it whenever it scopes a session.
    from fitsflow.persistence import school_scope

    with rt.db.read() as session:
        school_scope.limit_to(session, frozenset({2}))
        assert session.connection().exec_driver_sql(
            "SELECT current_setting('fitsflow.schools', true)").scalar_one() == "2"


def test_each_school_keeps_its_own_calendar_and_bank_holidays(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from datetime import date, timedelta

    from fitsflow.domain.errors import GateNotSatisfied
    from fitsflow.services import calendar

    window = (rt.now() + timedelta(days=10)).astimezone(rt.timezone).date()  # change_in's default window
    freeze = calendar.add_period(rt, actor_id=None, kind="freeze", title="Brook SATs week",
                                 start=(window - timedelta(days=1)).isoformat(),
                                 end=(window + timedelta(days=1)).isoformat(), school="brook")
    assert freeze.school_id is not None
    with pytest.raises(InvalidInput) as err:
        calendar.add_period(rt, actor_id=None, kind="freeze", title="x", start=window.isoformat(),
                            school="nope")
    assert "no school nope" in err.value.problems["school"]
    f.change_in(rt, oak, "minor", "scheduled", title="Oak goes ahead")  # Oak's calendar has no freeze
    with pytest.raises((GateNotSatisfied, InvalidInput)) as refused:
        f.change_in(rt, brook, "minor", "scheduled", title="Brook waits")
    assert "Brook SATs week" in str(refused.value)
    # Each school's bank holidays: St Andrew's Day is Scotland's, not England's.
    schools.add_school(rt, slug="glen", name="Glen Academy", nation="scotland")
    glen = next(s.id for s in schools.every_school(rt) if s.slug == "glen")
    with rt.db.read() as session:
        assert calendar.school_calendar(rt, session, glen).bank_holiday(date(2026, 11, 30))
        assert not calendar.school_calendar(rt, session, 1).bank_holiday(date(2026, 11, 30))


def test_side_routes_found_by_review_stay_in_the_school(trust):
    """Reports kept per set of schools; calendar exceptions and word counts of another
    school's changes; a second person loaded in a session narrows what it sees; a substitute
    from another school; a read of changes the rewrite cannot reach fails, not leaks."""
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from datetime import date, timedelta

    from sqlalchemy import select, text

    from fitsflow.persistence import school_scope
    from fitsflow.persistence.models import Change
    from fitsflow.services import absences, calendar_report, common, reports

    theirs_report = reports.report(rt, actor_id=brook.head)  # built first, at the same head
    ours = reports.report(rt, actor_id=oak.head)
    # Brook's: its two and the trust-wide one of Brook and Cedar.
    assert theirs_report is not ours and ours.raised == 1 and theirs_report.raised == 3
    assert all(theirs not in row for row in ours.went_ahead)
    # Word counts: Oak's search for a word only Brook's changes hold finds nothing, counts nothing.
    found = change_search.find(rt, actor_id=oak.auditor, filters=ChangeFilter(q="fibre", sort="relevance"))
    assert (found.total, found.items) == (0, [])
    today = rt.today()
    exceptions = calendar_report.calendar_exceptions(
        rt, actor_id=oak.auditor, first=today - timedelta(days=400),
                                                     last=today + timedelta(days=400))
    assert all(e.ref != theirs for e in exceptions.page.items)
    with rt.db.read() as session:
        common.load_actor(rt, session, oak.requester)
        common.load_actor(rt, session, brook.finance)  # narrows: neither school's now
        assert session.connection().execute(select(Change.__table__.c.ref)).all() == []
    with rt.db.read() as session:
        common.load_actor(rt, session, oak.requester)
        with pytest.raises(school_scope.Unscoped):
            session.connection().execute(text("SELECT ref FROM changes")).all()
    with rt.db.read() as session:
        common.load_actor(rt, session, oak.requester)
        with pytest.raises(school_scope.Unscoped):  # ORM entities: refused, not read around the scope
            session.exec(select(Change)).all()
    with pytest.raises(InvalidInput) as err:
        absences.record(rt, actor_id=brook.finance, substitute_email=_email(rt, oak.cab[0]),
                        first_day=date.today().isoformat(), last_day=date.today().isoformat())
    assert "works at a school" in err.value.problems["substitute_email"]


def test_a_statement_built_again_at_each_call_is_scoped_with_that_calls_values(trust, monkeypatch):
    """A read built at each call (a page, a count) is adapted to the scope once per shape; each
    later call's own values (a title, a limit, a list) must be the ones read, in each school."""
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from sqlalchemy import select

    from fitsflow.persistence import school_scope
    from fitsflow.persistence.models import Change
    from fitsflow.services import common

    changes = Change.__table__
    adapted: list[object] = []
    adapter = school_scope._ADAPTER

    class Counted:
        def traverse(self, statement: object) -> object:
            adapted.append(statement)
            return adapter.traverse(statement)

    monkeypatch.setattr(school_scope, "_ADAPTER", Counted())
    monkeypatch.setattr(school_scope, "_SHAPES", type(school_scope._SHAPES)())

    def refs(person: int, titles: list[str], limit: int) -> list[str]:
        with rt.db.read() as session:
            common.load_actor(rt, session, person)
            query = (select(changes.c.ref).where(changes.c.title.in_(titles), changes.c.id > 0)
                     .order_by(changes.c.id).limit(limit))
            return [r for (r,) in session.connection().execute(query)]

    assert refs(oak.requester, ["Oak projector", SECRET], 5) == [own]
    assert refs(brook.requester, ["Oak projector", SECRET], 5) == [theirs]
    assert refs(brook.requester, ["Oak projector"], 5) == []
    assert refs(oak.requester, ["Oak projector"], 0) == []
    assert refs(oak.requester, [SECRET, SECRET + " (scheduled)"], 5) == []
    assert refs(brook.requester, [SECRET + " (scheduled)", SECRET], 1) == [theirs]
    assert len(adapted) == 1  # one shape: adapted once, each call's values read


def test_a_proposal_is_its_schools_to_see_and_triage(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from sqlalchemy import text

    from fitsflow.services import proposals

    made = proposals.propose(rt, actor_id=brook.staff, data={"what": "Fibre to the Brook annexe",
                                                            "why": "The annexe Wi-Fi drops in lessons"})
    with pytest.raises(NotFound):
        proposals.get(rt, actor_id=oak.requester, proposal_id=made.id)
    assert made.id not in [p.id for p in proposals.listing(rt, actor_id=oak.requester).items]
    with pytest.raises(NotFound):
        proposals.triage(rt, actor_id=oak.requester, proposal_id=made.id, action="decline", reason="x")
    assert made.id in [p.id for p in proposals.listing(rt, actor_id=brook.requester).items]
    with rt.db.engine.connect() as c:
        told = {r[0] for r in c.execute(text(
            "SELECT recipient_id FROM outbox WHERE event = 'proposal_made'"))}
    assert brook.requester in told and oak.requester not in told
    raised = proposals.triage(rt, actor_id=brook.requester, proposal_id=made.id, action="raise",
                              category="minor")
    assert raised.change_ref
    with pytest.raises(NotFound):
        changes.get_change(rt, actor_id=oak.requester, ref=raised.change_ref)
    assert changes.get_change(rt, actor_id=brook.auditor, ref=raised.change_ref).change.school_id != 1


def test_someone_who_left_a_school_cannot_acknowledge_its_notices(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from datetime import timedelta

    from sqlalchemy import text

    from fitsflow.services import notices

    notices.publish_due(rt, now=rt.now() + timedelta(days=60))
    with rt.db.engine.connect() as c:
        notice_id = c.execute(text("SELECT notice_id FROM notice_receipts WHERE user_id = :u"),
                              {"u": brook.staff}).scalars().first()
    assert notice_id is not None
    schools.set_user_schools(rt, email=_email(rt, brook.staff), slugs=["school"])  # moved to Oak
    with pytest.raises(NotFound):
        notices.acknowledge(rt, actor_id=brook.staff, notice_id=notice_id)


def test_a_school_persons_changes_list_reads_its_schools_stretch_of_an_index(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from .test_query_plans import _problems, _statements

    sent = _statements(rt, lambda: change_search.find(rt, actor_id=oak.auditor, filters=ChangeFilter()))
    pages = [(s, p) for s, p in sent if "count(" not in s.lower()]
    assert pages
    for statement, parameters in pages:
        assert _problems(rt, statement, parameters) == [], statement


def test_owners_and_the_requester_filter_are_the_changes_school(trust):
    app, oak, own, brook, theirs = trust
    rt = app.extensions["fitsflow"]
    from fitsflow.domain.roles import REQUESTER
    from fitsflow.services import ownership

    with pytest.raises(InvalidInput) as err:
        ownership.transfer(rt, actor_id=oak.requester, ref=own, to_email=_email(rt, brook.requester),
                           reason="Handing over")
    assert "the change's school" in err.value.problems["email"]
    choices = {uid for uid, _ in users.holders(rt, REQUESTER, actor_id=oak.auditor)}
    assert oak.requester in choices and brook.requester not in choices
