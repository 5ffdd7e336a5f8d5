"""Issue 22.8: messages read as sentences a UK school would write — not "Cannot needs
analysis complete yet", "is now financial planning", "awaiting the cab's retrospective" or
"Not relevant to slt". Every refusal, flash and error page message the code can produce is
checked against a small style list: the literal ones read from the source (each ``raise``
of a refusal, each ``flash`` and ``render_error``), the ones built from the workflows
rendered for every state and action of every shipped workflow."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fitsflow.domain.errors import GateNotSatisfied, NotAllowed
from fitsflow.workflow.loader import load_definition, shipped_directory

ROOT = Path(__file__).resolve().parent.parent
REFUSALS = {"InvalidInput", "NotPermitted", "NotAllowed", "NotFound", "GateNotSatisfied"}
SHOWN = {"flash", "render_error"}

# The style list. Each rule: what it catches, and why a reader trips on it.
RULES: dict[str, re.Pattern[str]] = {
    # trigger_or_state names leaking out ("submit_proceed", "needs_analysis")
    "snake_case word": re.compile(r"(?<![\w.{/:=\-'\"`])[a-z]+_[a-z_]+(?![\w.(}=/\-'\"`])"),
    # "Cannot <noun phrase> yet": a title is not always a verb
    "'Cannot … yet' around a title": re.compile(r"\bCannot\b[^.]*\byet\b"),
    # role keys where a title belongs
    "lower-case role key": re.compile(r"\b(slt|cab|dpo|dsl)\b"),
    # a state title lower-cased into a sentence ("is now financial planning")
    "state lower-cased after 'is now'": re.compile(r"\bis now (?!at\b|a\b|an\b|the\b)[a-z]+ [a-z]+"),
    # … or written so in the source: a title's own capitals ("the CAB's") are lost
    "title lower-cased into a sentence": re.compile(r"\{lower-cased title\}"),
}


def _texts(node: ast.AST) -> Iterator[str]:
    """The text a message argument can hold: constants, f-strings (holes as {}), dict values
    (an InvalidInput's problems), both arms of a conditional, both sides of a + ."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value if isinstance(v, ast.Constant) else _hole(v) for v in node.values)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _texts(value)
    elif isinstance(node, ast.BinOp):
        yield from _texts(node.left)
        yield from _texts(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _texts(node.body)
        yield from _texts(node.orelse)


def _hole(value: ast.AST) -> str:
    """An f-string's hole as the style list sees it: a state's title lower-cased into the
    sentence ("the change is now {state_title.lower()}") is marked, anything else is {}. (A
    stage's title is a common noun: "the financial plan" reads.)"""
    inner = value.value if isinstance(value, ast.FormattedValue) else value
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr == "lower" \
            and "state" in ast.unparse(inner.func.value):
        return "{lower-cased title}"
    return "{}"


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def literal_messages() -> Iterator[tuple[str, str]]:
    """(where, text) of every message written in the source."""
    for folder in ("fitsflow", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                call = node.exc if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) else \
                    node if isinstance(node, ast.Call) and _name(node) in SHOWN else None
                if call is None or _name(call) not in REFUSALS | SHOWN:
                    continue
                for argument in call.args:
                    for text in _texts(argument):
                        yield f"{path.relative_to(ROOT)}:{call.lineno}", text


def workflow_messages() -> Iterator[tuple[str, str]]:
    """What the workflows make: each action refused in each state, each action not yet possible."""
    for path in sorted(shipped_directory().glob("*.toml")):
        definition = load_definition(path)
        for transition in definition.transitions:
            title = transition.title or transition.trigger
            yield f"{definition.name}: {transition.trigger}", GateNotSatisfied(title, ["x"]).sentence
            for state in definition.states:
                if state in transition.sources:
                    continue
                refusal = definition.not_allowed(transition.trigger, state, allowed=[
                    t.trigger for t in definition.transitions_from(state)])
                assert isinstance(refusal, NotAllowed)
                yield f"{definition.name}: {transition.trigger} at {state}", str(refusal)


def _problems(messages: Iterator[tuple[str, str]]) -> list[str]:
    return [f"{where}: {rule}: {text!r}" for where, text in messages
            for rule, pattern in RULES.items() if pattern.search(text)]


def test_every_message_written_in_the_source_reads_as_a_sentence() -> None:
    messages = list(literal_messages())
    assert len(messages) > 150  # the scan finds the messages (it would pass on none)
    assert _problems(iter(messages)) == []


def test_every_message_the_workflows_make_reads_as_a_sentence() -> None:
    messages = list(workflow_messages())
    assert len(messages) > 50
    assert _problems(iter(messages)) == []


@pytest.mark.parametrize(("text", "rule"), [
    ("Cannot needs analysis complete yet", "'Cannot … yet' around a title"),
    ("CHG-1 is now financial planning.", "state lower-cased after 'is now'"),
    ("Not relevant to slt", "lower-case role key"),
    ("trigger submit_proceed refused", "snake_case word"),
])
def test_the_style_list_catches_what_the_issue_saw(text: str, rule: str) -> None:
    assert RULES[rule].search(text)
    assert not any(pattern.search("CHG-1 is now at “Financial planning”.") for pattern in RULES.values())


def test_the_history_names_people_and_writes_money_and_answers_as_the_pages_do(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 22.8: the governor's timeline showed e-mail addresses where a name exists, raw
    JSON screening answers and amounts without £."""
    from . import factories as f
    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "release_planning")  # needs, a plan, a decision
    auditor = app.test_client()
    login(auditor, school.emails[school.auditor])
    page = auditor.get(f"/changes/{ref}").get_data(as_text=True)
    history = page[page.index('id="history"'):] if 'id="history"' in page else page
    for uid in (school.requester, school.finance):
        assert school.emails[uid] not in history, school.emails[uid]
    assert "cost lines totalling £" in history
    assert '{"' not in history and "&#34;" not in history  # answers as words, not JSON


def test_the_change_page_names_audiences_by_their_titles(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 22.8: "Not relevant to slt" — an audience's key where its title belongs."""
    from . import factories as f
    from .web_support import WebSchool, login, make_app

    rt = sqlite_rt
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "scheduled")  # the SLT's notice is held for the requester
    client = app.test_client()
    login(client, school.emails[school.requester])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert f"Not relevant to {rt.roles.audiences['slt'].label}, because:" in page
    assert "Not relevant to slt" not in page
