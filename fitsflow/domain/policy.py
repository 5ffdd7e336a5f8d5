"""The approval policy: who must approve a change, computed from its facts — five-year
cost, assessed risk, screening answers, category — rather than from the category the
requester chose. Pure data and rules; the shipped scheme is a typical school's scheme of
delegation, and a school replaces it in its settings (``[policy]``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .vocabulary import APPROVAL_SCOPES as SCOPES
from .vocabulary import RISK_LEVELS


@dataclass(frozen=True)
class Answer:
    value: str
    label: str
    points: int


@dataclass(frozen=True)
class Question:
    """One question of the risk assessment (or screening): its answers score points."""

    name: str
    text: str
    answers: tuple[Answer, ...]

    def answer(self, value: str) -> Answer | None:
        return next((a for a in self.answers if a.value == value), None)


@dataclass(frozen=True)
class CostBand:
    """Above this five-year total, these roles approve at this gate."""

    above: Decimal
    gate: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class RiskRule:
    level: str
    gate: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class ScreeningRule:
    """An answer that brings in a specialist (and, optionally, a reference they need)."""

    question: str
    answer: str
    gate: str
    roles: tuple[str, ...]
    requires: str = ""  # a needs-analysis field that must then be filled: dpia_reference


@dataclass(frozen=True)
class CategoryLimit:
    """The most a change of this category may cost over five years and the highest risk it
    may carry; categories are listed lightest first."""

    category: str
    max_cost: Decimal | None
    max_risk: str | None


@dataclass(frozen=True)
class Tolerance:
    """An edit after approval that needs only an acknowledgement: the window alone moved, by
    at most ``window_days``, (with ``same_term``) within the same term, clear of freezes and
    clashes; ``acknowledged_by`` are the roles that acknowledge it."""

    window_days: int
    same_term: bool
    acknowledged_by: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    category: str
    five_year_cost: Decimal | None  # None: no financial plan yet
    risk: str | None  # None: not assessed yet
    answers: Mapping[str, str] = field(default_factory=dict)  # screening and risk answers
    in_trust: bool = False  # the installation holds several schools: the trust's rules apply
    trust_wide: bool = False  # it affects several schools


@dataclass(frozen=True)
class TrustRule:
    """The trust's approvers at ``gate`` for every change affecting several schools."""

    gate: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    role: str
    count: int
    why: tuple[str, ...]  # "the workflow: significant changes", "above £25,000.00 over five years"


