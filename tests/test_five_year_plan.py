"""Issue: entering the five-year plan was slow: four blank rows, "save to get more rows", no
running totals, errors under the table without the field marked, years 1–5 instead of the
school's financial years, no totals by funding."""

from __future__ import annotations

from datetime import date

import pytest

from fitsflow.config import load_settings
from fitsflow.domain.errors import ConfigError
from fitsflow.domain.financial_years import labels
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app


def test_plan_years_are_the_schools_financial_years() -> None:
    assert labels("04-01", date(2026, 12, 3), 5) == ["2026–27", "2027–28", "2028–29", "2029–30", "2030–31"]
    assert labels("04-01", date(2027, 3, 31), 2) == ["2026–27", "2027–28"]
    assert labels("09-01", date(2026, 9, 1), 1) == ["2026–27"]
    assert labels("01-01", date(2026, 6, 1), 2) == ["2026", "2027"]
    with pytest.raises(ConfigError, match="planning.financial_year_start"):
        load_settings(environ={"FITSFLOW_PLANNING_FINANCIAL_YEAR_START": "13-40"})


def test_the_whole_plan_in_one_save_with_totals_and_errors_at_the_field(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.requester])
    url = f"/changes/{ref}/stage/finance"
    page = client.get(url).get_data(as_text=True)
    first = rt.plan_years(changes_service.get_change(rt, actor_id=school.requester,
                                                     ref=ref).change.created_at, 5)
    for i in range(5):  # a row for every year from the start, named by its financial year
        assert f'<option value="{i + 1}" selected>{i + 1} · {first[i]}</option>' in page
    assert 'name="rows" value="7"' in page
    token = csrf_token(client, url)
    form = {
        "csrf_token": token,
        "rows": "7",
        "kind-0": "capital",
        "amount-0": "6000",
        "funding_source-0": "Devolved capital",
    }
    for i in range(5):
        form[f"year-{i}"] = str(i + 1)
    for i in range(1, 5):
        form |= {f"kind-{i}": "licence", f"amount-{i}": "500", f"funding_source-{i}": "ICT budget"}
    more = client.post(url, data={**form, "add_line": "1"})
    html = more.get_data(as_text=True)
    # Another row and the totals so far; nothing saved.
    assert more.status_code == 200 and 'name="rows" value="8"' in html
    assert "£8,000.00" in html and 'Capital</th><td class="num">£6,000.00' in html and "ICT budget" in html
    assert changes_service.get_change(rt, actor_id=school.requester, ref=ref).plan.lines == ()
    wrong = client.post(url, data={**form, "amount-2": "lots"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert (
        'id="amount-2" name="amount-2" value="lots" inputmode="decimal" size="10" aria-invalid="true"' in html
    )
    assert 'id="err-amount-2"' in html
    saved = client.post(url, data=form)
    assert saved.status_code == 302
    plan = changes_service.get_change(rt, actor_id=school.requester, ref=ref).plan
    assert len(plan.lines) == 5 and sum(plan.total_by_year()) == 8000
