"""What a gate approved, field by field: a snapshot of the stage data it covered, its
digest, and the difference an edit makes. Pure: the services decide what a difference
means (a reopened gate, or an acknowledgement within tolerance)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .stages import CostLine, Needs, ReleasePlan

FIELD_TITLES = {
    "needs.need": "need", "needs.stakeholders": "stakeholders", "needs.sdp_priority": "SDP priority",
    "needs.options_considered": "options considered", "needs.screening": "screening answers",
    "needs.dpia_reference": "DPIA reference", "finance.lines": "cost lines",
    "release_plan.window_start": "window start", "release_plan.window_end": "window end",
    "release_plan.backout_plan": "back-out plan", "release_plan.test_plan": "test plan",
    "release_plan.risk": "risk level", "release_plan.risk_answers": "risk assessment",
    "release_plan.impact": "impact", "release_plan.training": "training", "release_plan.contact": "contact",
    "services": "affected services",
}
WINDOW_FIELDS = ("release_plan.window_start", "release_plan.window_end")


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def snapshot(scopes: Iterable[str], *, needs: Needs | None, lines: tuple[CostLine, ...],
             plan: ReleasePlan | None, services: Iterable[str]) -> dict[str, Any]:
    """The approved fields as plain JSON values, keyed ``scope.field``."""
    out: dict[str, Any] = {}
    for scope in scopes:
        if scope == "needs":
            n = needs or Needs("", (), "", "")
            out.update({"needs.need": n.need, "needs.stakeholders": list(n.stakeholders),
                        "needs.sdp_priority": n.sdp_priority,
                        "needs.options_considered": n.options_considered,
                        "needs.screening": dict(sorted(n.screening.items())),
                        "needs.dpia_reference": n.dpia_reference})
        elif scope == "finance":
            out["finance.lines"] = [[line.year_offset + 1, line.kind, f"{line.amount:.2f}",
                                     line.funding_source, line.description] for line in lines]
        elif scope == "release_plan":
            p = plan or ReleasePlan(None, None, "", "", "", "")
            out.update({"release_plan.window_start": _when(p.window_start),
                        "release_plan.window_end": _when(p.window_end),
                        "release_plan.backout_plan": p.backout_plan, "release_plan.test_plan": p.test_plan,
                        "release_plan.risk": p.risk,
                        "release_plan.risk_answers": dict(sorted(p.risk_answers.items())),
                        "release_plan.impact": p.impact, "release_plan.training": p.training,
                        "release_plan.contact": p.contact})
        elif scope == "services":
            out["services"] = sorted(services)
    return out


def digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any

    @property
    def title(self) -> str:
        return FIELD_TITLES.get(self.field, self.field)

    def describe(self) -> str:
        return f"{self.title}: {_show(self.before)} → {_show(self.after)}"


def _show(value: Any) -> str:
    if value in ("", None, [], {}):
        return "(empty)"
    if isinstance(value, list) and value and isinstance(value[0], list):
        return "; ".join(f"year {v[0]} {v[1]} £{v[2]}" for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return f"“{text[:200]}{'…' if len(text) > 200 else ''}”"


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """Each field whose value differs, in the order of ``before``."""
    keys = list(before) + [k for k in after if k not in before]
    return [FieldChange(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def window_shift_days(changes: list[FieldChange]) -> float | None:
    """How far the window moved, in days, when the window is all that changed (and both
    ends are set); None otherwise."""
    if not changes or any(c.field not in WINDOW_FIELDS for c in changes):
        return None
    moves = []
    for c in changes:
        if not c.before or not c.after:
            return None
        moves.append(abs(datetime.fromisoformat(c.after) - datetime.fromisoformat(c.before)))
    return max(moves, default=timedelta(0)).total_seconds() / 86400
