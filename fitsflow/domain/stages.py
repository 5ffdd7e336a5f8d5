"""Stage data as plain values, and the validation of what a person enters for each stage."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from . import limits
from .errors import InvalidInput
from .policy import ApprovalPolicy, Question
from .text import first_line_problem, text_field
from .vocabulary import ADOPT, CAPITAL_KINDS, COST_KINDS, MEASURE_RESULTS, PILOT_OUTCOMES, REVIEW_OUTCOMES

MAX_TEXT = limits.TEXT


@dataclass(frozen=True)
class SuccessMeasure:
    """What success looks like (a measurable statement), how and by when it will be
    checked; at the review, whether it was met (MEASURE_RESULTS; "" until then) and the
    evidence."""

    statement: str
    method: str
    check_by: date
    result: str = ""
    evidence: str = ""


@dataclass(frozen=True)
class Assessment:
    """The review's word on one success measure."""

    result: str
    evidence: str


@dataclass(frozen=True)
class Needs:
    need: str
    stakeholders: tuple[str, ...]
    sdp_priority: str
    options_considered: str
    screening: Mapping[str, str] = field(default_factory=dict)  # the policy's screening answers
    dpia_reference: str = ""
    measures: tuple[SuccessMeasure, ...] = ()


@dataclass(frozen=True)
class CostLine:
    year_offset: int
    kind: str
    amount: Decimal
    funding_source: str
    description: str = ""


@dataclass(frozen=True)
class FinancialPlan:
    horizon_years: int
    lines: tuple[CostLine, ...]

    def total_by_year(self) -> list[Decimal]:
        """Planned cost for each year of the horizon, year 1 first."""
        totals = [Decimal("0")] * self.horizon_years
        for line in self.lines:
            if 0 <= line.year_offset < self.horizon_years:
                totals[line.year_offset] += line.amount
        return totals

    def by_funding_source(self) -> list[tuple[str, Decimal]]:
        """Planned cost over the horizon by funding source, largest first."""
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            if 0 <= line.year_offset < self.horizon_years:
                source = line.funding_source or "not stated"
                totals[source] = totals.get(source, Decimal("0")) + line.amount
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))

    def capital_and_revenue(self) -> tuple[Decimal, Decimal]:
        """Planned cost over the horizon split into capital and revenue (everything else)."""
        capital = revenue = Decimal("0")
        for line in self.lines:
            if 0 <= line.year_offset < self.horizon_years:
                if line.kind in CAPITAL_KINDS:
                    capital += line.amount
                else:
                    revenue += line.amount
        return capital, revenue


@dataclass(frozen=True)
class ReleasePlan:
    window_start: datetime | None
    window_end: datetime | None
    backout_plan: str
    test_plan: str
    risk: str
    impact: str
    training: str = ""
    contact: str = ""
    risk_answers: Mapping[str, str] = field(default_factory=dict)  # the risk assessment's
    risk_score: int | None = None


@dataclass(frozen=True)
class Review:
    outcome: str
    notes: str
    actual_costs: tuple[CostLine, ...] = field(default_factory=tuple)
    # Each success measure's assessment, in the needs analysis's order ("" result: not yet).
    assessments: tuple[Assessment, ...] = ()
    # When what was bought needs refreshing or reaches its end of life (None: nothing bought).
    refresh_on: date | None = None


@dataclass(frozen=True)
class Pilot:
    """An innovation study: what it tests (the hypothesis), with whom and for how long; at its
    evaluation, what was learnt and the outcome (PILOT_OUTCOMES; "" until decided) — adopted
    as a change of ``adopt_category``."""

    hypothesis: str
    trial_group: str
    weeks: int | None
    outcome: str = ""
    learnt: str = ""
    adopt_category: str = ""


@dataclass(frozen=True)
class YearVariance:
    """One year of the plan: planned against actual, and the difference (actual − planned:
    above zero is an overspend)."""

    year: int  # 1 = the first year of the plan
    planned: Decimal
    actual: Decimal

    @property
    def variance(self) -> Decimal:
        return self.actual - self.planned


