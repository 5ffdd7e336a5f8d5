"""The one rule for text people type, wherever it comes in (pages, the API, imports, the
command line), and how stored text is shown where a character could do harm.

- One-line text (titles, names, short reasons, service names, subjects, emails) refuses
  every character of Unicode categories Cc, Cf, Zl and Zp: line breaks (CR, LF, U+2028,
  U+2029), NUL, ESC and the invisible formatting characters (zero-width, bidi overrides)
  that can hide or reorder what a reader sees.
- Long text (descriptions, plans, comments, notice bodies) keeps tab and line feed and
  refuses every other control character (Cc); CR LF and a lone CR become LF first, since
  browsers send textareas with CR LF.
- Both refuse lone surrogates (Cs), which no database or UTF-8 encoder accepts.

NUL, in particular, must never reach a database: PostgreSQL refuses it in text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

ONE_LINE_REFUSED = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
LONG_TEXT_KEPT = frozenset("\t\n")
# Control characters have no Unicode name: say what the common ones are.
_CONTROL_NAMES = {"\x00": "NUL", "\t": "a tab", "\n": "a line break", "\r": "a carriage return",
                  "\x1b": "ESC", "\x7f": "DEL", "\x85": "a next-line character"}


def describe(ch: str) -> str:
    """A character named for a person, never shown raw: 'U+2028 (LINE SEPARATOR)'."""
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "") or (
        "half of a UTF-16 pair" if unicodedata.category(ch) == "Cs" else "a control character")
    return f"U+{ord(ch):04X} ({name})"


def refused_in_line(ch: str) -> bool:
    return unicodedata.category(ch) in ONE_LINE_REFUSED


def refused_in_text(ch: str) -> bool:
    return ch not in LONG_TEXT_KEPT and unicodedata.category(ch) in ("Cc", "Cs")


def normalise_newlines(value: str) -> str:
    """CR LF (what browsers send from a textarea) and a lone CR as LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _size_problem(value: str, maximum: int, required: bool) -> str:
    if required and not value.strip():
        return "is required"
    if len(value) > maximum:
        return f"is longer than {maximum} characters"
    return ""


def one_line_problem(value: str, maximum: int, *, required: bool = True) -> str:
    """What is wrong with a (stripped) one-line value, or "" when nothing is."""
    if problem := _size_problem(value, maximum, required):
        return problem
    bad = next((c for c in value if refused_in_line(c)), None)
    if bad is not None:
        return f"must be one line of plain text: {describe(bad)} is not allowed"
    return ""


def first_line_problem(values: Iterable[str], maximum: int) -> str:
    """The problem of the first of several one-line values (services, stakeholders) that has
    one, or ""."""
    return next(filter(None, (one_line_problem(v, maximum) for v in values)), "")


def long_text_problem(value: str, maximum: int, *, required: bool = False) -> str:
    """What is wrong with long text (newlines already normalised), or "" when nothing is."""
    if problem := _size_problem(value, maximum, required):
        return problem
    bad = next((c for c in value if refused_in_text(c)), None)
    if bad is not None:
        return f"must not contain control characters: {describe(bad)} is not allowed"
    return ""


def text_field(data: Mapping[str, Any], key: str, problems: dict[str, str], *, required: bool,
               maximum: int, lines: bool = False) -> str:
    """A free-text field of a form or JSON body, stripped: one line unless ``lines`` (long
    text, newlines normalised). What is wrong goes in ``problems`` under ``key``."""
    value = data.get(key, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        problems[key] = "must be text"
        return ""
    if lines:
        value = normalise_newlines(value).strip()
        problem = long_text_problem(value, maximum, required=required)
    else:
        value = value.strip()
        problem = one_line_problem(value, maximum, required=required)
    if problem:
        problems[key] = problem
    return value


def as_one_line(text: str) -> str:
    """Stored text made safe for one line (an email header, a chat message): each run of
    characters the one-line rule refuses becomes one space, so nothing typed can split a
    header or add one."""
    out: list[str] = []
    gap = False
    for c in text or "":
        if refused_in_line(c):
            gap = True
            continue
        if gap:
            out.append(" ")
            gap = False
        out.append(c)
    return "".join(out).strip()


def visible(text: str) -> str:
    """Text for a terminal: every character the one-line rule refuses shown as its escape
    (ESC as \\x1b, U+2028 as \\u2028), so stored text can neither drive the terminal nor
    forge a line of output."""
    return "".join(_escape(c) if refused_in_line(c) else c for c in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clip(text: str, maximum: int, tail: str = "") -> str:
    """``text`` then ``tail`` within ``maximum`` characters: the text cut, with "…", when it
    would not fit (a change raised from longer texts joined)."""
    room = maximum - len(tail)
    return (text if len(text) <= room else text[: room - 1].rstrip() + "…") + tail
