"""Reports for SLT and governors (issue 23.7): for a term, an academic year or any dates,
what the school's changes came to — computed from the changes, their stages, the audit trail
and the calendar, in a handful of grouped reads whatever the size of the school.

Definitions (each figure says which changes it counts):
- *raised*: changes raised in the period; by category and outcome (the review's outcome when
  recorded, else withdrawn, backed out or in progress);
- *rates*: success = successful reviews ÷ reviews recorded (of changes raised in the period);
  backed out = changes backed out ÷ changes released or backed out; emergency and standard
  shares of those raised;
- *time at each gate*: from entering a gate's state to leaving it, for every stay that ended in
  the period (median and 90th percentile, in days);
- *windows*: releases in the period kept on their first window, or moved;
- *went ahead despite*: freeze overrides, accepted clashes and caution periods in the period,
  with their reasons;
- *reviews*: reviews closed in the period within ``notices.review_due_days`` school days of
  release, and the 360° feedback averages by group;
- *acknowledgements*: release notices published in the period, by audience;
- *success measures*: of changes raised in the period, by result;
- *committed spend*: every change with an approval that is not withdrawn, planned and actual
  cost by financial year, funding source and capital or revenue;
- *refresh*: what was bought that needs refreshing within a year of the period's end;
- *proposals*: needs proposed in the period and what became of them."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from sqlmodel import Session

from ..domain import evidence as evidence_rules
from ..domain import financial_years, limits
from ..domain.calendar import academic_year_start
from ..domain.errors import InvalidInput, NotPermitted
from ..domain.vocabulary import (
    BACKED_OUT,
    CAPITAL_KINDS,
    CLOSED,
    MEASURE_RESULTS,
    PAST_WINDOW_KINDS,
    RELEASED,
    WITHDRAWN,
)
from ..persistence import asset_store, audit_store, provider_store, report_store, school_scope, school_store
from . import calendar, common, evidence, filtering, schools
from .audit import spreadsheet_safe
from .feedback import group_title
from .runtime import Runtime

WENT_AHEAD = {
    "freeze.overridden": "Freeze overridden",
    "clash.accepted": "Clash accepted",
    "caution.accepted": "Caution period",
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    title: str


@dataclass(frozen=True)
class Rate:
    count: int
    of: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.count / self.of, 1) if self.of else None


@dataclass(frozen=True)
class GateTime:
    gate: str
    stays: int
    median_days: float
    p90_days: float


@dataclass(frozen=True)
class Spend:
    financial_year: str
    funding_source: str
    capital: bool
    planned: Decimal
    actual: Decimal


@dataclass(frozen=True)
class ProviderFigures:
    """The annual review of an external IT provider's support: the changes its people handled
    (raised in the period, or moved in it), the median days from raising to their first step
    (response) and to release (resolution), windows kept, reviews closed."""

    provider: str
    handled: int
    response_days: float | None  # of those that had a first step
    unanswered: int  # raised in the period and no step taken yet (not in the median above)
    resolution_days: float | None
    windows_kept: Rate
    reviews_closed: int


@dataclass(frozen=True)
class Report:
    period: Period
    raised: int
    by_category: dict[str, dict[str, int]]  # category → outcome → changes
    success: Rate
    backed_out: Rate
    emergency: Rate
    standard: Rate
    gate_times: tuple[GateTime, ...]
    windows_kept: Rate
    went_ahead: tuple[tuple[str, str, str, str], ...]  # (when, change, kind, reason)
    reviews_on_time: Rate
    feedback: dict[str, dict[str, float | None]]  # group → question → average
    acknowledgements: dict[str, Rate]  # audience → acknowledged of received
    measures: dict[str, int]  # result → success measures
    spend: tuple[Spend, ...]
    refresh: tuple[tuple[str, str, date], ...]  # (change, title, refresh on)
    proposals: dict[str, int]  # status → proposals
    audit_head: str
    audit_count: int
    generated_at: datetime
    # A trust's roll-up: school (a trust-wide change's schools, joined) → outcome → changes
    # raised; empty for a reader who sees one school.
    by_school: dict[str, dict[str, int]] = field(default_factory=dict)
    school: str = ""  # the one school it is narrowed to ("": every school the reader sees)
    # Routine work (recurrences): occurrences due in the period, and those whose day passed
    # without their release (missed).
    routine_due: int = 0
    routine_missed: int = 0
    # What the changes released in the period are evidence of: group → label → changes.
    evidence: dict[str, dict[str, int]] = field(default_factory=dict)
    # Controls measured in days (Cyber Essentials: security updates within 14): each change
    # released in the period with its vendor's release day — (change, control, vendor's
    # release, ours, days, over the limit).
    update_days: tuple[tuple[str, str, date, date, int, bool], ...] = ()
    # Evidence expected at least every so many days (the yearly filtering review, restore
    # tests): (group, label, the last change's release day or None, every_days, overdue at
    # the period's end).
    evidence_due: tuple[tuple[str, str, date | None, int, bool], ...] = ()
    # Tests (restore tests) among the changes released or backed out in the period: label →
    # (passed, failed).
    tests: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Web-filtering requests: asked, decided (by the decision's title) and applied in the period.
    filtering: dict[str, int] = field(default_factory=dict)
    # Assets retired in the period: with their disposal evidence whole, and without.
    retired: tuple[int, int] = (0, 0)
    it_support: tuple[ProviderFigures, ...] = ()

    def rates(self) -> dict[str, Rate]:
        return {
            "success": self.success,
            "backed_out": self.backed_out,
            "emergency": self.emergency,
            "standard": self.standard,
            "windows_kept": self.windows_kept,
            "reviews_on_time": self.reviews_on_time,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """Every figure as (section, what, value): the CSV and the workbook."""
        out: list[tuple[str, str, str]] = [
            ("period", "from", self.period.start.isoformat()),
            ("period", "to (exclusive)", self.period.end.isoformat()),
            ("changes", "raised", str(self.raised)),
        ]
        for category, outcomes in sorted(self.by_category.items()):
            out += [
                ("changes by category and outcome", f"{category}: {outcome}", str(n))
                for outcome, n in sorted(outcomes.items())
            ]
        for name, rate in (
            ("success", self.success),
            ("backed out", self.backed_out),
            ("emergency", self.emergency),
            ("standard", self.standard),
            ("windows kept", self.windows_kept),
            ("reviews on time", self.reviews_on_time),
        ):
            out.append(("rates", name, f"{rate.count} of {rate.of}"))
        out += [
            (
                "time at each gate (days)",
                g.gate,
                f"median {g.median_days}, 90th percentile {g.p90_days}, {g.stays} stays",
            )
            for g in self.gate_times
        ]
        out += [
            ("went ahead despite", f"{when} {ref} {kind}", reason)
            for when, ref, kind, reason in self.went_ahead
        ]
        for group, averages in sorted(self.feedback.items()):
            out += [
                ("feedback averages", f"{group}: {q}", "" if v is None else f"{v}")
                for q, v in averages.items()
            ]
        out += [
            ("acknowledgements", audience, f"{r.count} of {r.of}")
            for audience, r in sorted(self.acknowledgements.items())
        ]
        out += [("success measures", result, str(n)) for result, n in self.measures.items()]
        out += [
            (
                "committed spend",
                f"{s.financial_year} {s.funding_source} {'capital' if s.capital else 'revenue'}",
                f"planned {s.planned:.2f}, actual {s.actual:.2f}",
            )
            for s in self.spend
        ]
        out += [("due for refresh", f"{ref} {title}", when.isoformat()) for ref, title, when in self.refresh]
        out += [("proposals", status, str(n)) for status, n in sorted(self.proposals.items())]
        out += [("routine work", "occurrences due", str(self.routine_due)),
                ("routine work", "missed", str(self.routine_missed))]
        out += [("evidence", f"{group}: {label}", str(n)) for group, labels in self.evidence.items()
                for label, n in labels.items()]
        out += [("days from the vendor's release", f"{ref} {label}",
                 f"vendor {vendor.isoformat()}, released {ours.isoformat()}: {days} days"
                 + (" (over the limit)" if over else ""))
                for ref, label, vendor, ours, days, over in self.update_days]
        out += [("evidence expected", f"{group}: {label}",
                 f"last {last.isoformat() if last else 'never'}, every {every} days"
                 + (" (overdue)" if overdue else ""))
                for group, label, last, every, overdue in self.evidence_due]
        out += [("tests", label, f"{passed} passed, {failed} failed")
                for label, (passed, failed) in self.tests.items()]
        out += [("web filtering", what, str(n)) for what, n in self.filtering.items()]
        for p in self.it_support:
            out += [("IT support review", f"{p.provider}: changes handled", str(p.handled)),
                    ("IT support review", f"{p.provider}: median days to respond",
                     "" if p.response_days is None else str(p.response_days)),
                    ("IT support review", f"{p.provider}: raised with no step taken yet", str(p.unanswered)),
                    ("IT support review", f"{p.provider}: median days to release",
                     "" if p.resolution_days is None else str(p.resolution_days)),
                    ("IT support review", f"{p.provider}: windows kept",
                     f"{p.windows_kept.count} of {p.windows_kept.of}"),
                    ("IT support review", f"{p.provider}: reviews closed", str(p.reviews_closed))]
        out += [("assets retired", "with disposal evidence", str(self.retired[0])),
                ("assets retired", "without disposal evidence", str(self.retired[1]))]
        out += [("changes by school and outcome", f"{school}: {outcome}", str(n))
                for school, outcomes in self.by_school.items() for outcome, n in outcomes.items()]
        out.append(("audit", "head", f"{self.audit_count} events, head {self.audit_head}"))
        return out


def _day(raw: Any, key: str, problems: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        problems[key] = "must be a date such as 2026-09-01"
        return None


def period_of(
    rt: Runtime,
    session: Session,
    *,
    term: int | None = None,
    year: int | None = None,
    start: Any = None,
    end: Any = None,
) -> Period:
    """The period asked for: a term of the calendar, an academic year (from 1 September), or
    dates (``end`` inclusive as people say it); by default the academic year so far."""
    problems: dict[str, str] = {}
    if term is not None:
        row = report_store.term(session, term)
        if row is None:
            raise InvalidInput({"term": "no such term in the school calendar"})
        first = row.starts_at.astimezone(rt.timezone).date()
        last = row.ends_at.astimezone(rt.timezone).date()
        return Period(first, last, row.title)
    if year is not None:
        if not 2000 <= year <= 2100:
            raise InvalidInput({"year": "must be the year an academic year starts, such as 2026"})
        return Period(date(year, 9, 1), date(year + 1, 9, 1), f"Academic year {year}–{str(year + 1)[-2:]}")
    first, last = _day(start, "start", problems), _day(end, "end", problems)
    if problems:
        raise InvalidInput(problems)
    today = rt.today()
    first = first or academic_year_start(today)
    last = last or today
    for key, day in (("start", first), ("end", last)):
        if not limits.FIRST_YEAR <= day.year <= limits.LAST_YEAR:
            raise InvalidInput({key: f"must be in the years {limits.FIRST_YEAR} to {limits.LAST_YEAR}"})
    if last < first:
        raise InvalidInput({"end": "must be on or after the start"})
    if (last - first).days > 3660:
        raise InvalidInput({"end": "a report covers ten years at most"})
    return Period(first, last + timedelta(days=1), f"{first:%d %b %Y} to {last:%d %b %Y}")


def _moment(rt: Runtime, day: date) -> datetime:
    return datetime.combine(day, time(0), rt.timezone)


def _at(rt: Runtime, day: date) -> str:
    """The audit trail's ``at`` text of the moment ``day`` starts (kept as ISO text in UTC, as
    audit_store.append writes it), so ranges compare as text."""
    return _moment(rt, day).astimezone(UTC).isoformat(timespec="microseconds")


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def _kinds(rt: Runtime) -> dict[tuple[str, str], str]:
    """(workflow, state) → the state's kind, over every workflow version."""
    return {
        (wf.name, name): (spec.kind or "")
        for wf in rt.workflows.every_version()
        for name, spec in wf.definition.states.items()
    }