def variance_by_year(planned: Sequence[CostLine], actual: Sequence[CostLine],
                     horizon_years: int) -> tuple[YearVariance, ...]:
    """Planned against actual cost for each year of the plan's horizon."""
    def totals(lines: Sequence[CostLine]) -> list[Decimal]:
        found = [Decimal("0")] * horizon_years
        for line in lines:
            if 0 <= line.year_offset < horizon_years:
                found[line.year_offset] += line.amount
        return found

    plan, spent = totals(planned), totals(actual)
    return tuple(YearVariance(i + 1, plan[i], spent[i]) for i in range(horizon_years))


def _choice(data: Mapping[str, Any], key: str, choices: tuple[str, ...], problems: dict[str, str]) -> str:
    value = data.get(key)
    if value not in choices:
        problems[key] = f"must be one of: {', '.join(choices)}"
        return ""
    return str(value)


def _datetime(data: Mapping[str, Any], key: str, problems: dict[str, str],
              tz: tzinfo) -> datetime | None:
    """A moment in UTC; a time without an offset is the school's local time."""
    value = data.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            problems[key] = "must be a date and time such as 2026-07-20T16:00"
            return None
    if not limits.FIRST_YEAR <= value.year <= limits.LAST_YEAR:
        problems[key] = f"must be in the years {limits.FIRST_YEAR} to {limits.LAST_YEAR}"
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def _answers(data: Mapping[str, Any], key: str, questions: Sequence[Question],
             problems: dict[str, str]) -> dict[str, str]:
    """Answers to the policy's questions: each known, each question at most once; a question
    left unanswered is for the guards to name, so a stage can be saved part done."""
    raw = data.get(key) or {}
    if not isinstance(raw, Mapping):
        problems[key] = "must map each question to an answer"
        return {}
    answers: dict[str, str] = {}
    for name, value in raw.items():
        question = next((q for q in questions if q.name == name), None)
        if question is None:
            problems[f"{key}.{name}"] = "is not a question of the approval policy"
        elif value in (None, ""):
            continue
        elif not isinstance(value, str) or question.answer(value) is None:
            problems[f"{key}.{name}"] = f"must be one of: {', '.join(a.value for a in question.answers)}"
        else:
            answers[name] = value
    return answers


def parse_needs(data: Mapping[str, Any], screening: Sequence[Question] = ()) -> Needs:
    """Validate a needs analysis; raise InvalidInput naming each bad field."""
    problems: dict[str, str] = {}
    need = text_field(data, "need", problems, required=True, maximum=MAX_TEXT, lines=True)
    raw = data.get("stakeholders", ())
    if isinstance(raw, str):
        raw = [part for chunk in raw.splitlines() for part in chunk.split(",")]
    stakeholders = tuple(s.strip() for s in raw if isinstance(s, str) and s.strip())
    if len(stakeholders) > limits.STAKEHOLDERS:
        problems["stakeholders"] = f"list at most {limits.STAKEHOLDERS} stakeholders"
    elif any(len(s) > limits.STAKEHOLDER for s in stakeholders):
        problems["stakeholders"] = f"each stakeholder is at most {limits.STAKEHOLDER} characters"
    elif bad := first_line_problem(stakeholders, limits.STAKEHOLDER):
        problems["stakeholders"] = f"each stakeholder {bad}"
    sdp = text_field(data, "sdp_priority", problems, required=False, maximum=limits.SDP_PRIORITY)
    options = text_field(data, "options_considered", problems, required=False, maximum=MAX_TEXT, lines=True)
    answers = _answers(data, "screening", screening, problems)
    dpia = text_field(data, "dpia_reference", problems, required=False, maximum=limits.DPIA_REFERENCE)
    measures = parse_measures(data.get("success_measures") or (), problems)
    if problems:
        raise InvalidInput(problems)
    return Needs(need, stakeholders, sdp, options, answers, dpia, measures)


