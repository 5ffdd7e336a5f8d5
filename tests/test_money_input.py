"""Issue 22.5: "2.100,00" was read as £2.10 without a word. Money is read as a UK school
types it — "2100", "2,100", "£2,100.50", "99.5" — and what could be read two ways is refused
with a message saying how to write it, on every form and filter that takes an amount."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fitsflow.domain.errors import InvalidInput
from fitsflow.domain.stages import amount_problem, parse_amount
from fitsflow.services import change_search

from . import factories as f


@pytest.mark.parametrize(("typed", "pounds"), [
    ("2100", "2100.00"), ("2,100", "2100.00"), ("£2,100", "2100.00"), ("£ 2,100.50", "2100.50"),
    ("2100.50", "2100.50"), ("99.5", "99.50"), ("0", "0.00"), ("12,345,678.90", "12345678.90"),
    (2100, "2100.00"), (99.5, "99.50"), (Decimal("7.25"), "7.25"),
])
def test_amounts_a_school_types_are_read(typed, pounds):
    assert parse_amount(typed) == Decimal(pounds) and amount_problem(typed) is None


@pytest.mark.parametrize(("typed", "says"), [
    ("2.100,00", "ambiguous"), ("2,10", "ambiguous"), ("1.234.567", "ambiguous"), ("99.999", "ambiguous"),
    ("12.3456", "more than two decimal places"), ("-5", "negative"), ("lots", "such as 2100"),
    ("1,00,000", "such as 2100"), ("£1e3", "such as 2100"), (True, "such as 2100"), ("", "such as 2100"),
])
def test_what_could_be_read_two_ways_is_refused_with_a_reason(typed, says):
    assert parse_amount(typed) is None
    assert says in (amount_problem(typed) or "")


def test_the_financial_plan_and_the_register_filter_say_why(rt):
    from fitsflow.services import stages

    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    with pytest.raises(InvalidInput) as err:
        stages.record_financial_plan(rt, actor_id=school.requester, ref=ref,
                                     lines=[{"year": "1", "kind": "capital", "amount": "2.100,00"}])
    assert any("ambiguous" in m for m in err.value.problems.values())
    stages.record_financial_plan(rt, actor_id=school.requester, ref=ref,
                                 lines=[{"year": "1", "kind": "capital", "amount": "£2,100"}])
    with pytest.raises(InvalidInput) as err:
        change_search.parse(rt, {"cost_min": "2.100,00"})
    assert "ambiguous" in err.value.problems["cost_min"]
    over = change_search.parse(rt, {"cost_min": "£2,000"})
    found = change_search.find(rt, actor_id=school.cab[0], filters=over)
    assert [c.ref for c in found.items] == [ref]