def _gates(rt: Runtime) -> dict[tuple[str, str], str]:
    """(workflow, gate state) → the gate's title."""
    return {
        (wf.name, g.state): g.title
        for wf in rt.workflows.every_version()
        for g in wf.definition.gates.values()
    }


def build(rt: Runtime, session: Session, period: Period) -> Report:
    """The report for ``period``, read in the caller's transaction."""
    since, until = _moment(rt, period.start), _moment(rt, period.end)
    at_since, at_until = _at(rt, period.start), _at(rt, period.end)
    kinds = _kinds(rt)

    # Raised in the period: category, where each got to, its review's outcome.
    raised_rows = report_store.raised(session, since, until)
    workflow_of = {r.ref: r.workflow for r in raised_rows}

    # The period's trail: which changes moved, and what went ahead despite the calendar.
    moved = report_store.moved(session, at_since, at_until)
    went_ahead = tuple(
        (e.at[:10], e.change_ref, WENT_AHEAD[e.event_type], str(json.loads(e.payload).get("reason", "")))
        for e in report_store.events_of(session, list(WENT_AHEAD), at_since, at_until)
    )
    workflow_of.update(report_store.workflows(session, [ref for ref in moved if ref not in workflow_of]))
    # The whole trail of the changes that moved, each payload read once; the period's moves from it.
    trail: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for e in report_store.transitions(session, moved, at_until):
        p = json.loads(e.payload)
        trail[e.change_ref].append((e.at, p.get("from", ""), p.get("to", "")))
    moves = [(at, ref, frm, to) for ref, steps in trail.items() for at, frm, to in steps if at >= at_since]

    def kind_of(ref: str, state: str) -> str:
        return kinds.get((workflow_of.get(ref, ""), state), "")

    backed = {ref for _, ref, _, to in moves if kind_of(ref, to) == BACKED_OUT}
    released = {ref for _, ref, _, to in moves if kind_of(ref, to) == RELEASED}

    by_category: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_school: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reviewed = successful = 0
    for r in raised_rows:
        kind = kinds.get((r.workflow, r.state), "")
        outcome = r.outcome or (
            "withdrawn" if kind == WITHDRAWN else "backed out" if kind == BACKED_OUT else "in progress"
        )
        by_category[r.category][outcome] += 1
        by_school[r.school_id][outcome] += 1
        if r.outcome:
            reviewed += 1
            successful += r.outcome == "successful"
    raised = len(raised_rows)
    categories = Counter(r.category for r in raised_rows)

    # Time at each gate: every stay ending in the period, from the whole trail of the change.
    gate_titles = _gates(rt)
    stays: dict[str, list[float]] = defaultdict(list)
    for ref, steps in trail.items():
        wf = workflow_of.get(ref, "")
        entered: dict[str, datetime] = {}
        for at_text, frm, to in steps:
            at = datetime.fromisoformat(at_text)
            if (wf, frm) in gate_titles and frm in entered:
                began = entered.pop(frm)
                if at_text >= at_since:
                    stays[gate_titles[(wf, frm)]].append((at - began).total_seconds() / 86400)
            if (wf, to) in gate_titles:
                entered[to] = at
    gate_times = tuple(
        GateTime(gate, len(v), round(median(v), 2), round(_percentile(v, 0.9), 2))
        for gate, v in sorted(stays.items())
    )

    # Windows: releases in the period on their first window, or moved.
    sequences = report_store.window_sequences(session, sorted(released))
    windows_kept = Rate(sum(1 for seq in sequences if (seq or 1) <= 1), len(sequences))

    # Reviews closed in the period: on time when within review_due_days school days of release.
    school = calendar.school_calendar(rt, session)
    due_days = rt.settings.notices.review_due_days
    due_by: dict[date, datetime] = {}
    closed_in = [(at, ref) for at, ref, _, to in moves if kind_of(ref, to) == CLOSED]
    on_time = 0
    for at_text, ref in closed_in:
        out = next((a for a, _, to in trail[ref] if kind_of(ref, to) in (RELEASED, BACKED_OUT)), None)
        if out is None:
            continue
        released_on = datetime.fromisoformat(out)
        day = released_on.astimezone(rt.timezone).date()
        if day not in due_by:  # the same day's due date, worked out once
            due_by[day] = school.school_days_after(released_on, due_days)
        on_time += datetime.fromisoformat(at_text) <= due_by[day]
    reviews_on_time = Rate(on_time, len(closed_in))

    # 360° feedback of the reviews of changes raised in the period, by group.
    feedback = {
        group_title(rt, row[0]): {
            q: (round(float(v), 2) if v is not None else None)
            for q, v in zip(report_store.QUESTIONS, row[1:], strict=True)
        }
        for row in report_store.feedback_averages(session, since, until)
    }
    # Release notices published in the period, by audience.
    acknowledgements = {
        audience: Rate(int(acked or 0), int(received))
        for audience, received, acked in report_store.acknowledgements(session, since, until)
    }
    measures = {title: 0 for title in (*MEASURE_RESULTS, "not assessed")}
    for result, n in report_store.measures(session, since, until):
        measures[result or "not assessed"] = int(n)
    spend = _committed_spend(rt, session, kinds)
    horizon = period.end + timedelta(days=365)
    refresh = tuple((ref, title, when) for ref, title, when in report_store.refresh_due(session, horizon))
    proposals = {status: int(n) for status, n in report_store.proposals(session, since, until)}

    head = audit_store.head(session)
    shown = evidence_figures(rt, session, period)
    released_day: dict[str, date] = {}
    for moved_at, ref, _, to in sorted(moves):
        if kind_of(ref, to) == RELEASED and ref not in released_day:
            released_day[ref] = datetime.fromisoformat(moved_at).astimezone(rt.timezone).date()
    return Report(
        period=period,
        raised=raised,
        by_category={k: dict(v) for k, v in sorted(by_category.items())},
        success=Rate(successful, reviewed),
        backed_out=Rate(len(backed), len(backed | released)),
        emergency=Rate(categories.get("emergency", 0), raised),
        standard=Rate(categories.get("standard", 0), raised),
        gate_times=gate_times,
        windows_kept=windows_kept,
        went_ahead=went_ahead,
        reviews_on_time=reviews_on_time,
        feedback=feedback,
        acknowledgements=acknowledgements,
        measures=measures,
        spend=spend,
        refresh=refresh,
        proposals=proposals,
        audit_head=head.hash,
        audit_count=head.seq,
        generated_at=rt.now(),
        by_school=_by_school(rt, session, by_school),
        routine_due=shown.routine_due,
        routine_missed=shown.routine_missed,
        evidence=shown.evidence,
        update_days=shown.update_days,
        evidence_due=shown.evidence_due,
        tests=shown.tests,
        filtering=shown.filtering,
        retired=shown.retired,
        it_support=_it_support(rt, session, (since, until), (at_since, at_until), moved, kind_of),
    )


