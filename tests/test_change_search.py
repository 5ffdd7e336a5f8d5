"""Issue: there was no text search anywhere, no cost filter, and a reversed date range
silently showed nothing. One service (SQLite FTS5, PostgreSQL full text) now finds changes
by reference, title, description, needs, services and comments, with filters that combine
and say plainly when they are wrong."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from fitsflow.domain.errors import InvalidInput
from fitsflow.persistence import search_store
from fitsflow.services import auth, catalogue, change_search, gates, stages
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, login, make_app


def _find(rt, school, **raw):  # type: ignore[no-untyped-def]
    filters = change_search.parse(rt, {k: str(v) for k, v in raw.items()})
    return change_search.find(rt, actor_id=school.cab[0], filters=filters, limit=100)


def _refs(rt, school, **raw) -> list[str]:  # type: ignore[no-untyped-def]
    return [found.ref for found in _find(rt, school, **raw).items]


def test_words_are_found_wherever_they_were_written(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    catalogue.save_service(rt, actor_id=None, name="Wi-Fi")
    wifi = changes_service.raise_change(
        rt,
        actor_id=school.requester,
        title="Replace access points",
        category="minor",
        description="The sports hall has no coverage",
        affected_services=["Wi-Fi"],
    ).ref
    other = changes_service.raise_change(rt, actor_id=school.requester, title="New projector",
                                         category="minor").ref
    assert _refs(rt, school, q="access") == [wifi]
    assert _refs(rt, school, q="sports hall") == [wifi]  # every word, anywhere
    assert _refs(rt, school, q="acc poi") == [wifi]  # words may be the start of one
    assert _refs(rt, school, q="wifi") == [wifi] or _refs(rt, school, q="fi") == [wifi]
    assert _refs(rt, school, q=other.lower()) == [other]  # the reference
    assert _refs(rt, school, q="sports projector") == []
    # The needs analysis and a decision's comment are searched once they are written.
    stages.record_needs(
        rt, actor_id=school.requester, ref=other, data={**f.NEEDS, "need": "Faded lamp in D14"}
    )
    assert _refs(rt, school, q="faded") == [other]
    ref = f.change_in(rt, school, "minor", "implement_approval", title="Laptop trolley")
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="reject", comment="Needs a charging rota")
    assert _refs(rt, school, q="rota") == [ref]
    # What a person types never reaches the engine as query syntax.
    for odd in ('"', "NEAR(a b)", "a OR b", "*", "access)", "-(", "title:x", "' OR 1=1 --"):
        assert isinstance(_refs(rt, school, q=odd), list)


def test_filters_combine_and_say_what_is_wrong(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    costly = f.change_in(rt, school, "minor", "release_planning", title="Costed")  # £1,700 planned
    cheap = changes_service.raise_change(rt, actor_id=school.requester, title="Not costed",
                                         category="minor").ref
    big = f.change_in(rt, school, "significant", "needs_analysis", title="Planning only")
    assert set(_refs(rt, school, cost_min="1000")) == {costly}
    assert set(_refs(rt, school, cost_max="100")) == {cheap, big}
    assert set(_refs(rt, school, cost_min="1700", cost_max="1700.00")) == {costly}
    assert set(_refs(rt, school, phase="planning", category="minor")) == {costly, cheap}
    assert _refs(rt, school, sort="-cost")[0] == costly
    today = rt.today()
    assert (
        len(_refs(rt, school, created_from=today - timedelta(days=1), created_to=today + timedelta(days=1)))
        == 3
    )
    assert _refs(rt, school, created_from=today + timedelta(days=2)) == []
    with pytest.raises(InvalidInput) as wrong:
        change_search.parse(
            rt,
            {
                "created_from": "2026-12-10",
                "created_to": "2026-12-01",
                "cost_min": "lots",
                "phase": "later",
                "sort": "colour",
            },
        )
    assert set(wrong.value.problems) == {"created_to", "cost_min", "phase", "sort"}
    assert "before the start" in wrong.value.problems["created_to"]


def test_the_right_change_among_a_thousand_and_pages_of_five_hundred(sqlite_rt) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = f.School(rt)
    needle = f.haystack(rt, school)
    assert _refs(rt, school, q="arbor") == [needle]
    assert _refs(rt, school, q="keyboard migrate") == []
    page = change_search.find(
        rt, actor_id=school.cab[0], filters=change_search.ChangeFilter(), limit=500, offset=500
    )
    assert page.total == 1000 and len(page.items) == 500 and not page.has_next
    with rt.db.transaction() as session:  # a rebuild (as migration 0028 does) gives the same answers
        session.connection().execute(text("DELETE FROM change_search"))
        assert search_store.reindex(session.connection()) == 1000
    assert _refs(rt, school, q="arbor") == [needle]


def test_the_changes_page_and_the_api_search_the_same_way(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    costly = f.change_in(rt, school, "minor", "release_planning", title="Interactive panels")
    changes_service.raise_change(rt, actor_id=school.requester, title="Printer toner", category="minor")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.auditor])
    html = client.get("/changes?q=panels&cost_min=1000").get_data(as_text=True)
    assert (
        costly in html and "Printer toner" not in html and "£1,700.00" in html and "Changes found: 1" in html
    )
    wrong = client.get("/changes?created_from=2026-12-10&created_to=2026-12-01")
    assert wrong.status_code == 400 and "before the start of the range" in wrong.get_data(as_text=True)
    token = auth.create_token(rt, user_id=school.auditor, name="t", scope="read")
    api = client.get("/api/v1/changes?q=panels&sort=-cost", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and [c["ref"] for c in api.get_json()["items"]] == [costly]
    bad = client.get("/api/v1/changes?cost_min=lots", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and "cost_min" in bad.get_data(as_text=True)
    assert (
        Decimal("1700")
        == change_search.find(rt, actor_id=school.auditor, filters=change_search.parse(rt, {"q": "panels"}))
        .items[0]
        .five_year_cost
    )


def test_a_search_lists_the_best_match_first_and_pages_through_every_match(rt) -> None:  # type: ignore[no-untyped-def]
    school = f.School(rt)
    in_passing = changes_service.raise_change(
        rt, actor_id=school.requester, title="Hall refurbishment", category="minor",
        description="New seating, lighting, curtains, staging, a sound desk and, in the end, a projector "
                    "bracket for the back wall of the hall, after the painting is finished.",
    ).ref
    about = changes_service.raise_change(rt, actor_id=school.requester, title="Projector for D14",
                                  category="minor").ref
    newest = changes_service.raise_change(rt, actor_id=school.requester, title="Laptops",
                                          category="minor").ref
    # the newest change is the most recently updated: without words, it leads
    assert _refs(rt, school)[0] == newest
    assert change_search.parse(rt, {"q": "projector"}).sort == "relevance"
    assert change_search.parse(rt, {"q": "projector"}).args() == {"q": "projector"}
    assert _refs(rt, school, q="projector") == [about, in_passing]  # the title says it: it leads
    assert _refs(rt, school, q="projector", sort="-created") == [about, in_passing]
    assert _refs(rt, school, q="projector", sort="created") == [in_passing, about]
    # the reference searched for comes first, whatever else matches its words
    assert _refs(rt, school, q=in_passing)[0] == in_passing
    # with another filter too, the same order (the register and the list combine them)
    assert _refs(rt, school, q="projector", category="minor") == [about, in_passing]
    # words alone are answered from the index: pages are disjoint and the total is exact
    for i in range(30):
        changes_service.raise_change(rt, actor_id=school.requester, title=f"Projector lamp {i}",
                                     category="minor")
    filters = change_search.parse(rt, {"q": "projector"})
    pages = [change_search.find(rt, actor_id=school.cab[0], filters=filters, limit=10, offset=o)
             for o in (0, 10, 20, 30)]
    seen = [found.ref for p in pages for found in p.items]
    assert all(p.total == 32 for p in pages) and len(seen) == 32 == len(set(seen))
    assert in_passing in seen and about in seen
    # without words, "relevance" is the most recently updated first
    assert _refs(rt, school, sort="relevance")[0] == _refs(rt, school)[0]
    # a reference is found even where the index holds nothing of it (it comes first, counted)
    key = "change_id" if rt.db.engine.dialect.name == "postgresql" else "rowid"
    with rt.db.transaction() as session:
        session.connection().execute(text(f"DELETE FROM change_search WHERE {key} = "
                                          "(SELECT id FROM changes WHERE ref = :ref)"), {"ref": about})
    assert _refs(rt, school, q=about) == [about]
    assert _find(rt, school, q=about).total == 1


def test_search_forgives_hyphens_spaces_case_and_accents(rt) -> None:  # type: ignore[no-untyped-def]
    """Issue 22.5: `wifi` found nothing while `Wi-Fi` found 30 changes. However a word is
    written — joined, hyphenated, spaced, any case, with or without accents — each spelling
    finds the same changes, in both databases, by title and by text, and ranks alike."""
    school = f.School(rt)
    hyphen = f.change_in(rt, school, "minor", "needs_analysis", title="Replace the Wi-Fi access points")
    joined = f.change_in(rt, school, "minor", "needs_analysis", title="New wifi in the sports hall")
    spaced = changes_service.raise_change(rt, actor_id=school.requester, title="Library coverage",
                                          category="minor", description="The wi fi drops in the library").ref
    accent = f.change_in(rt, school, "minor", "needs_analysis", title="Café till replaced")
    email = f.change_in(rt, school, "minor", "needs_analysis", title="E-mail filtering rules")
    f.change_in(rt, school, "minor", "needs_analysis", title="Projector in room 4")
    wifi = {hyphen, joined, spaced}
    for spelling in ("wifi", "Wi-Fi", "wi fi", "WIFI", "wi-fi", "Wi‑Fi"):
        assert set(_refs(rt, school, q=spelling)) == wifi, spelling
    for spelling in ("cafe", "café", "CAFÉ"):
        assert _refs(rt, school, q=spelling) == [accent], spelling
    for spelling in ("email", "e-mail", "e mail"):
        assert _refs(rt, school, q=spelling) == [email], spelling
    # The title matches rank first whatever the spelling: the spaced one is in the text only.
    assert _refs(rt, school, q="wifi")[-1] == spaced and _refs(rt, school, q="wi fi")[-1] == spaced
    assert set(_refs(rt, school, q="wifi access")) == {hyphen}


def test_the_whole_index_is_rebuilt_a_batch_at_a_time(rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """One IN list of every change's id overran PostgreSQL's 65,535 parameters past that many
    changes (migrations 0028 and 0040 rebuild the whole index): it is built in batches."""
    school = f.School(rt)
    refs = [f.change_in(rt, school, "minor", "needs_analysis", title=f"Projector {i}") for i in range(5)]
    monkeypatch.setattr(search_store, "REINDEX_BATCH", 2)
    with rt.db.transaction() as session:
        session.connection().execute(text("DELETE FROM change_search"))
        assert search_store.reindex(session.connection()) == 5
    assert set(_refs(rt, school, q="projector")) == set(refs)