def _rows(raw: Any, key: str, problems: dict[str, str]) -> list[Mapping[str, Any]]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not all(isinstance(r, Mapping) for r in raw):
        problems[key] = "must be a list of objects"
        return []
    if len(raw) > limits.SUCCESS_MEASURES:
        problems[key] = f"at most {limits.SUCCESS_MEASURES} success measures"
        return []
    return list(raw)


def parse_measures(raw: Any, problems: dict[str, str]) -> tuple[SuccessMeasure, ...]:
    """Success measures: each a measurable statement with how and by when it will be checked
    (a row left wholly blank is skipped: a form offers empty rows)."""
    measures: list[SuccessMeasure] = []
    for index, row in enumerate(_rows(raw, "success_measures", problems), start=1):
        if not any(str(row.get(k) or "").strip() for k in ("statement", "method", "check_by")):
            continue
        prefix = f"success measure {index} "
        found: dict[str, str] = {}
        statement = text_field(row, "statement", found, required=True, maximum=limits.MEASURE_TEXT)
        method = text_field(row, "method", found, required=True, maximum=limits.MEASURE_TEXT)
        check_by = _date(row, "check_by", found)
        if check_by is None and "check_by" not in found:
            found["check_by"] = "is required: the date by which it will be checked"
        if found:
            problems.update({prefix + k: v for k, v in found.items()})
        elif check_by is not None:
            measures.append(SuccessMeasure(statement, method, check_by))
    return tuple(measures)


def _date(data: Mapping[str, Any], key: str, problems: dict[str, str]) -> date | None:
    value = data.get(key)
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        found = value
    else:
        try:
            found = date.fromisoformat(str(value).strip())
        except ValueError:
            problems[key] = "must be a date such as 2027-03-31"
            return None
    if not limits.FIRST_YEAR <= found.year <= limits.LAST_YEAR:
        problems[key] = f"must be in the years {limits.FIRST_YEAR} to {limits.LAST_YEAR}"
        return None
    return found


def parse_assessments(raw: Any, measures: Sequence[SuccessMeasure]) -> tuple[Assessment, ...]:
    """The review's word on each success measure, in their order: a result of
    MEASURE_RESULTS with its evidence, or nothing yet (both blank)."""
    problems: dict[str, str] = {}
    rows = _rows(raw, "measures", problems)
    if len(rows) > len(measures):
        problems["measures"] = f"the needs analysis has {len(measures)} success measure(s), not {len(rows)}"
    found: list[Assessment] = []
    for index, row in enumerate(rows[:len(measures)], start=1):
        prefix = f"measure {index} "
        said: dict[str, str] = {}
        result = str(row.get("result") or "").strip()
        evidence = text_field(row, "evidence", said, required=False, maximum=MAX_TEXT, lines=True)
        if result and result not in MEASURE_RESULTS:
            said["result"] = f"must be one of: {', '.join(MEASURE_RESULTS)}"
        elif result and not evidence and not said:
            said["evidence"] = "is required: say what shows it (figures, a survey, observation)"
        elif evidence and not result:
            said["result"] = f"is required with evidence: one of {', '.join(MEASURE_RESULTS)}"
        problems.update({prefix + k: v for k, v in said.items()})
        found.append(Assessment(result, evidence))
    if problems:
        raise InvalidInput(problems)
    found.extend(Assessment("", "") for _ in range(len(measures) - len(found)))
    return tuple(found)


# Pounds as a person in a UK school types them: "2100", "2,100", "£2,100.50", "99.5".
_AMOUNT = re.compile(r"£?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")


