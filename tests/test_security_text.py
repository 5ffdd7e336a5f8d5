"""Issue 20, item 9: no input reaches a 500 or a terminal raw. NUL, which PostgreSQL refuses
in text (a 500 before), gets a 400 naming the field wherever it comes in — the sign-in
form, searches, query parameters, an address, JSON bodies, CSV imports — and nothing is
written. ``next`` after sign-in goes only to a path on this site; an email subject never
carries U+2028; the command line shows stored text escaped."""

from __future__ import annotations

import io
import sqlite3
from contextlib import closing

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from fitsflow.cli import cli
from fitsflow.delivery.channels import build_email, subject_of
from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence.models import Change, User
from fitsflow.persistence.outbox_store import Claimed
from fitsflow.services import category

from . import factories as f
from .web_support import PASSWORD, WebSchool, bearer, csrf_token, login, make_app, post


def _rows(rt, model) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _written(rt) -> tuple[int, int, int, int]:  # type: ignore[no-untyped-def]
    """(audit events, outbox rows, changes, users): what a refused request must leave alone."""
    return (*f.counts(rt), _rows(rt, Change), _rows(rt, User))


@pytest.fixture
def web(rt, tmp_path):  # type: ignore[no-untyped-def]
    school = WebSchool(rt)
    return rt, school, make_app(rt, tmp_path)


