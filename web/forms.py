"""Reading form fields into what the services take, and back for redisplay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from werkzeug.datastructures import MultiDict

from fitsflow.domain import limits
from fitsflow.domain.stages import CostLine, FinancialPlan, parse_amount
from fitsflow.services.views import ChangeDetail

BLANK_ROWS = 2
COST_FIELDS = ("year", "kind", "amount", "funding_source", "description")


_DIGITS = re.compile(r"[0-9]{1,12}")


def day_arg(args: Any, name: str, default: date, problems: dict[str, str]) -> date:
    """A day from a query string (YYYY-MM-DD); ``default`` when absent; what is wrong goes in
    ``problems`` under ``name``."""
    raw = args.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        problems[name] = "must be a day as YYYY-MM-DD"
        return default


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
    if stage == "finance" and not rows:
        # A row for every year of the horizon from the start: each year needs a line.
        rows = [{**dict.fromkeys(COST_FIELDS, ""), "year": str(y)}
                for y in range(1, detail.plan.horizon_years + 1)]
    return rows + [dict.fromkeys(COST_FIELDS, "") for _ in range(BLANK_ROWS)]


def cost_row_errors(rows: list[dict[str, Any]], problems: dict[str, str]) -> dict[str, str]:
    """The services name a bad line by its place among the lines filled in ("line 2 amount");
    the form's rows include blank ones: map each problem to its field ("amount-4")."""
    filled = [i for i, row in enumerate(rows) if row.get("amount") or row.get("kind")]
    found: dict[str, str] = {}
    for key, message in problems.items():
        parts = key.split(" ")
        if len(parts) == 3 and parts[0] == "line" and parts[1].isdigit() and 0 < int(parts[1]) <= len(filled):
            found[f"{parts[2]}-{filled[int(parts[1]) - 1]}"] = message
    return found


@dataclass(frozen=True)
class DraftTotals:
    """Totals of the rows as typed (before they are saved): by year, overall, by funding
    source, capital and revenue."""

    by_year: list[Decimal]
    total: Decimal
    by_source: list[tuple[str, Decimal]]
    capital: Decimal
    revenue: Decimal


def draft_totals(rows: list[dict[str, Any]], horizon: int) -> DraftTotals:
    lines = []
    for row in rows:
        amount = parse_amount(row.get("amount", "")) if row.get("amount") else None
        year = whole(str(row.get("year", "")), maximum=horizon)
        if amount is not None and year:
            lines.append(CostLine(year - 1, row.get("kind", ""), amount, row.get("funding_source", "")))
    plan = FinancialPlan(horizon, tuple(lines))
    capital, revenue = plan.capital_and_revenue()
    by_year = plan.total_by_year()
    return DraftTotals(by_year, sum(by_year, Decimal(0)), plan.by_funding_source(), capital, revenue)