def amount_problem(value: Any) -> str | None:
    """Why this is not an amount of money, in words; None when it is one."""
    if isinstance(value, bool):
        return "must be an amount of money such as 2100, 2,100 or £2,100.50"
    if isinstance(value, int | float | Decimal):
        text = str(Decimal(str(value)))
    else:
        text = str(value).strip()
    if text.startswith("-"):
        return "must not be negative"
    if re.fullmatch(r"£?\s*\d{1,3}(\.\d{3})+(,\d{1,2})?", text) or re.fullmatch(r"£?\s*\d+,\d{1,2}", text):
        return (f"'{text}' is ambiguous: write pounds with a full stop for pence and commas (or "
                "nothing) between thousands, e.g. 2100.00 or 2,100.00")
    match = _AMOUNT.fullmatch(text)
    if match is None:
        if re.fullmatch(r"£?\s*[\d,]+\.\d{3,}", text):
            return "has more than two decimal places: give pounds and pence, e.g. 99.95"
        return "must be an amount of money such as 2100, 2,100 or £2,100.50"
    amount = Decimal(match.group(1).replace(",", "") + "." + (match.group(2) or "0"))
    if amount >= limits.AMOUNT_MAX:
        return f"must be less than £{limits.AMOUNT_MAX:,}"
    return None


def parse_amount(value: Any) -> Decimal | None:
    """An amount of money typed by a person ("1,250", "£99.5"), to the penny; None if it is
    not one (negative, too large, not a number, or ambiguous like "2.100,00": ``amount_problem``
    says why)."""
    if amount_problem(value) is not None:
        return None
    text = str(Decimal(str(value))) if isinstance(value, int | float | Decimal) else str(value).strip()
    match = _AMOUNT.fullmatch(text)
    assert match is not None
    return Decimal(match.group(1).replace(",", "") + "." + (match.group(2) or "0")).quantize(Decimal("0.01"))


def parse_cost_line(data: Mapping[str, Any], horizon_years: int, prefix: str = "") -> CostLine:
    """Validate one cost line (year is 1-based for people, stored as an offset)."""
    problems: dict[str, str] = {}
    try:
        year = int(data.get("year", 0))
    except (TypeError, ValueError):
        year = 0
    if not 1 <= year <= horizon_years:
        problems[prefix + "year"] = f"must be a year from 1 to {horizon_years}"
    kind = _choice(data, "kind", COST_KINDS, problems)
    parsed = parse_amount(data.get("amount", ""))
    if parsed is None:
        problems[prefix + "amount"] = amount_problem(data.get("amount", "")) or "must be an amount of money"
    amount = parsed if parsed is not None else Decimal("0")
    funding = text_field(data, "funding_source", problems, required=False, maximum=limits.FUNDING_SOURCE)
    description = text_field(data, "description", problems, required=False, maximum=limits.COST_DESCRIPTION)
    if problems:
        if prefix:
            problems = {k if k.startswith(prefix) else prefix + k: v for k, v in problems.items()}
        raise InvalidInput(problems)
    return CostLine(year - 1, kind, amount, funding, description)


def parse_cost_lines(rows: Sequence[Mapping[str, Any]], horizon_years: int) -> tuple[CostLine, ...]:
    """Validate every cost line; report all bad lines at once."""
    problems: dict[str, str] = {}
    lines: list[CostLine] = []
    if len(rows) > limits.COST_LINES:
        raise InvalidInput({"lines": f"at most {limits.COST_LINES} cost lines"})
    for index, row in enumerate(rows, start=1):
        try:
            lines.append(parse_cost_line(row, horizon_years, prefix=f"line {index} "))
        except InvalidInput as err:
            problems.update(err.problems)
    if problems:
        raise InvalidInput(problems)
    return tuple(lines)


