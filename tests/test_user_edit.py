"""Issue 22.2: giving someone a role wiped their audiences — "Add a user, or change one (by
email)" opened blank and replaced roles and audiences together. Now each person has a page
that starts from what they have and changes only what the administrator changes; the add
form refuses someone already there and points to their page."""

from __future__ import annotations

import re

from fitsflow.persistence import queries

from .web_support import WebSchool, login, make_app, post


def _form_as_sent(page: str) -> dict[str, list[str]]:
    """What a browser submits from the edit form left as it opened: the ticked boxes, the name."""
    sent: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if not name or name.group(1) in ("csrf_token", "password"):
            continue
        if 'type="checkbox"' in tag and " checked" not in tag:
            continue
        sent.setdefault(name.group(1), []).append(value.group(1) if value else "")
    return sent


def test_giving_a_role_on_the_persons_page_keeps_their_audiences(sqlite_rt, tmp_path):
    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{school.requester}"' in listing  # an edit link per person
    with rt.db.read() as session:
        before_audiences = set(queries.audiences_of(session, school.requester))
        before_roles = set(queries.roles_of(session, school.requester))
    assert before_audiences  # the test means something only if there are some to lose
    page = admin.get(f"/admin/users/{school.requester}").get_data(as_text=True)
    form = _form_as_sent(page)
    assert set(form["audiences"]) == before_audiences and set(form["roles"]) == before_roles
    form["roles"].append("auditor")  # the one change the administrator makes
    r = post(admin, f"/admin/users/{school.requester}", form, page=f"/admin/users/{school.requester}")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with rt.db.read() as session:
        assert set(queries.audiences_of(session, school.requester)) == before_audiences
        assert set(queries.roles_of(session, school.requester)) == before_roles | {"auditor"}


def test_the_add_form_refuses_someone_already_here_and_says_where_to_change_them(sqlite_rt, tmp_path):
    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    with rt.db.read() as session:
        before = set(queries.audiences_of(session, school.staff))
    r = post(admin, "/admin/users", {"name": "Changed", "email": school.emails[school.staff], "roles": "cab"},
             page="/admin/users")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "already belongs to someone" in body and "their page" in body
    assert 'value="Changed"' in body  # what was typed is kept
    with rt.db.read() as session:
        assert set(queries.audiences_of(session, school.staff)) == before
        assert queries.roles_of(session, school.staff) == set()


def test_a_refused_edit_keeps_what_was_typed_on_the_persons_page(sqlite_rt, tmp_path):
    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    r = post(admin, f"/admin/users/{school.staff}", {"name": "Sam Renamed", "audiences": "staff",
                                                      "active": "1", "password": "short"},
             page=f"/admin/users/{school.staff}")
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and 'value="Sam Renamed"' in body and 'id="password-error"' in body
    with rt.db.read() as session:
        assert queries.names_of(session, [school.staff])[school.staff] != "Sam Renamed"


def test_a_staff_list_says_what_it_will_change_before_it_does(sqlite_rt, tmp_path):
    """Issue 22.2: bulk role changes from a CSV say what they will change before they do; a
    list without an audiences column leaves everyone's audiences as they are."""
    import io

    from .web_support import csrf_token

    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    with rt.db.read() as session:
        staff_audiences = set(queries.audiences_of(session, school.staff))
    assert staff_audiences
    staff_email = school.emails[school.staff]
    listing = f"name,email,roles\nStaff Member,{staff_email},requester\nNew Person,new.person@test.school,\n"
    r = admin.post("/admin/import", data={"csrf_token": csrf_token(admin, "/admin/users"),
                                          "file": (io.BytesIO(listing.encode()), "staff.csv")},
                   content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Nothing has changed yet" in page
    assert "1 new, 1 changed" in page and f"Roles given: {rt.roles.label('requester')}" in page
    assert "Audiences taken away" not in page
    with rt.db.read() as session:  # nothing yet
        assert queries.roles_of(session, school.staff) == set()
        assert queries.user_by_email(session, "new.person@test.school") is None
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)  # type: ignore[union-attr]
    # Someone changes the staff member in between: the checked plan no longer holds.
    post(admin, f"/admin/users/{school.staff}", {"name": "Staff Member", "roles": "auditor", "active": "1",
                                                  "audiences": list(staff_audiences)},
         page=f"/admin/users/{school.staff}")
    confirm = {"csrf_token": csrf_token(admin, "/admin/users"), "text": listing, "filename": "staff.csv"}
    r = admin.post("/admin/import/confirm", data={**confirm, "digest": digest})
    again = r.get_data(as_text=True)
    assert r.status_code == 409 and "changed since you checked" in again
    assert f"Roles taken away: {rt.roles.label('auditor')}" in again
    with rt.db.read() as session:
        assert queries.user_by_email(session, "new.person@test.school") is None
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', again).group(1)  # type: ignore[union-attr]
    r = admin.post("/admin/import/confirm", data={**confirm, "digest": digest})
    assert r.status_code == 302
    with rt.db.read() as session:
        assert queries.roles_of(session, school.staff) == {"requester"}
        assert set(queries.audiences_of(session, school.staff)) == staff_audiences  # no column: kept
        assert queries.user_by_email(session, "new.person@test.school") is not None


def test_the_import_preview_names_a_role_the_school_no_longer_defines(sqlite_rt, tmp_path):
    """A person may still hold a role the school has since removed (it grants nothing): the
    preview of a list taking it away showed a 500; it names the role by its key."""
    import io

    from sqlalchemy import text

    from .web_support import csrf_token

    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    with rt.db.transaction() as session:
        session.connection().execute(text("INSERT INTO user_roles (user_id, role) VALUES (:u, 'bursar')"),
                                     {"u": school.staff})
        session.connection().execute(
            text("INSERT INTO user_audiences (user_id, audience) VALUES (:u, 'pta')"), {"u": school.staff})
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    listing = f"name,email,roles,audiences\nStaff Member,{school.emails[school.staff]},requester,staff\n"
    r = admin.post("/admin/import", data={"csrf_token": csrf_token(admin, "/admin/users"),
                                          "file": (io.BytesIO(listing.encode()), "staff.csv")},
                   content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Roles taken away: bursar" in page and "Audiences taken away: pta" in page
    # The command line's dry run says the same (it read the school's audiences by key).
    from click.testing import CliRunner

    from fitsflow.cli import users as cli_users

    listing_file = tmp_path / "staff.csv"
    listing_file.write_text(listing)
    from fitsflow.cli.base import State

    state = State(None)
    state._settings, state._runtime = rt.settings, rt  # this school's runtime, not one from a file
    out = CliRunner().invoke(cli_users.import_, [str(listing_file), "--dry-run"], obj=state)
    assert out.exit_code == 0, out.output
    assert "roles taken away: bursar" in out.output and "audiences taken away: pta" in out.output
