"""360-degree feedback on a change's review: the questions, the groups asked, and what a
person may answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import limits
from .errors import InvalidInput
from .text import text_field

# Each scored 1 (poor) to 5 (very good).
QUESTIONS: dict[str, str] = {
    "meets_need": "Did it meet the need?",
    "disruption": "Was disruption kept low?",
    "training": "Were training and guidance enough?",
    "communication": "Were you told what you needed, when you needed it?",
}
SCORES = range(1, 6)
# The groups a summary is given by: deciders, the requester, each role ("slt", "head" …) and
# each audience ("audience:support", and those sampled from a release notice:
# "audience:staff", "audience:students" …), each shown by its own label.
DECIDERS, REQUESTER = "deciders", "requester"
GROUP_TITLES: dict[str, str] = {DECIDERS: "Deciders at the gates", REQUESTER: "Requester"}


@dataclass(frozen=True)
class Answer:
    """One person's feedback."""

    scores: Mapping[str, int]
    worked: str
    improve: str


def parse_answer(data: Mapping[str, Any]) -> Answer:
    """Every question scored 1–5; what worked and what to change, free text (optional)."""
    problems: dict[str, str] = {}
    scores: dict[str, int] = {}
    for key in QUESTIONS:
        raw = data.get(key)
        value: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"[0-9]{1,2}", raw.strip()):
            value = int(raw)
        if value is None or value not in SCORES:
            problems[key] = "choose from 1 (poor) to 5 (very good)"
        else:
            scores[key] = value
    worked = text_field(data, "worked", problems, required=False, maximum=limits.TEXT, lines=True)
    improve = text_field(data, "improve", problems, required=False, maximum=limits.TEXT, lines=True)
    if problems:
        raise InvalidInput(problems)
    return Answer(scores, worked, improve)
