"""What changes are evidence of: a catalogue of tags (DfE digital and technology standards,
Cyber Essentials controls, the RPA's cyber conditions, the filtering review), and the rule a
control measured in days applies (Cyber Essentials: a security update released within 14 days
of its vendor's release). Pure rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_TAGS = 20


class EvidenceError(ValueError):
    """A bad catalogue; the message names the key."""


@dataclass(frozen=True)
class Tag:
    name: str
    label: str
    group: str
    update_days: int | None = None  # measured: a vendor's release to ours, within this many days
    every_days: int | None = None  # expected at least this often: overdue when the last is older
    tests: bool = False  # each change is a test (a restore test) that passes or fails


def parse_catalogue(raw: Mapping[str, Any], where: str) -> dict[str, Tag]:
    tags = raw.get("tags")
    if not isinstance(tags, dict) or not tags:
        raise EvidenceError(f"{where}: tags: must hold [tags.NAME] tables")
    out: dict[str, Tag] = {}
    for name, body in tags.items():
        key = f"{where}: tags.{name}"
        if not NAME.match(name):
            raise EvidenceError(f"{key}: a name of lower-case letters, digits and '-'")
        if not isinstance(body, dict) or set(body) - {"label", "group", "update_days", "every_days", "tests"}:
            raise EvidenceError(f"{key}: a table of label, group and (optionally) update_days, every_days "
                                "and tests")
        label, group, days = body.get("label"), body.get("group", ""), body.get("update_days")
        every, tests = body.get("every_days"), body.get("tests", False)
        if not isinstance(label, str) or not label.strip() or not isinstance(group, str):
            raise EvidenceError(f"{key}.label: must be text")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365):
            raise EvidenceError(f"{key}.update_days: a whole number of days from 1 to 365")
        if every is not None and (not isinstance(every, int) or isinstance(every, bool)
                                  or not 1 <= every <= 1830):
            raise EvidenceError(f"{key}.every_days: a whole number of days from 1 to 1830")
        if not isinstance(tests, bool):
            raise EvidenceError(f"{key}.tests: true or false")
        out[name] = Tag(name, label.strip(), group.strip(), days, every, tests)
    return out


def tags_problem(tags: list[str], catalogue: Mapping[str, Tag]) -> str:
    unknown = [t for t in tags if t not in catalogue]
    if unknown:
        return f"not in the evidence catalogue: {', '.join(unknown[:5])[:200]}"
    if len(tags) > MAX_TAGS:
        return f"at most {MAX_TAGS} tags"
    return ""


def overdue(last: date | None, every_days: int, on: date) -> bool:
    """Whether evidence expected every ``every_days`` is overdue on ``on``, the last being ``last``."""
    return last is None or (on - last).days > every_days


def days_late(vendor_released: date, released: date, allowed: int) -> tuple[int, bool]:
    """Days from the vendor's release to ours, and whether that is over ``allowed``."""
    days = (released - vendor_released).days
    return days, days > allowed