@dataclass(frozen=True)
class EvidenceFigures:
    """What the routine work of a period shows (issue 25.5): the evidence the changes released in
    it record, by group and tag; each measured control's days from the vendor's release to ours;
    evidence expected every so many days (last, overdue); tests passed and failed; web-filtering
    requests; assets retired with and without disposal evidence; routine work due and missed."""

    evidence: dict[str, dict[str, int]]
    update_days: tuple[tuple[str, str, date, date, int, bool], ...]
    evidence_due: tuple[tuple[str, str, date | None, int, bool], ...]
    tests: dict[str, tuple[int, int]]
    filtering: dict[str, int]
    retired: tuple[int, int]
    routine_due: int
    routine_missed: int


def evidence_figures(rt: Runtime, session: Session, period: Period) -> EvidenceFigures:
    """The period's evidence, read in the caller's transaction (of the schools it sees): the
    changes with evidence tags saved since the earliest day a figure looks back to, and their
    trail — released in the period (its first release there), backed out in it, and the first
    release of each for the evidence expected regularly."""
    since, until = _moment(rt, period.start), _moment(rt, period.end)
    known = evidence.catalogue(rt)
    expected = {name: t for name, t in known.items() if t.every_days}
    end = min(period.end, rt.today() + timedelta(days=1))
    due_since = end - timedelta(days=max((t.every_days or 0 for t in expected.values()), default=0) + 1)
    tagged = {ref: (workflow, [t for t in tags.split("\n") if t in known], vendor)
              for ref, workflow, _, tags, vendor in report_store.tagged_since(
                  session, min(since, _moment(rt, due_since)))}
    kinds = _kinds(rt)
    released_on: dict[str, date] = {}
    first_release: dict[str, date] = {}
    backed: set[str] = set()
    at_since, at_until = _at(rt, period.start), _at(rt, max(period.end, end))
    for e in report_store.transitions(session, sorted(tagged), at_until):
        kind = kinds.get((tagged[e.change_ref][0], json.loads(e.payload).get("to", "")), "")
        if kind not in (RELEASED, BACKED_OUT):
            continue
        day = datetime.fromisoformat(e.at).astimezone(rt.timezone).date()
        if kind == RELEASED:
            first_release.setdefault(e.change_ref, day)
        if at_since <= e.at < _at(rt, period.end):
            if kind == RELEASED:
                released_on.setdefault(e.change_ref, day)
            else:
                backed.add(e.change_ref)
    counted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    measured = []
    for ref, day in released_on.items():
        _, tags, vendor = tagged[ref]
        for name in tags:
            tag = known[name]
            counted[tag.group][tag.label] += 1
            if tag.update_days is not None and vendor is not None:
                days, over = evidence_rules.days_late(vendor, day, tag.update_days)
                measured.append((ref, tag.label, vendor, day, days, over))
    last: dict[str, date] = {}
    for ref, day in first_release.items():
        if due_since <= day < end:
            for name in tagged[ref][1]:
                if name in expected and day > last.get(name, date.min):
                    last[name] = day
    on = end - timedelta(days=1)
    testing = {name: t for name, t in known.items() if t.tests}
    tried = [(ref, [t for t in tagged[ref][1] if t in testing]) for ref in sorted(set(released_on) | backed)]
    tried = [(ref, tags) for ref, tags in tried if tags]
    outcomes = report_store.review_outcomes(session, [ref for ref, _ in tried]) if tried else {}
    results: dict[str, list[int]] = {t.label: [0, 0] for t in testing.values()}
    for ref, tags in tried:
        failed = ref in backed or outcomes.get(ref) == "unsuccessful"
        for name in tags:
            results[testing[name].label][1 if failed else 0] += 1
    routine_due, routine_missed = _routine(rt, session, period)
    return EvidenceFigures(
        evidence={group: dict(sorted(labels.items())) for group, labels in sorted(counted.items())},
        update_days=tuple(sorted(measured)),
        evidence_due=tuple((t.group, t.label, last.get(name), t.every_days or 0,
                            evidence_rules.overdue(last.get(name), t.every_days or 0, on))
                           for name, t in expected.items()),
        tests={label: (n[0], n[1]) for label, n in sorted(results.items())},
        filtering=_filtering(rt, session, since, until),
        retired=asset_store.retired_between(session, since, until),
        routine_due=routine_due, routine_missed=routine_missed,
    )