def _refused(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, response.status_code
    if response.is_json:
        body = response.get_json()
        assert body["code"] == "invalid" and "U+0000 (NUL)" in body["problems"][field], body
    else:
        page = response.get_data(as_text=True)
        assert f"{field}: must not contain control characters: U+0000 (NUL)" in page, page[-800:]


@pytest.mark.parametrize("field", ["email", "password"])
def test_nul_in_the_sign_in_form_is_refused_naming_the_field(web, field):
    rt, school, app = web
    client = app.test_client()
    before = _written(rt)
    form = {"email": school.emails[school.requester], "password": PASSWORD}
    form[field] += "\x00"
    _refused(client.post("/login", data={**form, "csrf_token": csrf_token(client)}), field)
    assert _written(rt) == before  # not even a failed attempt recorded
    assert login(client, school.emails[school.requester]).status_code == 302


def test_nul_in_searches_query_parameters_and_addresses_is_refused(web):
    rt, school, app = web
    pages = {school.requester: ["/changes?q=wifi%00", "/templates?q=%00", "/changes?service=a%00b",
                                "/changes/CHG-2026-0001%00", "/changes/new?title=%00"],
             school.admin: ["/admin/users?q=%00", "/admin/calendar?q=%00", "/admin/services?q=%00"],
             school.auditor: ["/audit?q=%00", "/audit?actor=%00"]}
    before = _written(rt)
    for uid, paths in pages.items():
        client = app.test_client()
        login(client, school.emails[uid])
        for path in paths:
            response = client.get(path)
            field = "address" if "CHG" in path else path.split("?")[1].split("=")[0]
            _refused(response, field)
    api = app.test_client()
    headers = bearer(rt, school.requester)
    _refused(api.get("/api/v1/changes?q=%00", headers=headers), "q")
    _refused(api.get("/api/v1/changes/CHG%00", headers=headers), "address")
    _refused(api.get("/api/v1/templates?q=a%00", headers=headers), "q")
    assert _written(rt)[2:] == before[2:]


def test_nul_in_json_bodies_is_refused_naming_the_field(web):
    rt, school, app = web
    api = app.test_client()
    headers = bearer(rt, school.requester)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    before = _written(rt)
    _refused(api.post("/api/v1/changes", json={"title": "Wi\x00Fi", "category": "minor"}, headers=headers),
             "title")
    _refused(api.post("/api/v1/changes", json={"title": "Wi-Fi", "category": "minor", "description": "\x00"},
                      headers=headers), "description")
    needs = {**f.NEEDS, "stakeholders": ["PE", "Head\x00"]}
    _refused(api.put(f"/api/v1/changes/{ref}/stages/needs", json=needs, headers=headers), "stakeholders.1")
    _refused(api.post("/api/v1/changes", json={"title\x00": "x", "category": "minor"}, headers=headers),
             "title\\x00")
    _refused(api.post("/api/v1/changes", data='{"title": "a\\u0000b", "category": "minor"}',
                      headers={**headers, "Content-Type": "text/plain"}), "title")
    # Half a UTF-16 pair: no UTF-8 encoder (nor database) takes it.
    lone = api.post("/api/v1/changes", data='{"title": "a\\ud800b", "category": "minor"}',
                    headers={**headers, "Content-Type": "application/json"})
    assert lone.status_code == 400
    assert "U+D800 (half of a UTF-16 pair)" in lone.get_json()["problems"]["title"]
    assert _written(rt) == before


def test_nul_in_a_csv_import_is_refused_by_line(web):
    rt, school, app = web
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    before = _written(rt)
    staff = ("name,email,roles\nAnn Lee,ann@test.school,\nBen\x00Cole,ben@test.school,\n"
             "Cat,c\x00t@test.school,\n")
    response = admin.post("/admin/import", data={"csrf_token": csrf_token(admin, "/admin/users"),
                                                 "file": (io.BytesIO(staff.encode()), "staff.csv")},
                          content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "U+0000 (NUL)" in page and "is not an email address" in page
    periods = "kind,title,start\nfreeze,Ofsted\x00,2027-03-01\n"
    response = admin.post("/admin/calendar/import", data={
        "csrf_token": csrf_token(admin, "/admin/calendar"),
        "file": (io.BytesIO(periods.encode()), "periods.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400 and "U+0000 (NUL)" in response.get_data(as_text=True)
    assert _written(rt) == before


def test_one_line_fields_refuse_line_and_paragraph_separators_and_invisible_characters(web):
    rt, school, app = web
    client = app.test_client()
    login(client, school.emails[school.requester])
    before = _written(rt)
    response = post(client, "/changes/new", {"title": "Wi-Fi\u2028Bcc: all staff", "category": "minor"},
                    page="/changes/new")
    assert response.status_code == 400
    assert "must be one line of plain text: U+2028 (LINE SEPARATOR) is not allowed" in response.get_data(
        as_text=True)
    response = client.post("/api/v1/changes", json={"title": "Invoice \u202eexe.pdf", "category": "minor"},
                           headers=bearer(rt, school.requester))
    assert response.status_code == 400 and "U+202E" in response.get_json()["problems"]["title"]
    response = post(client, "/account/tokens", {"name": "ci\u200bbot", "password": PASSWORD})
    assert response.status_code == 400 and "U+200B (ZERO WIDTH SPACE)" in response.get_data(as_text=True)
    assert _written(rt)[2:] == before[2:]
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    with pytest.raises(InvalidInput) as err:
        category.change_category(rt, actor_id=school.requester, ref=ref, category="significant",
                                 reason="costs grew\u2029see the plan")
    assert set(err.value.problems) == {"reason"}


def test_a_textarea_sent_with_crlf_is_kept_as_lines(web):
    rt, school, app = web
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    client = app.test_client()
    login(client, school.emails[school.requester])
    form = {"need": "Slow PCs\r\nin ICT2\r\n", "stakeholders": "PE\r\nHead", "options_considered": "a\tb",
            "screening.personal_data": "none", "screening.safeguarding": "no"}
    assert post(client, f"/changes/{ref}/stage/needs", form, page=f"/changes/{ref}").status_code == 302
    needs = stages_needs(rt, school, ref)
    assert (needs.need, needs.stakeholders, needs.options_considered) == ("Slow PCs\nin ICT2", ("PE", "Head"),
                                                                         "a\tb")
    response = post(client, f"/changes/{ref}/stage/needs", {**form, "need": "Slow\x1b[2J PCs"},
                    page=f"/changes/{ref}")
    assert response.status_code == 400 and "U+001B (ESC)" in response.get_data(as_text=True)
    assert stages_needs(rt, school, ref).need == "Slow PCs\nin ICT2"


def stages_needs(rt, school, ref):  # type: ignore[no-untyped-def]
    from fitsflow.services import changes

    needs = changes.get_change(rt, actor_id=school.requester, ref=ref).needs
    assert needs is not None
    return needs


# next= after signing in: (what was asked for, where the browser is sent).
NEXT = [("/changes?q=wi fi", "/changes?q=wi%20fi"), ("/changes/CHG-2026-0001", "/changes/CHG-2026-0001"),
        ("//evil.example/", "/"), ("/\\evil.example", "/"), ("/%5Cevil.example", "/"),
        ("/%0d%0a/evil.example", "/"), ("/%0a/evil.example", "/"), ("/%09/evil.example", "/"),
        ("/%E2%80%A8/evil.example", "/"), ("https://evil.example/", "/"), ("javascript:alert(1)", "/"),
        ("changes", "/"), ("/" + "a" * 2001, "/")]


@pytest.mark.parametrize(("asked", "sent"), NEXT)
def test_next_after_signing_in_goes_only_to_a_path_on_this_site(sqlite_rt, tmp_path, asked, sent):
    school = WebSchool(sqlite_rt)
    client = make_app(sqlite_rt, tmp_path).test_client()
    response = client.post(f"/login?next={asked}", data={"email": school.emails[school.requester],
                                                         "password": PASSWORD,
                                                         "csrf_token": csrf_token(client)})
    assert response.status_code == 302 and response.headers["Location"] == sent


def test_next_with_nul_is_a_400_not_a_500(sqlite_rt, tmp_path):
    school = WebSchool(sqlite_rt)
    client = make_app(sqlite_rt, tmp_path).test_client()
    response = client.post("/login?next=/%00", data={"email": school.emails[school.requester],
                                                     "password": PASSWORD, "csrf_token": csrf_token(client)})
    _refused(response, "next")


def test_a_subject_never_carries_a_line_separator():
    row = Claimed(1, "person", "notice", "CHG-2026-0007", "Wi-Fi\u2028Bcc: all@evil.example\u2029\x85x",
                  "b", "{}", 1, 2, "Sarah\u2028Cc: x@evil.example", "s@x.example")
    assert subject_of(row) == "[CHG-2026-0007] Wi-Fi Bcc: all@evil.example x"
    message = build_email(row, sender="fitsflow@test.school", base_url="http://x")
    headers = message.as_bytes().split(b"\n\n", 1)[0].decode()
    assert "\u2028" not in headers and "\u2029" not in headers
    assert [line.split(":")[0] for line in headers.splitlines() if line.startswith(("Bcc", "Cc"))] == []
    assert message["Subject"] == "[CHG-2026-0007] Wi-Fi Bcc: all@evil.example x"


@pytest.fixture
def cli_run(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    database = tmp_path / "cli.db"
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{database}")

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    invoke.database = database  # type: ignore[attr-defined]
    return invoke


# Stored before the rule, or written around it: what must never reach a terminal raw.
HOSTILE = "Wifi\x1b]0;owned\x07\x1b[2J\r\n  state: approved\u2028\u202e\x00\x9b"


def test_the_command_line_shows_stored_text_escaped(cli_run):
    cli_run("init")
    cli_run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    raised = cli_run("change", "raise", "--as", "nat@s.example", "--title", "Wifi", "--category", "minor")
    ref = raised.split()[0]
    with closing(sqlite3.connect(cli_run.database)) as db, db:
        db.execute("UPDATE changes SET title = ?, description = ? WHERE ref = ?", (HOSTILE, HOSTILE, ref))
        db.execute("UPDATE users SET name = ? WHERE email = ?", (HOSTILE, "nat@s.example"))
    shown = cli_run("change", "show", ref, "--as", "nat@s.example")
    listed = cli_run("change", "list", "--as", "nat@s.example")
    users = cli_run("user", "list")
    escaped = "Wifi\\x1b]0;owned\\x07\\x1b[2J\\x0d\\x0a  state: approved\\u2028\\u202e\\x00\\x9b"
    for output in (shown, listed, users):
        assert escaped in output
        assert all(c == "\n" or c.isprintable() for c in output), repr(output)
    assert f"{ref}  {escaped}" in shown and f"  requester: {escaped}" in shown
    # Long text keeps its own lines, indented under its label: no line of it passes for ours.
    assert ("  description: Wifi\\x1b]0;owned\\x07\\x1b[2J\\x0d\n"
            "        state: approved\\u2028\\u202e\\x00\\x9b\n") in shown


def test_a_notice_subject_is_one_line_and_its_body_long_text(sqlite_rt):
    from fitsflow.services import notices

    school = f.School(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "scheduled")
    notice = notices.notices_for(sqlite_rt, actor_id=school.requester, ref=ref)[0]
    edit = {"actor_id": school.requester, "ref": ref, "notice_id": notice.id}
    with pytest.raises(InvalidInput) as err:
        notices.edit(sqlite_rt, **edit, subject="New PCs\u2028Bcc: all staff", body="Log in\x1b[2J as usual")
    assert set(err.value.problems) == {"subject", "body"} and "U+2028" in err.value.problems["subject"]
    notices.edit(sqlite_rt, **edit, subject="New PCs in IT1", body="Log in\r\nas usual")
    saved = next(n for n in notices.notices_for(sqlite_rt, actor_id=school.requester, ref=ref)
                 if n.id == notice.id)
    assert (saved.subject, saved.body) == ("New PCs in IT1", "Log in\nas usual")


def test_every_service_route_applies_the_rule_without_the_web_guard(rt):
    """The command line reaches the services without the web's request guard: each field
    there refuses what the rule refuses, and a textarea's CR LF is stored as LF."""
    from fitsflow.services import changes as changes_service
    from fitsflow.services import gates, ownership, users

    school = f.School(rt)
    before = f.counts(rt)
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=school.requester, title="Wi-Fi", category="minor",
                                     description="Press \x1b[31mRED\x1b[0m")
    assert "U+001B (ESC)" in err.value.problems["description"]
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=school.requester, title="Switch", category="emergency",
                                     emergency_purpose="restore", urgency="Down\x00now")
    assert "NUL" in err.value.problems["urgency"]
    with pytest.raises(InvalidInput) as err:
        changes_service.raise_change(rt, actor_id=school.requester, title="Wi-Fi", category="minor",
                                     affected_services=["Wi\u2028Fi"])
    assert "LINE SEPARATOR" in err.value.problems["affected_services"]
    assert f.counts(rt) == before
    view = changes_service.raise_change(rt, actor_id=school.requester, title="Wi-Fi", category="minor",
                                        description="First line\r\nSecond line")
    assert changes_service.get_change(rt, actor_id=school.requester, ref=view.ref).change.description == \
        "First line\nSecond line"
    ref = f.change_in(rt, school, "minor", "proceed_approval")
    with pytest.raises(InvalidInput, match="comment"):
        gates.decide(rt, actor_id=school.finance, ref=ref, decision="reject", comment="No\x00")
    other = next(u.email for u in users.list_users(rt) if u.id == school.other_requester)
    with pytest.raises(InvalidInput, match="reason"):
        ownership.transfer(rt, actor_id=school.requester, ref=ref, to_email=other, reason="Off\nsick")
    with pytest.raises(InvalidInput, match="reason"):
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw", reason="Gone\x1b")