@dataclass(frozen=True)
class ApprovalPolicy:
    cost_bands: tuple[CostBand, ...]
    risk_rules: tuple[RiskRule, ...]
    screening: tuple[ScreeningRule, ...]
    categories: tuple[CategoryLimit, ...]
    questions: tuple[Question, ...]  # the risk assessment, scored
    screening_questions: tuple[Question, ...]  # asked in the needs analysis, not scored
    medium_from: int
    high_from: int
    peer_review: tuple[str, ...]  # categories whose release plan a peer reviews
    # What each gate approves (needs, finance, release_plan, services): a material edit of
    # it after the gate has passed reopens the gate.
    approves: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tolerance: Tolerance = field(default_factory=lambda: Tolerance(0, True, ()))
    peer_review_audience: str = "support"  # whose members review release plans
    # Who approves, rejects and retires standard-change templates (one of them, not the proposer).
    template_approvers: tuple[str, ...] = ("cab",)
    # A trust's approvals above each school's own (only in an installation of several schools):
    # above a five-year cost, for any school's change; and for every trust-wide change.
    trust_cost_bands: tuple[CostBand, ...] = ()
    trust_wide: tuple[TrustRule, ...] = ()
    # The keys a school's own policy ([school_policy.SLUG]) may set for its changes.
    school_may_set: tuple[str, ...] = ()

    # --- risk ---------------------------------------------------------------------------

    def score(self, answers: Mapping[str, str]) -> tuple[int, str]:
        """Points and level for a complete set of answers."""
        points = 0
        for q in self.questions:
            found = q.answer(answers.get(q.name, ""))
            points += found.points if found else 0
        level = "high" if points >= self.high_from else "medium" if points >= self.medium_from else "low"
        return points, level

    def check_answers(self, answers: Mapping[str, str], questions: tuple[Question, ...],
                      prefix: str) -> dict[str, str]:
        """Each unanswered or unknown answer, by field name."""
        problems: dict[str, str] = {}
        for q in questions:
            given = answers.get(q.name, "")
            if not given:
                problems[f"{prefix}{q.name}"] = "answer this question"
            elif q.answer(given) is None:
                problems[f"{prefix}{q.name}"] = f"must be one of: {', '.join(a.value for a in q.answers)}"
        extra = set(answers) - {q.name for q in questions}
        for name in sorted(extra):
            problems[f"{prefix}{name}"] = "is not a question of the policy"
        return problems

    # --- approvers ----------------------------------------------------------------------

    def first_band_top(self) -> Decimal | None:
        """Where the first cost band ends (the next band's threshold): up to it an emergency
        goes ahead on its approver's word."""
        thresholds = sorted({band.above for band in self.cost_bands})
        return thresholds[1] if len(thresholds) > 1 else thresholds[0] if thresholds else None

    def emergency_requirements(self, base: Mapping[str, int], facts: Facts, money: Callable[[Decimal], str],
                               base_why: str) -> dict[str, Requirement]:
        """An emergency's approvers where the policy's rules apply to it: the workflow's own,
        and every rule of the policy, whatever gate it names — its cost bands only when the
        spend is above the first band (up to it, the emergency approver's word is enough)."""
        top = self.first_band_top()
        cost = facts.five_year_cost
        counted = cost if cost is not None and top is not None and cost > top else None
        return self.requirements(None, base, replace(facts, five_year_cost=counted), money, base_why)

    def requirements(self, gate: str | None, base: Mapping[str, int], facts: Facts,
                     money: Callable[[Decimal], str], base_why: str) -> dict[str, Requirement]:
        """Who must approve at ``gate`` (None: the rules of every gate): the workflow's
        approvers for the category (``base``) and every rule the facts meet; a role asked
        for twice counts its largest number."""
        out: dict[str, Requirement] = {}

        def need(role: str, count: int, why: str) -> None:
            have = out.get(role)
            if have is None:
                out[role] = Requirement(role, count, (why,))
            else:
                out[role] = Requirement(role, max(count, have.count), (*have.why, why))

        for role, count in base.items():
            need(role, count, base_why)
        if facts.five_year_cost is not None:
            for band in self.cost_bands:
                if gate in (None, band.gate) and facts.five_year_cost > band.above:
                    why = (f"above {money(band.above)} over five years" if band.above
                           else "any five-year cost")
                    for role in band.roles:
                        need(role, 1, why)
        if facts.risk is not None:
            for risk in self.risk_rules:
                if gate in (None, risk.gate) and risk.level == facts.risk:
                    for role in risk.roles:
                        need(role, 1, f"{facts.risk} risk")
        if facts.in_trust and facts.five_year_cost is not None:
            for band in self.trust_cost_bands:
                if gate in (None, band.gate) and facts.five_year_cost > band.above:
                    for role in band.roles:
                        need(role, 1, f"the trust: above {money(band.above)} over five years")
        if facts.trust_wide:
            for rule in self.trust_wide:
                if gate in (None, rule.gate):
                    for role in rule.roles:
                        need(role, 1, "the trust: it affects several schools")
        for screen in self.screening:
            if gate in (None, screen.gate) and facts.answers.get(screen.question) == screen.answer:
                q = next((q for q in self.screening_questions if q.name == screen.question), None)
                label = q.answer(screen.answer) if q else None
                why = f"{q.text if q else screen.question} {label.label if label else screen.answer}"
                for role in screen.roles:
                    need(role, 1, why)
        return out

    def template_approvers_for(self, answers: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
        """Who approves a standard-change template with these screening answers: one of the
        template approvers (the CAB), and each specialist a screening rule names for them (the
        DPO for new personal data, the DSL for safeguarding) — by the key its approval is kept
        under → the roles that may give it."""
        needed: dict[str, tuple[str, ...]] = {"template_approvers": self.template_approvers}
        for screen in self.screening:
            if answers.get(screen.question) == screen.answer:
                for role in screen.roles:
                    needed.setdefault(role, (role,))
        return needed

    def required_fields(self, facts: Facts) -> list[tuple[str, str]]:
        """(field, why) the screening answers make necessary: a DPIA reference for new
        processing of personal data."""
        return [(r.requires, f"{r.question} = {r.answer}") for r in self.screening
                if r.requires and facts.answers.get(r.question) == r.answer]

    # --- categories ---------------------------------------------------------------------

    def lightest_category(self, facts: Facts, served: tuple[str, ...]) -> str | None:
        """The lightest category (of those ``served``) the facts allow."""
        for limit in self.categories:
            if limit.category in served and self._fits(limit, facts):
                return limit.category
        return None

    def category_problem(self, facts: Facts, served: tuple[str, ...],
                         money: Callable[[Decimal], str]) -> str | None:
        """Why the chosen category is lighter than the facts allow (and what it must be)."""
        limit = next((c for c in self.categories if c.category == facts.category), None)
        if limit is None or self._fits(limit, facts):
            return None
        reasons = []
        if limit.max_cost is not None and facts.five_year_cost is not None \
                and facts.five_year_cost > limit.max_cost:
            reasons.append(f"it costs {money(facts.five_year_cost)} over five years and {limit.category} "
                           f"is for up to {money(limit.max_cost)}")
        if limit.max_risk is not None and facts.risk is not None \
                and RISK_LEVELS.index(facts.risk) > RISK_LEVELS.index(limit.max_risk):
            reasons.append(f"its risk is {facts.risk} and {limit.category} is for {limit.max_risk} risk "
                           "at most")
        must = self.lightest_category(facts, served)
        return (f"this change cannot be {facts.category}: {'; '.join(reasons)}"
                + (f". It must be {must} (change its category)" if must else ""))

    @staticmethod
    def _fits(limit: CategoryLimit, facts: Facts) -> bool:
        if limit.max_cost is not None and facts.five_year_cost is not None \
                and facts.five_year_cost > limit.max_cost:
            return False
        return not (limit.max_risk is not None and facts.risk is not None
                    and RISK_LEVELS.index(facts.risk) > RISK_LEVELS.index(limit.max_risk))


# --- reading it from settings -----------------------------------------------------------

class PolicyError(ValueError):
    """A bad policy setting; the message names the key."""


def _amount(value: Any, where: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PolicyError(f"{where}: must be an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise PolicyError(f"{where}: must be an amount of 0 or more, got {value!r}")
    return amount


def _roles(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(r, str) and r for r in value):
        raise PolicyError(f"{where}: must be a list of role names")
    return tuple(value)


def _text(body: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise PolicyError(f"{where}.{key}: must be text")
    return value


def _table(body: Any, where: str, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise PolicyError(f"{where}: must be a table")
    unknown = set(body) - known
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}: unknown key (known: {', '.join(sorted(known))})")
    return body


def _questions(raw: Any, where: str) -> tuple[Question, ...]:
    if not isinstance(raw, list):
        raise PolicyError(f"{where}: must be a list of [[{where}]] tables")
    out = []
    for i, body in enumerate(raw):
        key = f"{where}[{i}]"
        body = _table(body, key, {"name", "text", "answers"})
        name = _text(body, "name", key)
        answers = body.get("answers")
        if not isinstance(answers, list) or len(answers) < 2:
            raise PolicyError(f"{key}.answers: must list two or more answers")
        parsed = []
        for j, a in enumerate(answers):
            akey = f"{key}.answers[{j}]"
            a = _table(a, akey, {"value", "label", "points"})
            points = a.get("points", 0)
            if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 100:
                raise PolicyError(f"{akey}.points: must be a whole number from 0 to 100")
            parsed.append(Answer(_text(a, "value", akey), _text(a, "label", akey), points))
        if len({a.value for a in parsed}) != len(parsed):
            raise PolicyError(f"{key}.answers: values must differ")
        out.append(Question(name, _text(body, "text", key), tuple(parsed)))
    if len({q.name for q in out}) != len(out):
        raise PolicyError(f"{where}: question names must differ")
    return tuple(out)


# What a school's own policy may set at most (the trust's own rules are the trust's).
SCHOOL_KEYS = {"cost_bands", "risk_rules", "screening", "categories", "risk_questions", "screening_questions",
               "medium_from", "high_from", "peer_review", "approves", "tolerance", "peer_review_audience"}
POLICY_KEYS = {"cost_bands", "risk_rules", "screening", "categories", "risk_questions",
               "screening_questions", "medium_from", "high_from", "peer_review", "approves", "tolerance",
               "peer_review_audience", "template_approvers", "trust"}


def parse_policy(raw: Mapping[str, Any], *, roles: set[str]) -> ApprovalPolicy:
    """The ``[policy]`` settings as a policy; PolicyError names the key at fault."""
    raw = _table(raw, "policy", POLICY_KEYS)
    questions = _questions(raw.get("risk_questions", []), "policy.risk_questions")
    screening_questions = _questions(raw.get("screening_questions", []), "policy.screening_questions")

    def known_roles(value: Any, where: str) -> tuple[str, ...]:
        found = _roles(value, where)
        unknown = [r for r in found if r not in roles]
        if unknown:
            raise PolicyError(f"{where}: unknown role {', '.join(unknown)} (define it under [roles.NAME])")
        return found

    def cost_bands(given: Any, where: str) -> list[CostBand]:
        if not isinstance(given, list):
            raise PolicyError(f"{where}: must be a list of tables (above, gate, roles)")
        found = []
        for i, body in enumerate(given):
            key = f"{where}[{i}]"
            body = _table(body, key, {"above", "gate", "roles"})
            found.append(CostBand(_amount(body.get("above", "0"), f"{key}.above"), _text(body, "gate", key),
                                  known_roles(body.get("roles"), f"{key}.roles")))
        return found

    bands = cost_bands(raw.get("cost_bands", []), "policy.cost_bands")
    trust = _table(raw.get("trust", {}), "policy.trust", {"cost_bands", "trust_wide", "school_may_set"})
    may_set = trust.get("school_may_set", sorted(SCHOOL_KEYS))
    if not isinstance(may_set, list) or not set(may_set) <= SCHOOL_KEYS:
        raise PolicyError(f"policy.trust.school_may_set: must list some of {', '.join(sorted(SCHOOL_KEYS))}")
    trust_bands = cost_bands(trust.get("cost_bands", []), "policy.trust.cost_bands")
    given_rules = trust.get("trust_wide", [])
    if not isinstance(given_rules, list):
        raise PolicyError("policy.trust.trust_wide: must be a list of tables (gate, roles)")
    trust_rules = []
    for i, body in enumerate(given_rules):
        key = f"policy.trust.trust_wide[{i}]"
        body = _table(body, key, {"gate", "roles"})
        trust_rules.append(TrustRule(_text(body, "gate", key),
                                     known_roles(body.get("roles"), f"{key}.roles")))
    risks = []
    for i, body in enumerate(raw.get("risk_rules", [])):
        key = f"policy.risk_rules[{i}]"
        body = _table(body, key, {"level", "gate", "roles"})
        level = _text(body, "level", key)
        if level not in RISK_LEVELS:
            raise PolicyError(f"{key}.level: must be one of {', '.join(RISK_LEVELS)}")
        risks.append(RiskRule(level, _text(body, "gate", key),
                              known_roles(body.get("roles"), f"{key}.roles")))
    screening = []
    for i, body in enumerate(raw.get("screening", [])):
        key = f"policy.screening[{i}]"
        body = _table(body, key, {"question", "answer", "gate", "roles", "requires"})
        question, answer = _text(body, "question", key), _text(body, "answer", key)
        q = next((q for q in screening_questions if q.name == question), None)
        if q is None:
            raise PolicyError(f"{key}.question: not one of policy.screening_questions")
        if q.answer(answer) is None:
            raise PolicyError(f"{key}.answer: not an answer of the question '{question}'")
        requires = _text(body, "requires", key, default="")
        if requires not in ("", "dpia_reference"):
            raise PolicyError(f"{key}.requires: must be dpia_reference or empty")
        screening.append(ScreeningRule(question, answer, _text(body, "gate", key),
                                       known_roles(body.get("roles"), f"{key}.roles"), requires))
    categories = []
    for i, body in enumerate(raw.get("categories", [])):
        key = f"policy.categories[{i}]"
        body = _table(body, key, {"category", "max_cost", "max_risk"})
        max_risk = _text(body, "max_risk", key, default="") or None
        if max_risk is not None and max_risk not in RISK_LEVELS:
            raise PolicyError(f"{key}.max_risk: must be one of {', '.join(RISK_LEVELS)}")
        max_cost = body.get("max_cost")
        most = _amount(max_cost, f"{key}.max_cost") if max_cost is not None else None
        categories.append(CategoryLimit(_text(body, "category", key), most, max_risk))
    medium_from, high_from = raw.get("medium_from", 4), raw.get("high_from", 8)
    for name, value in (("medium_from", medium_from), ("high_from", high_from)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PolicyError(f"policy.{name}: must be a whole number of 1 or more")
    if high_from <= medium_from:
        raise PolicyError("policy.high_from: must be above policy.medium_from")
    peer = raw.get("peer_review", [])
    if not isinstance(peer, list) or not all(isinstance(c, str) for c in peer):
        raise PolicyError("policy.peer_review: must be a list of categories")
    approves: dict[str, tuple[str, ...]] = {}
    given = raw.get("approves", {})
    known = set(given) if isinstance(given, dict) else set()
    for gate, scopes in _table(given, "policy.approves", known).items():
        if not isinstance(scopes, list) or not all(s in SCOPES for s in scopes):
            raise PolicyError(f"policy.approves.{gate}: must list some of {', '.join(SCOPES)}")
        approves[gate] = tuple(scopes)
    body = _table(raw.get("tolerance", {}), "policy.tolerance",
                  {"window_days", "same_term", "acknowledged_by"})
    days, same_term = body.get("window_days", 0), body.get("same_term", True)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 60:
        raise PolicyError("policy.tolerance.window_days: must be a whole number from 0 to 60")
    if not isinstance(same_term, bool):
        raise PolicyError("policy.tolerance.same_term: must be true or false")
    acknowledged = known_roles(body.get("acknowledged_by", ["cab"]), "policy.tolerance.acknowledged_by")
    audience = raw.get("peer_review_audience", "support")
    if not isinstance(audience, str) or not audience:
        raise PolicyError("policy.peer_review_audience: must name an audience")
    template_approvers = known_roles(raw.get("template_approvers", ["cab"]), "policy.template_approvers")
    if not template_approvers:
        raise PolicyError("policy.template_approvers: name at least one role")
    return ApprovalPolicy(tuple(bands), tuple(risks), tuple(screening), tuple(categories), questions,
                          screening_questions, medium_from, high_from, tuple(peer), approves,
                          Tolerance(days, same_term, acknowledged), audience, template_approvers,
                          tuple(trust_bands), tuple(trust_rules), tuple(may_set))


def parse_school_policy(trust: Mapping[str, Any], own: Mapping[str, Any], slug: str, *,
                        roles: set[str]) -> ApprovalPolicy:
    """A school's policy: the trust's (``trust``, as written) with the keys the school sets
    (``own``) in place of the trust's, each one the trust allows (policy.trust.school_may_set);
    PolicyError names the key as ``school_policy.SLUG.KEY``."""
    where = f"school_policy.{slug}"
    own = _table(own, where, POLICY_KEYS)
    allowed = parse_policy(trust, roles=roles).school_may_set
    for key in own:
        if key not in allowed:
            raise PolicyError(f"{where}.{key}: not a key the trust lets a school set "
                              f"(policy.trust.school_may_set: {', '.join(allowed) or 'none'})")
    try:
        return parse_policy({**trust, **own}, roles=roles)
    except PolicyError as err:
        text = str(err)
        raise PolicyError(where + text[len("policy"):] if text.startswith("policy") else text) from None
