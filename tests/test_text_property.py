"""The one text rule, as a property, through every door: a page's form, the JSON API and the
command line. Whatever is typed, the answer is never a 500; text the rule refuses gets a
400 (or exit status 1) naming the field and nothing is written; text it allows comes back
exactly as typed. The expectations are the rule's own words — Unicode categories — not
the code under test. Runs on SQLite, and on PostgreSQL when configured (NUL always tried)."""

from __future__ import annotations

import sqlite3
import unicodedata
from contextlib import closing

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from fitsflow.cli import cli
from fitsflow.persistence.models import Change

from . import factories as f
from .web_support import WebSchool, bearer, csrf_token, login, make_app

PROPERTY = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Characters worth trying often: controls, line and paragraph separators, invisible and bidi
# formatting, and ordinary text from several scripts. Lone surrogates cannot be sent in a
# form (the tests' own encoder refuses them).
HOSTILE = ["\x00", "\t", "\n", "\r", "\x07", "\x1b", "\x7f", "\x85", "\x9b", "\u00ad", "\u200b", "\u200d",
           "\u202e", "\u2066", "\ufeff", "\U000e0001", "\u2028", "\u2029"]
ORDINARY = ["é", "ß", "日", "ع", "📶", " ", "\u00a0", "<", "&", "'", '"', "\\", "%", "Z"]
CHARACTER = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(ORDINARY),
                      st.characters(blacklist_categories=("Cs",)))
# Wrapped in letters: trimming white space at the ends (which the rule does first) is not
# what is being tried here.
TEXT = st.text(CHARACTER, max_size=30).map(lambda s: f"A{s}z")


def refused_in_a_line(text: str) -> bool:
    refused = any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in text)
    event("one line: refused" if refused else "one line: allowed")
    return refused


def refused_in_long_text(text: str) -> bool:
    """CR comes in from browsers and becomes LF; tab and LF are kept."""
    refused = any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in text)
    event("long text: refused" if refused else "long text: allowed")
    return refused


def _changes(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(Change)).scalar_one())


@pytest.fixture
def school(rt, tmp_path):  # type: ignore[no-untyped-def]
    people = WebSchool(rt)
    app = make_app(rt, tmp_path, web={"api_writes_per_minute": 100_000})
    page = app.test_client()
    login(page, people.emails[people.requester])
    return rt, people, page


@PROPERTY
@given(title=TEXT)
@example(title="A\x00z")
@example(title="A\u2028z")
def test_a_title_typed_in_the_page(school, title):
    rt, people, page = school
    before = _changes(rt)
    response = page.post("/changes/new", data={"title": title, "category": "minor",
                                               "csrf_token": csrf_token(page, "/changes/new")})
    html = response.get_data(as_text=True)
    if refused_in_a_line(title):
        assert response.status_code == 400
        assert 'id="title-error"' in html or "<li>title: must not contain control characters" in html
        assert _changes(rt) == before
    else:
        assert response.status_code == 302, html[-500:]
        ref = response.headers["Location"].rsplit("/", 1)[1]
        shown = page.get(f"/api/v1/changes/{ref}", headers=bearer(rt, people.requester)).get_json()
        assert shown["change"]["title"] == title


@PROPERTY
@given(title=TEXT, need=TEXT)
@example(title="A\x00z", need="A\x00z")
@example(title="Az", need="A\r\nline\ttwo\u2028z")
def test_a_title_and_a_need_sent_to_the_api(school, title, need):
    rt, people, page = school
    headers = bearer(rt, people.requester)
    before = _changes(rt)
    response = page.post("/api/v1/changes", json={"title": title, "category": "minor"}, headers=headers)
    if refused_in_a_line(title):
        assert response.status_code == 400 and "title" in response.get_json()["problems"]
        assert _changes(rt) == before
        return
    assert response.status_code == 201 and response.get_json()["title"] == title
    ref = response.get_json()["ref"]
    needs = {**f.NEEDS, "need": need}
    response = page.put(f"/api/v1/changes/{ref}/stages/needs", json=needs, headers=headers)
    stored = page.get(f"/api/v1/changes/{ref}", headers=headers).get_json()["stages"]["needs"]
    if refused_in_long_text(need):
        assert response.status_code == 400 and "need" in response.get_json()["problems"]
        assert stored is None
    else:
        assert response.status_code == 200, response.get_json()
        assert stored["need"] == need.replace("\r\n", "\n").replace("\r", "\n")


@pytest.fixture
def command_line(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    for name in list(__import__("os").environ):
        if name.startswith("FITSFLOW_"):
            monkeypatch.delenv(name)
    database = tmp_path / "cli.db"
    monkeypatch.setenv("FITSFLOW_DATABASE_URL", f"sqlite:///{database}")

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    assert run("init")[0] == 0
    assert run("user", "add", "--name", "Nat", "--email", "nat@s.example", "--role", "requester")[0] == 0
    return run, database


def _escaped(text: str) -> str:
    """The rule's visible form, spelt out here: each Cc, Cf, Zl or Zp character as its code."""
    def one(c: str) -> str:
        if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"):
            return c
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    return "".join(one(c) for c in text)


def _plain(output: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") and c != "\n" for c in output)


@PROPERTY
@given(title=TEXT)
@example(title="A\x1b[2J\x00z")
def test_a_title_through_the_command_line(command_line, title):
    run, database = command_line
    code, output = run("change", "raise", "--as", "nat@s.example", "--title", title, "--category", "minor")
    assert _plain(output)
    if refused_in_a_line(title):
        assert code == 1 and "title: must be one line of plain text" in output
        return
    assert code == 0
    ref = output.split()[0]
    code, shown = run("change", "show", ref, "--as", "nat@s.example")
    assert code == 0 and shown.splitlines()[0] == f"{ref}  {title}"


@PROPERTY
@given(stored=TEXT)
@example(stored="A\x1b]0;owned\x07\r\n  state: approved\u202ez")
def test_text_stored_before_the_rule_reaches_the_terminal_escaped(command_line, stored):
    run, database = command_line
    code, output = run("change", "raise", "--as", "nat@s.example", "--title", "Wifi", "--category", "minor")
    ref = output.split()[0]
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE changes SET title = ? WHERE ref = ?", (stored, ref))
    code, shown = run("change", "show", ref, "--as", "nat@s.example")
    assert code == 0 and _plain(shown)
    assert shown.splitlines()[0] == f"{ref}  {_escaped(stored)}"