def _it_support(rt: Runtime, session: Session, moments: tuple[datetime, datetime], ats: tuple[str, str],
                moved: list[str], kind_of: Callable[[str, str], str]) -> tuple[ProviderFigures, ...]:
    """Each provider's review: from the trail of the changes its people handled."""
    since, until = moments
    at_since, at_until = ats
    people = provider_store.people_of_every_provider(session)
    if not people:
        return ()
    names = {p.id: p.name for p in provider_store.every(session)}
    handled = report_store.handled_by(session, sorted(people), since, until, moved)
    raised_at = {ref: at for ref, _, at, _ in handled}
    of = {ref: people[requester] for ref, requester, _, _ in handled}
    first_step: dict[str, datetime] = {}
    released: dict[str, datetime] = {}
    closed: set[str] = set()
    for e in report_store.transitions(session, sorted(of), at_until):
        at = datetime.fromisoformat(e.at)
        to = kind_of(e.change_ref, json.loads(e.payload).get("to", ""))
        first_step.setdefault(e.change_ref, at)
        if to == RELEASED and e.change_ref not in released:
            released[e.change_ref] = at
        if to == CLOSED and e.at >= at_since:
            closed.add(e.change_ref)
    out = []
    for provider_id in sorted(set(of.values()), key=lambda p: names.get(p, "")):
        refs = [ref for ref, p in of.items() if p == provider_id]
        respond = [(first_step[r] - raised_at[r]).total_seconds() / 86400 for r in refs
                   if r in first_step and raised_at[r] >= since]
        in_period = [r for r in refs if r in released and released[r] >= since]
        resolve = [(released[r] - raised_at[r]).total_seconds() / 86400 for r in in_period]
        sequences = report_store.window_sequences(session, sorted(in_period))
        out.append(ProviderFigures(
            names.get(provider_id, str(provider_id)), len(refs),
            round(median(respond), 2) if respond else None,
            sum(1 for r in refs if r not in first_step and raised_at[r] >= since),
            round(median(resolve), 2) if resolve else None,
            Rate(sum(1 for seq in sequences if (seq or 1) <= 1), len(sequences)),
            sum(1 for r in refs if r in closed)))
    return tuple(out)


