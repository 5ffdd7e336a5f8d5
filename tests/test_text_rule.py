"""The one text rule (fitsflow/domain/text.py), character by character. The tables here are
written out by hand from the Unicode categories, not derived from the rule's own code."""

from __future__ import annotations

import pytest

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.stages import parse_needs
from fitsflow.domain.text import (
    as_one_line,
    describe,
    long_text_problem,
    normalise_newlines,
    one_line_problem,
    text_field,
    visible,
)

# (character, its category): every one of these is refused in a one-line field.
REFUSED_IN_A_LINE = [
    ("\x00", "Cc"), ("\x07", "Cc"), ("\t", "Cc"), ("\n", "Cc"), ("\r", "Cc"), ("\x1b", "Cc"), ("\x7f", "Cc"),
    ("\x85", "Cc"), ("\x9b", "Cc"),
    ("\u00ad", "Cf"), ("\u200b", "Cf"), ("\u200d", "Cf"), ("\u200e", "Cf"), ("\u202e", "Cf"),
    ("\u2066", "Cf"), ("\ufeff", "Cf"), ("\U000e0001", "Cf"),
    ("\u2028", "Zl"),
    ("\u2029", "Zp"),
    ("\ud800", "Cs"),
]
# Text a person types: accents, other scripts, emoji, the spaces that are not controls.
ALLOWED_IN_A_LINE = ["Café déjà vu", "Zoë O'Brien-Łukasz", "日本語のタイトル", "مرحبا", "Wi-Fi 📶 upgrade",
                     "a\u00a0b", "em — dash", "quotes “like” ‘these’", "C:\\Users\\share", "<b>&amp;</b>"]


@pytest.mark.parametrize(("ch", "category"), REFUSED_IN_A_LINE)
def test_a_one_line_field_refuses_every_control_format_and_separator_character(ch, category):
    problem = one_line_problem(f"Laptops{ch}for Year 7", 200)
    assert problem.startswith("must be one line of plain text")
    assert f"U+{ord(ch):04X}" in problem and ch not in problem  # named, never shown raw


@pytest.mark.parametrize("value", ALLOWED_IN_A_LINE)
def test_a_one_line_field_keeps_what_people_type(value):
    assert one_line_problem(value, 200) == ""
    assert long_text_problem(value, 200) == ""


@pytest.mark.parametrize("ch", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\x9b", "\r", "\ud800"])
def test_long_text_refuses_control_characters_but_tab_and_newline(ch):
    problem = long_text_problem(f"Step one{ch}step two", 500)
    assert problem.startswith("must not contain control characters") and f"U+{ord(ch):04X}" in problem


@pytest.mark.parametrize("value", ["Step one\nStep two", "\tindented\n\tlines", "a\u2028b", "👩\u200d💻 lab",
                                   "soft\u00adhyphen", "\u202bright to left\u202c"])
def test_long_text_keeps_tabs_newlines_and_formatting_characters(value):
    assert long_text_problem(value, 500) == ""


def test_carriage_returns_from_a_browser_become_line_feeds_before_the_check():
    assert normalise_newlines("one\r\ntwo\rthree\n") == "one\ntwo\nthree\n"
    problems: dict[str, str] = {}
    assert text_field({"need": " one\r\ntwo\r\n"}, "need", problems, required=True, maximum=50,
                      lines=True) == "one\ntwo"
    assert problems == {}


def test_a_text_field_is_one_line_unless_it_says_otherwise():
    problems: dict[str, str] = {}
    text_field({"title": "one\ntwo"}, "title", problems, required=True, maximum=50)
    assert problems["title"].startswith("must be one line")
    problems = {}
    text_field({"notes": "a\x00b"}, "notes", problems, required=False, maximum=50, lines=True)
    assert "U+0000 (NUL)" in problems["notes"]
    problems = {}
    text_field({"title": "x" * 51}, "title", problems, required=True, maximum=50)
    assert problems == {"title": "is longer than 50 characters"}


def test_a_needs_analysis_names_each_field_it_refuses():
    with pytest.raises(InvalidInput) as err:
        parse_needs({"need": "fine\r\nover two lines", "sdp_priority": "SDP\u20282",
                     "dpia_reference": "DP\x1bIA", "stakeholders": ["Head\u202e"]})
    assert set(err.value.problems) == {"sdp_priority", "dpia_reference", "stakeholders"}
    needs = parse_needs({"need": "fine\r\nover two lines", "stakeholders": "Head\r\nBursar"})
    assert needs.need == "fine\nover two lines" and needs.stakeholders == ("Head", "Bursar")


def test_each_refused_character_is_named_in_words():
    assert describe("\x00") == "U+0000 (NUL)" and describe("\x01") == "U+0001 (a control character)"
    assert describe("\u2028") == "U+2028 (LINE SEPARATOR)"
    assert describe("\u202e") == "U+202E (RIGHT-TO-LEFT OVERRIDE)"
    assert describe("\ud800") == "U+D800 (half of a UTF-16 pair)"


def test_stored_text_is_shown_escaped_and_flattened():
    assert visible("\x1b[2J\x1b]0;owned\x07title") == "\\x1b[2J\\x1b]0;owned\\x07title"
    assert visible("a\u2028b\r\nc\x00") == "a\\u2028b\\x0d\\x0ac\\x00"
    assert visible("\u202egnp.exe \U000e0001") == "\\u202egnp.exe \\U000e0001"
    assert visible("Café 日本 📶") == "Café 日本 📶"
    assert as_one_line(" Subject\u2028Bcc: x\r\ny\u200b\u2029") == "Subject Bcc: x y"