def parse_release_plan(data: Mapping[str, Any], tz: tzinfo = UTC,
                       policy: ApprovalPolicy | None = None) -> ReleasePlan:
    """Validate a release plan: window, back-out plan, test plan, the risk assessment's
    answers (the level is scored from them by the policy) and impact."""
    problems: dict[str, str] = {}
    start = _datetime(data, "window_start", problems, tz)
    end = _datetime(data, "window_end", problems, tz)
    if start and end and end <= start:
        problems["window_end"] = "must be after the window start"
    backout = text_field(data, "backout_plan", problems, required=False, maximum=MAX_TEXT, lines=True)
    test_plan = text_field(data, "test_plan", problems, required=False, maximum=MAX_TEXT, lines=True)
    if data.get("risk"):
        problems["risk"] = "is scored from the risk assessment: answer its questions (risk_answers)"
    questions = policy.questions if policy else ()
    answers = _answers(data, "risk_answers", questions, problems)
    risk, score = "", None
    if policy is not None and questions and all(q.name in answers for q in questions):
        score, risk = policy.score(answers)
    impact = text_field(data, "impact", problems, required=False, maximum=MAX_TEXT, lines=True)
    training = text_field(data, "training", problems, required=False, maximum=MAX_TEXT, lines=True)
    contact = text_field(data, "contact", problems, required=False, maximum=limits.CONTACT)
    if problems:
        raise InvalidInput(problems)
    return ReleasePlan(start, end, backout, test_plan, risk, impact, training, contact, answers, score)


def parse_review(data: Mapping[str, Any], horizon_years: int,
                 measures: Sequence[SuccessMeasure] = ()) -> Review:
    """Validate a post-implementation review with its actual costs and its word on each of
    the needs analysis's success measures."""
    problems: dict[str, str] = {}
    outcome = _choice(data, "outcome", REVIEW_OUTCOMES, problems)
    notes = text_field(data, "notes", problems, required=False, maximum=MAX_TEXT, lines=True)
    actual: tuple[CostLine, ...] = ()
    try:
        actual = parse_cost_lines(list(data.get("actual_costs", [])), horizon_years)
    except InvalidInput as err:
        problems.update({f"actual_costs {k}": v for k, v in err.problems.items()})
    assessments: tuple[Assessment, ...] = ()
    try:
        assessments = parse_assessments(data.get("measures") or [], measures)
    except InvalidInput as err:
        problems.update(err.problems)
    refresh_on = _date(data, "refresh_on", problems)
    if problems:
        raise InvalidInput(problems)
    return Review(outcome, notes, actual, assessments, refresh_on)


PILOT_WEEKS_MAX = 52


def parse_pilot(data: Mapping[str, Any]) -> tuple[str, str, int | None]:
    """The pilot's design: hypothesis, trial group, duration in weeks (each may be saved
    part done; the guard names what the approval needs)."""
    problems: dict[str, str] = {}
    hypothesis = text_field(data, "hypothesis", problems, required=False, maximum=MAX_TEXT, lines=True)
    group = text_field(data, "trial_group", problems, required=False, maximum=limits.MEASURE_TEXT)
    raw = data.get("weeks")
    weeks: int | None = None
    if raw not in (None, ""):
        text = str(raw).strip()
        whole = not isinstance(raw, bool) and re.fullmatch(r"[0-9]{1,3}", text) is not None
        if not whole or not 1 <= int(text) <= PILOT_WEEKS_MAX:
            problems["weeks"] = f"must be a whole number of weeks from 1 to {PILOT_WEEKS_MAX}"
        else:
            weeks = int(text)
    if problems:
        raise InvalidInput(problems)
    return hypothesis, group, weeks


def parse_pilot_outcome(data: Mapping[str, Any], adoptable: Sequence[str]) -> tuple[str, str, str]:
    """The evaluation's outcome: adopt (as a change of one of ``adoptable``), adapt or drop,
    with what was learnt (always)."""
    problems: dict[str, str] = {}
    outcome = str(data.get("outcome") or "")
    if outcome not in PILOT_OUTCOMES:
        problems["outcome"] = f"must be one of: {', '.join(PILOT_OUTCOMES)}"
    learnt = text_field(data, "learnt", problems, required=True, maximum=MAX_TEXT, lines=True)
    category = str(data.get("adopt_category") or "") if outcome == ADOPT else ""
    if outcome == ADOPT and category not in adoptable:
        problems["adopt_category"] = f"adopting raises the full change: one of {', '.join(adoptable)}"
    if problems:
        raise InvalidInput(problems)
    return outcome, learnt, category
