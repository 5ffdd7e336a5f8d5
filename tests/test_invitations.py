"""Issue 20, item 8: staff imported from the MIS could not sign in at all — the import made
accounts without passwords, and nothing let a person choose one (no invitation, no
set-password page), so at 1,000 staff release notices and acknowledgements were out of
reach. Now every account made without a password is emailed a one-time invitation (the
import, Admin → Users, the API, the command line), an administrator can send it again, and
its page sets a password under the password rule and signs the person in. Only a hash of
each link is kept, and the sent message's copy of it is wiped."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fitsflow.delivery.worker import Worker
from fitsflow.persistence import audit_store
from fitsflow.persistence.models import AccountLink, InboxItem, OutboxMessage, User
from fitsflow.services import auth, users

from . import factories as f
from .mail_support import deliver, link_in, mail_runtime, message_to
from .web_support import PASSWORD, csrf_token, login, make_app, post

STAFF = ("name,email,roles,audiences\n"
         "Sarah Khan,sarah.khan@school.example,,staff\n"
         "Nat Osei,nat.osei@school.example,requester,support\n")
CHOSEN = "kestrel meadow lantern"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def mail(request):  # type: ignore[no-untyped-def]
    with mail_runtime(request.param) as found:
        yield found


def _has_password(rt, email: str) -> bool:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        user = session.execute(select(User).where(User.email == email)).scalar_one()
        return user.password_hash is not None


def _events(rt) -> list[str]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [e.event_type for e in audit_store.iter_events(session)]


def _choose(client, path: str, password: str, again: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(path, data={"new_password": password, "new_password_again": password if again is None
                                   else again, "csrf_token": csrf_token(client, "/login")})


def test_an_imported_member_of_staff_signs_in_from_the_invitation_email(mail, tmp_path):
    rt, recorder = mail
    app = make_app(rt, tmp_path)
    result = users.import_users(rt, text=STAFF)
    assert (result.created, result.invited) == (2, 2)
    sarah = app.test_client()
    assert login(sarah, "sarah.khan@school.example", "").status_code == 401  # no password to sign in with

    deliver(rt)
    message = message_to(recorder, "sarah.khan@school.example")
    assert message["Subject"] == f"{rt.settings.school.name}: choose your fitsflow password"
    path = link_in(message)
    token = path.rsplit("/", 1)[1]
    assert "Choose your password" in message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    # Only the hash is kept; the sent message's text and link are wiped; no inbox holds it.
    with rt.db.read() as session:
        hashes = set(session.execute(select(AccountLink.token_hash)).scalars())
        texts = [f"{r.body} {r.payload}" for r in session.execute(select(OutboxMessage)).scalars()]
        inbox = [f"{r.body} {r.link}" for r in session.execute(select(InboxItem)).scalars()]
    assert hashlib.sha256(token.encode()).hexdigest() in hashes and token not in hashes
    assert not any(token in t for t in texts + inbox)

    page = sarah.get(path)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    assert "sarah.khan@school.example" in page.get_data(as_text=True)
    weak = _choose(sarah, path, "password1234")
    assert weak.status_code == 400 and "common" in weak.get_data(as_text=True)
    mismatch = _choose(sarah, path, CHOSEN, CHOSEN + "!")
    assert mismatch.status_code == 400 and "does not match" in mismatch.get_data(as_text=True)
    assert not _has_password(rt, "sarah.khan@school.example")  # bad input changed nothing …
    assert sarah.get(path).status_code == 200  # … and the link still works

    done = _choose(sarah, path, CHOSEN)
    assert done.status_code == 302 and done.headers["Location"].endswith("/account/welcome")
    home = sarah.get("/account/welcome")
    assert home.status_code == 302 and sarah.get(home.headers["Location"]).status_code == 200  # signed in
    assert sarah.get("/notices/releases").status_code == 200
    assert "user.invited" in _events(rt) and "user.invitation_accepted" in _events(rt)

    again = app.test_client()
    assert again.get(path).status_code == 410  # once only
    assert "no longer works" in _choose(again, path, CHOSEN).get_data(as_text=True)
    assert login(again, "sarah.khan@school.example", CHOSEN).status_code == 302


def test_a_resent_invitation_ends_the_earlier_link_and_links_expire(mail, tmp_path):
    rt, recorder = mail
    app = make_app(rt, tmp_path)
    uid = users.add_user(rt, name="Priya Shah", email="priya.shah@school.example", roles="requester",
                         invite=True)
    deliver(rt)
    first = link_in(message_to(recorder, "priya.shah@school.example"))
    admin = app.test_client()
    users.add_user(rt, name="Admin", email="admin@school.example", roles="admin", password=PASSWORD)
    login(admin, "admin@school.example")
    listing = admin.get("/admin/users").get_data(as_text=True)
    assert "invited, until" in listing and "Send again" in listing
    r = post(admin, f"/admin/users/{uid}/invite", page="/admin/users")
    assert r.status_code == 302
    deliver(rt)
    second = link_in(message_to(recorder, "priya.shah@school.example"))
    assert second != first
    person = app.test_client()
    assert person.get(first).status_code == 410
    assert person.get(second).status_code == 200
    rt.clock.advance(timedelta(days=rt.settings.accounts.invitation_days, minutes=1))
    assert person.get(second).status_code == 410
    assert _choose(person, second, CHOSEN).status_code == 410
    assert not _has_password(rt, "priya.shah@school.example")
    # Someone who has chosen a password is not sent one: the page says why.
    login(admin, "admin@school.example")  # a week on: signed out for being idle
    own = users.id_by_email(rt, "admin@school.example")
    r = post(admin, f"/admin/users/{own}/invite", page="/admin/users")
    assert r.status_code == 302
    assert "has chosen a password already" in admin.get("/admin/users").get_data(as_text=True)


def _invitations(rt) -> list[int]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return list(session.execute(select(OutboxMessage.recipient_id)
                                    .where(OutboxMessage.event == "account_invitation")).scalars())


def test_adding_someone_without_a_password_invites_them_by_the_page_and_the_api(sqlite_rt, tmp_path):
    rt = sqlite_rt
    app = make_app(rt, tmp_path)
    school = f.School(rt)
    users.add_user(rt, name="Admin", email="admin@school.example", roles="admin", password=PASSWORD)
    admin = app.test_client()
    login(admin, "admin@school.example")
    r = post(admin, "/admin/users", {"name": "Page Person", "email": "page@school.example",
                                     "audiences": "staff"}, page="/admin/users")
    assert r.status_code == 302
    assert "email is off" in admin.get("/admin/users").get_data(as_text=True)  # and where it waits
    post(admin, "/admin/users", {"name": "Given Password", "email": "given@school.example",
                                 "password": "heron quietly lantern"}, page="/admin/users")
    made = app.test_client().post("/api/v1/users", json={"name": "Api Person", "email": "api@school.example",
                                                         "roles": [], "audiences": ["staff"]},
                                  headers={"Authorization": "Bearer " + auth.create_token(
                                      rt, user_id=school.admin, name="api", scope="admin")})
    assert made.status_code == 201, made.get_json()
    ids = {users.id_by_email(rt, e) for e in ("page@school.example", "api@school.example")}
    assert sorted(_invitations(rt)) == sorted(ids)  # not the one given a password, not the staff before

    # Email off: the invitation is never put in an inbox; it is parked, saying why.
    f.drain(Worker.from_runtime(rt))
    with rt.db.read() as session:
        parked = session.execute(select(OutboxMessage).where(OutboxMessage.event == "account_invitation")
                                 ).scalars().all()
        assert {p.status for p in parked} == {"parked"}
        assert all("email is off" in p.last_error for p in parked)
        assert not session.execute(select(InboxItem).where(InboxItem.event == "account_invitation")).first()


def test_the_command_line_invites_on_add_import_and_asking(tmp_path, monkeypatch):
    import os

    from fitsflow.cli import cli

    for name in list(os.environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    database = tmp_path / "cli.db"
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{database}")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    run("init")
    out = run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")
    assert "invitation to nat@s.example waits in the outbox" in out
    staff = tmp_path / "staff.csv"
    staff.write_text(STAFF)
    assert "2 new people waits in the outbox" in run("user", "import", str(staff))
    assert "invitation to nat@s.example waits" in run("user", "invite", "nat@s.example")
    assert "no user with the email" in run("user", "invite", "nobody@s.example", code=1)
    with closing(sqlite3.connect(database)) as db:
        links = db.execute("SELECT purpose, revoked_at IS NULL FROM account_links ORDER BY id").fetchall()
        sent = db.execute("SELECT count(*) FROM outbox WHERE event = 'account_invitation'").fetchone()[0]
    assert [p for p, _ in links] == ["invite"] * 4 and [live for _, live in links] == [0, 1, 1, 1]
    assert sent == 4


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_rt(request, tmp_path):  # type: ignore[no-untyped-def]
    """A database several connections write to at once."""
    from .conftest import postgres_runtime, sqlite_runtime

    rt = sqlite_runtime(f"sqlite:///{tmp_path / 'race.db'}") if request.param == "sqlite-file" \
        else postgres_runtime()
    yield rt
    rt.db.dispose()


def test_two_requests_racing_with_one_link_one_wins(shared_rt):
    import json
    import threading

    from fitsflow.domain import links
    from fitsflow.services import invitations

    rt = shared_rt
    uid = users.add_user(rt, name="Race Person", email="race@school.example", invite=True)
    with rt.db.read() as session:  # the link as the message carries it, before it is sent
        payload = session.execute(select(OutboxMessage.payload)
                                  .where(OutboxMessage.event == "account_invitation")).scalar_one()
    token = json.loads(payload)["link"].rsplit("/", 1)[1]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def choose(password: str) -> None:
        barrier.wait()
        try:
            invitations.redeem(rt, token=token, purpose=links.INVITE, password=password, again=password)
            outcomes[password] = "won"
        except invitations.LinkGone:
            outcomes[password] = "gone"

    threads = [threading.Thread(target=choose, args=(p,)) for p in ("kestrel meadow lantern",
                                                                     "otter harbour twilight")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes.values()) == ["gone", "won"]
    winner = next(p for p, outcome in outcomes.items() if outcome == "won")
    assert auth.authenticate(rt, email="race@school.example", password=winner).actor.id == uid  # type: ignore[union-attr]
    assert _events(rt).count("user.invitation_accepted") == 1
