"""One password rule for everyone: 12 characters or more, hard to guess, not common."""

from __future__ import annotations

import pytest
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from fitsflow.domain import passwords
from fitsflow.domain.errors import InvalidInput
from fitsflow.services import auth, users

from . import factories as f
from .web_support import PASSWORD, WebSchool, login, make_app, post

COMMON_LONG = next(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= 12)


@pytest.mark.parametrize("weak", ["aaaaaaaaaa", "aaaaaaaaaaaa", "12345678", "123456789012", "Password1234",
                                  "qwertyuiop12", COMMON_LONG, COMMON_LONG.upper()])
def test_weak_passwords_are_refused_everywhere(sqlite_rt, weak):
    assert passwords.problem(weak) is not None
    with pytest.raises(InvalidInput) as err:
        users.add_user(sqlite_rt, name="Ann", email="ann@school.example", password=weak)
    assert "password" in err.value.problems


def test_a_password_built_on_ones_own_name_is_refused():
    for own in ("natosei natosei", "nat.osei@demo.school", "Nat Osei 2026 rocks"):
        assert passwords.problem(own, about=("Nat Osei", "nat.osei@demo.school")) is not None
    assert passwords.problem("heron lantern quietly", about=("Nat Osei", "nat.osei@demo.school")) is None


def test_changing_ones_password_follows_the_same_rule(sqlite_rt, tmp_path):
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    client = app.test_client()
    login(client, school.emails[school.requester])
    r = post(client, "/account/password", {"current_password": PASSWORD, "new_password": "aaaaaaaaaaaa"})
    assert r.status_code == 400 and "guess" in r.get_data(as_text=True)
    r = post(client, "/account/password",
             {"current_password": PASSWORD, "new_password": "heron lantern quietly"})
    assert r.status_code == 302
    with pytest.raises(InvalidInput, match="at least 12"):
        auth.change_password(sqlite_rt, user_id=school.requester, current="heron lantern quietly",
                             new="short one", session_id="x")
    f.user(sqlite_rt)  # others unaffected


def test_any_length_up_to_the_maximum_is_judged_and_counted_whole(sqlite_rt, tmp_path):
    # zxcvbn itself raises on more than 72 characters (a 500 before): it judges the first 72.
    phrase = "heron lantern quietly "
    assert passwords.problem(phrase * 4) is None  # 88 characters
    assert passwords.problem((phrase * 50)[:passwords.MAX_LENGTH]) is None
    assert passwords.problem(phrase * 47) == f"must be at most {passwords.MAX_LENGTH} characters"
    assert "too easy to guess" in (passwords.problem("a" * 72 + phrase) or "")
    assert "control characters" in (passwords.problem("heron lantern\tquietly") or "")
    app, school = make_app(sqlite_rt, tmp_path), WebSchool(sqlite_rt)
    client = app.test_client()
    login(client, school.emails[school.requester])
    r = post(client, "/account/password", {"current_password": PASSWORD, "new_password": phrase * 47})
    assert r.status_code == 400 and f"at most {passwords.MAX_LENGTH} characters" in r.get_data(as_text=True)
    long = (phrase * 50)[:passwords.MAX_LENGTH]
    r = post(client, "/account/password", {"current_password": PASSWORD, "new_password": long})
    assert r.status_code == 302
    fresh = app.test_client()
    assert login(fresh, school.emails[school.requester], long).status_code == 302
