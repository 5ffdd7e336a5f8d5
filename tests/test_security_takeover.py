"""Issue: an admin could quietly take over an approver (set their password: no audit
event, their sessions lived on, nobody told) and could grant themselves approver roles.
Now every such change is audited, ends what it must, tells the person, needs a second
administrator for privileged roles, and a password set by someone else must be changed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import NotPermitted
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import OutboxMessage
from fitsflow.services import users

from . import factories as f
from .web_support import WebSchool, login, make_app, post


def _events(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.event_type for e in audit_store.iter_events(session)]


def _told(rt, uid: int) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(OutboxMessage.subject).where(
            OutboxMessage.recipient_id == uid, OutboxMessage.event == "account_changed")).scalars())


def test_an_admin_setting_an_approvers_password_is_audited_ends_their_sessions_and_tells_them(sqlite_rt,
                                                                                             tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "proceed_approval")
    victim = app.test_client()
    login(victim, school.emails[school.finance])
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    r = post(admin, f"/admin/users/{school.finance}",
             {"name": "Finance", "roles": "finance", "audiences": "slt", "active": "1",
              "password": "admin chosen heron"}, page=f"/admin/users/{school.finance}")
    assert r.status_code == 302
    assert "user.password_set" in _events(sqlite_rt)
    assert victim.get("/account").status_code == 302  # their sessions ended
    assert _told(sqlite_rt, school.finance)
    # Signing in as them leads only to choosing a new password: no decision in their name.
    intruder = app.test_client()
    assert login(intruder, school.emails[school.finance], "admin chosen heron").status_code == 302
    assert intruder.get(f"/changes/{ref}").headers["Location"].endswith("/account/welcome")
    r = post(intruder, f"/changes/{ref}/decision", {"decision": "approve"}, page="/account/welcome")
    assert r.status_code == 302 and r.headers["Location"].endswith("/account/welcome")
    assert f.snapshot(sqlite_rt, ref)[0] == "proceed_approval"
    assert post(intruder, "/account/welcome/password", {"current_password": "admin chosen heron",
                                                        "new_password": "my own lantern words",
                                                        "new_password_again": "my own lantern words"},
                page="/account/welcome").status_code == 302
    assert intruder.get(f"/changes/{ref}").status_code == 200


def test_nobody_grants_roles_to_themselves(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    admin = app.test_client()
    login(admin, school.emails[school.admin])
    r = post(admin, f"/admin/users/{school.admin}", {"name": "Admin", "roles": ["admin", "cab"],
                                                     "active": "1"}, page=f"/admin/users/{school.admin}")
    assert r.status_code == 400 and "nobody changes their own roles" in r.get_data(as_text=True)
    with sqlite_rt.db.read() as session:
        from fitsflow.persistence import queries

        assert queries.roles_of(session, school.admin) == {"admin"}


def test_approver_and_admin_roles_wait_for_a_second_administrator(sqlite_rt):
    school = f.School(sqlite_rt)
    second = f.user(sqlite_rt, "admin", "", "Second admin")
    first = users.By(school.admin, "first.admin@test.school")
    teacher = school.staff
    row = users.get_user(sqlite_rt, user_id=teacher)
    users.add_user(sqlite_rt, name=row.name, email=row.email, roles="cab", audiences="staff",
                      actor_label=first.label, by=first)
    assert users.get_user(sqlite_rt, user_id=teacher).roles == ()  # not yet
    grants = users.pending_grants(sqlite_rt)
    assert [(g.email, g.role) for g in grants] == [(row.email, "cab")]
    with pytest.raises(NotPermitted, match="second administrator"):
        users.decide_grant(sqlite_rt, actor_id=school.admin, grant_id=grants[0].id, confirm=True)
    users.decide_grant(sqlite_rt, actor_id=second, grant_id=grants[0].id, confirm=True)
    assert users.get_user(sqlite_rt, user_id=teacher).roles == ("cab",)
    assert "role.grant_requested" in _events(sqlite_rt) and "role.grant_confirmed" in _events(sqlite_rt)
    assert any("cab" in s for s in _told(sqlite_rt, teacher))
    assert users.pending_grants(sqlite_rt) == []


def test_a_role_change_is_told_to_the_person(sqlite_rt, tmp_path):
    school = f.School(sqlite_rt)
    row = users.get_user(sqlite_rt, user_id=school.staff)
    by = users.By(school.admin, "admin@test.school")
    users.add_user(sqlite_rt, name=row.name, email=row.email, roles="", audiences="staff parents",
                      actor_label=by.label, by=by)
    assert _told(sqlite_rt, school.staff) == ["Your fitsflow account was changed"]