def _filtering(rt: Runtime, session: Session, since: datetime, until: datetime) -> dict[str, int]:
    life = filtering.lifecycle(rt)
    titles = {s.trigger: s.title for s in life.steps}
    asked, decided, applied = report_store.filtering(session, since, until)
    return {"asked": asked, **{f"decided: {titles.get(d, d)}": n for d, n in decided}, "applied": applied}


def _routine(rt: Runtime, session: Session, period: Period) -> tuple[int, int]:
    """Occurrences of recurring work whose day fell in the period (to today), and how many
    of them were missed: their changes not released (or otherwise settled) by now."""
    last = min(period.end, rt.today())
    states = report_store.occurrences(session, period.start, last)
    past = set(rt.workflows.states_of_kind(*PAST_WINDOW_KINDS))
    return len(states), sum(1 for s in states if s not in past)


def _by_school(rt: Runtime, session: Session,
               counted: dict[int, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The outcomes by school name (a trust-wide change under its schools' names, joined),
    every school the reader sees listed: only when they see more than one."""
    every = schools.listed(rt, session)
    named = {s.id: s.name for s in every}
    names = Counter(named.values())
    slugs = {s.id: s.slug for s in every}
    # Two schools of one name are told apart by their short names.
    label_of = {sid: f"{name} ({slugs[sid]})" if names[name] > 1 else name for sid, name in named.items()}
    seen = school_scope.scope_of(session)
    shown = [sid for sid in named if seen is None or sid in seen]
    if len(shown) < 2:
        return {}
    out: dict[str, dict[str, int]] = {label_of[sid]: {} for sid in shown}
    for school_id, outcomes in counted.items():
        reach = school_store.reach(session, school_id) if school_id not in named else (school_id,)
        label = label_of.get(school_id) or "Trust-wide: " + " + ".join(label_of.get(s, "?") for s in reach)
        merged = out.setdefault(label, {})
        for outcome, n in outcomes.items():
            merged[outcome] = merged.get(outcome, 0) + n
    return {label: dict(sorted(outcomes.items())) for label, outcomes in out.items()}


def _committed_spend(rt: Runtime, session: Session, kinds: dict[tuple[str, str], str]) -> tuple[Spend, ...]:
    """Planned and actual cost of every change with an approval that is not withdrawn, by
    financial year, funding source and capital or revenue: summed in the database per change's
    raising moment and plan year (withdrawn changes and the capital kinds told apart there)."""
    withdrawn = [f"{wf}\n{state}" for (wf, state), kind in kinds.items() if kind == WITHDRAWN]
    rows = report_store.committed_costs(session, withdrawn, sorted(CAPITAL_KINDS))
    start = rt.settings.planning.financial_year_start
    totals: dict[tuple[str, str, bool], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    label: dict[tuple[date, int], str] = {}
    for created, offset, is_capital, source, actual, amount in rows:
        raised = (created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(rt.timezone).date()
        if (raised, offset) not in label:  # a change's years, worked out once
            label[(raised, offset)] = financial_years.labels(start, raised, offset + 1)[offset]
        key = (label[(raised, offset)], source or "not stated", bool(is_capital))
        totals[key][1 if actual else 0] += amount or 0
    return tuple(Spend(y, s, c, v[0], v[1]) for (y, s, c), v in sorted(totals.items()))


def report(
    rt: Runtime,
    *,
    actor_id: int,
    term: int | None = None,
    year: int | None = None,
    start: Any = None,
    end: Any = None,
    school: str | None = None,
) -> Report:
    """The report for the period asked for (see ``period_of``): for reports.readers; of every
    school they see, rolled up by school, or of the one ``school`` (its slug) among them."""
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        if not actor.roles & set(rt.settings.reports.readers):
            raise NotPermitted(
                "reports are for " + ", ".join(rt.roles.label(r) for r in rt.settings.reports.readers)
            )
        period = period_of(rt, session, term=term, year=year, start=start, end=end)
        narrowed, narrowed_id = "", 0
        if school and school.strip():
            mine = {s.slug: s for s in schools.schools_of(rt, session, actor)}
            found = mine.get(school.strip())
            if found is None:
                raise InvalidInput({"school": f"must be one of your schools: {', '.join(mine) or 'none'}"})
            school_scope.limit_to(session, frozenset({found.id}))
            narrowed, narrowed_id = found.name, found.id
        # Everything a report reads is recorded in the audit trail as it happens, so one
        # built at the trail's current head is still true: kept until the head moves.
        head = audit_store.head(session)
        # Each set of schools its own; each day its own (what is overdue, or missed, moves with it).
        key = (id(rt), period, head.seq, head.hash, actor.schools, narrowed_id, rt.today())
        with _KEPT_LOCK:
            if key in _KEPT:
                _KEPT.move_to_end(key)
                return _KEPT[key]
        made = replace(build(rt, session, period), school=narrowed)
    with _KEPT_LOCK:
        _KEPT[key] = made
        while len(_KEPT) > _KEPT_SIZE:
            _KEPT.popitem(last=False)
    return made


# Reports built, by runtime, period and audit head (a handful: each is a few kilobytes).
_KEPT: OrderedDict[tuple[Any, ...], Report] = OrderedDict()
_KEPT_LOCK = threading.Lock()
_KEPT_SIZE = 16


def terms(rt: Runtime, session: Session) -> list[tuple[int, str, date]]:
    """The calendar's terms, latest first: (id, title, first day)."""
    return [(r.id, r.title, r.starts_at.astimezone(rt.timezone).date()) for r in report_store.terms(session)]


def term_list(rt: Runtime, *, actor_id: int) -> list[tuple[int, str, date]]:
    with rt.db.read() as session:
        common.load_actor(rt, session, actor_id)
        return terms(rt, session)


def csv_text(report: Report) -> str:
    """Every figure as CSV (section, what, value), safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in [("Section", "What", "Value"), *report.rows()]:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def xlsx_bytes(report: Report) -> bytes:
    """Every figure as a workbook: a bold, frozen header and a column each."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Report"
    sheet.append(["Section", "What", "Value"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in report.rows():
        sheet.append([spreadsheet_safe(cell) for cell in row])
    for column, width in zip("ABC", (34, 50, 60), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
