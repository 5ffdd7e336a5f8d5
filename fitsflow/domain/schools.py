"""Schools of a trust as data: how a school is named and which nation's bank holidays it keeps."""

from __future__ import annotations

import re

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
NATIONS = ("england", "wales", "scotland", "northern_ireland")
NAME_MAX = 120


def slug_problem(slug: str) -> str | None:
    if not SLUG.fullmatch(slug):
        return "use lower-case letters, digits and '-', up to 40 characters (e.g. oakfield-primary)"
    return None


def nation_problem(nation: str) -> str | None:
    if nation and nation not in NATIONS:
        return f"must be one of: {', '.join(NATIONS)}"
    return None
