"""Reading form fields into what the services take, and back for redisplay."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from werkzeug.datastructures import MultiDict

from fitsflow.domain import limits
from fitsflow.services.views import ChangeDetail

BLANK_ROWS = 4
COST_FIELDS = ("year", "kind", "amount", "funding_source", "description")


_DIGITS = re.compile(r"[0-9]{1,12}")


def whole(value: Any, maximum: int = limits.ID_MAX) -> int | None:
    """A whole number typed in a form or a URL (ASCII digits only, at most ``maximum``), or None."""
    text = str(value or "").strip()
    if not _DIGITS.fullmatch(text) or int(text) > maximum:
        return None
    return int(text)


def expected_version(form: Any) -> int | None:
    """The version the person saw (a hidden field); None when not sent."""
    return whole(form.get("version", ""))


def local_input(value: datetime | None, tz: tzinfo) -> str:
    """A stored UTC moment as a datetime-local input value in the school's zone."""
    return value.astimezone(tz).strftime("%Y-%m-%dT%H:%M") if value else ""


def cost_rows(detail: ChangeDetail | None, stage: str, form: Any,
              parse: bool = False) -> list[dict[str, Any]]:
    """Cost-line rows: from a submitted form (blank rows dropped when parsing), or the
    saved plan (planned lines for 'finance', actual costs for 'review') plus blanks."""
    if isinstance(form, MultiDict) or (form is not None and hasattr(form, "getlist")):
        rows = []
        count = whole(form.get("rows", "0"), maximum=limits.COST_LINES) or 0
        for i in range(min(count, 200)):
            row = {f: form.get(f"{f}-{i}", "").strip() for f in COST_FIELDS}
            if parse and not (row["amount"] or row["kind"]):
                continue
            rows.append(row)
        return rows
    if detail is None:
        return []
    if stage == "finance":
        lines = list(detail.plan.lines)
    else:
        lines = list(detail.review.actual_costs) if detail.review else []
    rows = [{"year": str(line.year_offset + 1), "kind": line.kind, "amount": f"{line.amount:.2f}",
             "funding_source": line.funding_source, "description": line.description} for line in lines]
    return rows + [dict.fromkeys(COST_FIELDS, "") for _ in range(BLANK_ROWS)]
