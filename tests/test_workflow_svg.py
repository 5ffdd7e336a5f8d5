"""Issue: the workflow picture was a text list at the bottom of the page, and Admin →
Workflows marked the first state "(now)". It is now an SVG drawn by the server."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from fitsflow.workflow import load_directory, shipped_directory, svg

from . import factories as f
from .web_support import WebSchool, login, make_app

NS = "{http://www.w3.org/2000/svg}"


def _fits():  # type: ignore[no-untyped-def]
    return next(d for d in load_directory(shipped_directory()) if d.name == "fits-change")


def test_phases_columns_gates_the_current_state_and_the_path_taken() -> None:
    definition = _fits()
    picture = ET.fromstring(
        svg.render(
            definition,
            "release_planning",
            {"needs_analysis", "financial_planning", "proceed_approval", "release_planning"},
        )
    )
    assert picture.get("role") == "img" and picture.get("viewBox")
    phases = [t.text for t in picture.iter(f"{NS}text") if t.get("class") == "wf-phase"]
    assert phases == ["Planning", "Delivery", "Review"]
    groups = {
        "".join(t.text or "" for t in g.iter(f"{NS}text")): g.get("class") for g in picture.iter(f"{NS}g")
    }
    assert groups["Release planning"] == "wf-state visited current"
    assert groups["Needs analysis"] == "wf-state visited"
    assert "current" not in groups["Scheduled"] and "visited" not in groups["Scheduled"]
    gates = [g for g in picture.iter(f"{NS}g") if any(r.get("class") == "gate" for r in g.iter(f"{NS}rect"))]
    assert len(gates) == len(definition.gates)
    moves = [p for p in picture.iter(f"{NS}path") if "wf-move" in (p.get("class") or "")]
    assert len(moves) == sum(len(t.sources) for t in definition.transitions)
    assert sum("taken" in (p.get("class") or "") for p in moves) >= 3
    desc = picture.find(f"{NS}desc")
    assert desc is not None and "Release planning (now)" in (desc.text or "")


def test_titles_are_escaped() -> None:
    import dataclasses

    definition = _fits()
    state = dataclasses.replace(definition.states["closed"], title='<script>alert("x")</script>')
    odd = dataclasses.replace(definition, states={**definition.states, "closed": state})
    drawn = svg.render(odd)
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    ET.fromstring(drawn)


def test_the_change_page_and_admin_show_the_picture(sqlite_rt, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rt = sqlite_rt
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "release_planning")
    client = make_app(rt, tmp_path).test_client()
    login(client, school.emails[school.admin])
    page = client.get(f"/changes/{ref}").get_data(as_text=True)
    assert '<svg class="workflow-svg"' in page and "wf-state visited current" in page
    admin = client.get("/admin/workflows").get_data(as_text=True)
    assert admin.count('<svg class="workflow-svg"') == len(list(rt.workflows))
    assert "current" not in admin.split('<svg class="workflow-svg"', 1)[1].split("</svg>")[0].replace(
        "wf-state", ""
    )
    assert "(now)" not in admin
