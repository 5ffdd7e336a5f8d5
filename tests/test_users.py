"""Users and the staff-list import: bad rows named by line, nothing half-imported."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence import queries
from fitsflow.persistence.models import User
from fitsflow.services import audit, changes, users

from . import factories as f

GOOD = """Name,Email,Roles,Audiences
Nat Osei,nat@school.example,requester,support
Helen Carter,HELEN@school.example,head;slt,slt staff
Sarah Khan,sarah@school.example,,staff
"""


def _users(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(User)).scalar_one())


def test_import_creates_then_updates(rt):
    result = users.import_users(rt, text=GOOD)
    assert (result.created, result.updated) == (3, 0)
    with rt.db.read() as session:
        helen = queries.user_by_email(session, "helen@school.example")
        assert helen is not None and helen.id is not None
        assert queries.roles_of(session, helen.id) == {"head", "slt"}
        assert queries.audiences_of(session, helen.id) == {"slt", "staff"}
    again = users.import_users(rt, text=GOOD.replace("head;slt", "slt"))
    assert (again.created, again.updated) == (0, 3)
    with rt.db.read() as session:
        helen = queries.user_by_email(session, "helen@school.example")
        assert helen is not None and helen.id is not None
        assert queries.roles_of(session, helen.id) == {"slt"}
    assert audit.verify(rt).ok


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(rt):
    bad = GOOD + "No Email,,requester,\nBad Role,bad@school.example,janitor,staff\n" \
                 "Twice,nat@school.example,,staff\nBad Aud,aud@school.example,,governors\n"
    with pytest.raises(InvalidInput) as err:
        users.import_users(rt, text=bad)
    problems = err.value.problems
    assert set(problems) == {"line 5", "line 6", "line 7", "line 8"}
    assert "not an email address" in problems["line 5"]
    assert "unknown role janitor" in problems["line 6"]
    assert "already on line 2" in problems["line 7"]
    assert "unknown audience governors" in problems["line 8"]
    assert _users(rt) == 0


def test_missing_columns_and_empty_files_are_clear(rt):
    with pytest.raises(InvalidInput, match="missing column email"):
        users.import_users(rt, text="name,role\nA,requester\n")
    with pytest.raises(InvalidInput, match="empty"):
        users.import_users(rt, text="")


def test_passwords_are_hashed_with_scrypt(rt):
    uid = users.add_user(rt, name="A", email="a@school.example", roles="admin",
                            password="long enough heron pw")
    with rt.db.read() as session:
        user = session.get(User, uid)
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, "long enough heron pw")
    with pytest.raises(InvalidInput, match="at least 12"):
        users.add_user(rt, name="B", email="b@school.example", password="short")


def test_inactive_user_cannot_act(rt):
    school = f.School(rt)
    with rt.db.transaction() as session:
        user = session.get(User, school.requester)
        assert user is not None
        user.active = False
    from fitsflow.domain.errors import NotPermitted

    with pytest.raises(NotPermitted, match="inactive"):
        changes.raise_change(rt, actor_id=school.requester, title="x", category="minor")


def test_a_rename_alone_is_audited_with_the_name_before(rt):
    import json

    from fitsflow.persistence import audit_store

    users.import_users(rt, text=GOOD)
    users.import_users(rt, text=GOOD.replace("Sarah Khan", "Sarah Khan-Ali"))
    with rt.db.read() as session:
        events = [json.loads(e.payload) for e in audit_store.iter_events(session)
                  if e.event_type == "user.updated"]
    assert [(e["name_before"], e["name"]) for e in events] == [("Sarah Khan", "Sarah Khan-Ali")]
