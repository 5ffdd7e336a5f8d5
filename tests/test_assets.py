"""Issue 25.4: assets and the register — imported from CSV or added by hand, linked to the
changes that touch them; closing a change that touches assets asks for the register's update
(added, replaced, retired, with serials); a retired device records its disposal evidence;
warranty, licence, subscription and refresh dates raise a need a configured number of school
days before each."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import GateNotSatisfied, InvalidInput, NotFound, NotPermitted
from fitsflow.persistence.models import Change
from fitsflow.services import assets, calendar, changes, renewals

from . import factories as f
from .web_support import WebSchool, login, make_app, post

CSV = """tag,name,kind,serial,location,warranty_ends,refresh_on
SW-01,Core switch,switch,SN-CORE-1,Server room,2027-03-31,2030-09-01
LT-07,Staff laptop 7,laptop,SN-LT-7,Staff room,,
"""


def _reviewed(rt, school, ref):  # type: ignore[no-untyped-def]
    """The review and its 360° feedback recorded, as the factory's path would before closing."""
    f.fill_stages(rt, school.requester, ref, ("review",), None)
    f.give_feedback(rt, ref)
    return ref


def _close(rt, school, ref):  # type: ignore[no-untyped-def]
    return changes.fire(rt, actor_id=school.requester, ref=ref, trigger="close")


def test_closing_a_replacement_retires_the_old_asset_with_its_disposal_and_adds_the_new(rt):
    school = f.School(rt)
    assert assets.import_csv(rt, actor_id=school.requester, text=CSV) == 2
    old = assets.listing(rt, actor_id=school.requester, q="SW-01").items[0]
    assert (old.serial, old.warranty_ends, old.refresh_on) == (
        "SN-CORE-1",
        date(2027, 3, 31),
        date(2030, 9, 1),
    )
    ref = _reviewed(
        rt, school, f.change_in(rt, school, "minor", "in_review", title="Replace the core switch")
    )
    linked = assets.link(rt, actor_id=school.requester, ref=ref, asset="sw-01")  # by tag, case aside
    assert [(a.id, a.link) for a in linked.assets] == [(old.id, "touches")] and not linked.updated

    # Closing asks for the register's update.
    with pytest.raises(GateNotSatisfied) as err:
        _close(rt, school, ref)
    assert any("the register's update" in m for m in err.value.missing)

    # Only the change's owners record it; a replacement names an asset the change touches.
    with pytest.raises(NotPermitted):
        assets.update_register(rt, actor_id=school.other_requester, ref=ref, action="unchanged", data={})
    with pytest.raises(InvalidInput) as bad:
        assets.update_register(
            rt,
            actor_id=school.requester,
            ref=ref,
            action="replace",
            data={"asset": "LT-07", "new_name": "New switch"},
        )
    assert "link the asset to the change first" in bad.value.problems["asset"]
    with pytest.raises(InvalidInput) as bad:
        assets.update_register(
            rt,
            actor_id=school.requester,
            ref=ref,
            action="replace",
            data={"asset": "SW-01", "new_name": "", "wiped_on": "soon"},
        )
    assert set(bad.value.problems) == {"new_name", "wiped_on"}
    assert (
        assets.get(rt, actor_id=school.requester, asset_id=old.id).asset.status == "in_use"
    )  # nothing changed

    done = assets.update_register(
        rt,
        actor_id=school.requester,
        ref=ref,
        action="replace",
        data={
            "asset": "SW-01",
            "new_name": "Core switch (2026)",
            "new_tag": "SW-02",
            "new_serial": "SN-CORE-2",
            "new_warranty_ends": "2031-12-31",
            "wiped_on": rt.today().isoformat(),
            "wiped_by": "Nat Osei",
            "certificate": "WIPE-2026-114",
            "weee": "WEEE note 5531, Recycle Ltd",
        },
    )
    by_link = {a.link: a for a in done.assets}
    assert set(by_link) == {"replaced", "added"} and done.updated and not done.unchanged
    retired = by_link["replaced"]
    assert retired.status == "retired" and retired.disposal.complete and retired.wiped_by == "Nat Osei"
    added = by_link["added"]
    assert (added.tag, added.serial, added.status, added.warranty_ends) == (
        "SW-02",
        "SN-CORE-2",
        "in_use",
        date(2031, 12, 31),
    )
    assert _close(rt, school, ref).state == "closed"
    detail = assets.get(rt, actor_id=school.auditor, asset_id=old.id)
    assert [(c[0], c[3]) for c in detail.changes] == [(ref, "Replaced")]


def test_a_retirement_without_evidence_shows_what_is_missing_until_recorded(rt):
    school = f.School(rt)
    laptop = assets.add(
        rt, actor_id=school.requester, data={"name": "Old laptop", "tag": "LT-01", "serial": "SN-1"}
    )
    ref = f.change_in(rt, school, "minor", "in_review", title="Retire old laptops")
    assets.link(rt, actor_id=school.requester, ref=ref, asset=str(laptop.id))
    with pytest.raises(InvalidInput, match="for a retired asset"):
        assets.record_disposal(rt, actor_id=school.requester, asset_id=laptop.id, data={"wiped_by": "x"})
    assets.update_register(rt, actor_id=school.requester, ref=ref, action="retire", data={"asset": "LT-01"})
    gone = assets.get(rt, actor_id=school.requester, asset_id=laptop.id).asset
    assert gone.status == "retired" and not gone.disposal.complete
    assert gone.disposal.missing() == [
        "the day its data was wiped",
        "who wiped it",
        "the wiping or destruction certificate",
        "the WEEE transfer note",
    ]
    assets.record_disposal(
        rt,
        actor_id=school.requester,
        asset_id=laptop.id,
        data={"wiped_on": rt.today().isoformat(), "wiped_by": "Tia", "certificate": "C-1", "weee": "W-1"},
    )
    assert assets.get(rt, actor_id=school.requester, asset_id=laptop.id).asset.disposal.complete
    with pytest.raises(InvalidInput, match="is retired"):  # a retired asset is never linked again
        assets.link(
            rt,
            actor_id=school.requester,
            ref=f.change_in(rt, school, "minor", "needs_analysis"),
            asset="LT-01",
        )


def test_a_change_with_no_assets_closes_as_before_and_unchanged_is_an_answer(rt):
    school = f.School(rt)
    plain = _reviewed(rt, school, f.change_in(rt, school, "minor", "in_review"))
    assert _close(rt, school, plain).state == "closed"
    asset = assets.add(rt, actor_id=school.requester, data={"name": "Projector", "tag": "PJ-1"})
    ref = _reviewed(rt, school, f.change_in(rt, school, "minor", "in_review"))
    assets.link(rt, actor_id=school.requester, ref=ref, asset="PJ-1")
    assert assets.update_register(
        rt, actor_id=school.requester, ref=ref, action="unchanged", data={}
    ).unchanged
    assert _close(rt, school, ref).state == "closed"
    assert assets.get(rt, actor_id=school.requester, asset_id=asset.id).asset.status == "in_use"
    with pytest.raises(InvalidInput, match="settled"):  # a closed change's register update is settled
        assets.update_register(rt, actor_id=school.requester, ref=ref, action="unchanged", data={})


def test_the_register_is_kept_by_the_ict_team_and_read_by_those_who_work_on_changes(rt):
    school = f.School(rt)
    with pytest.raises(NotPermitted):
        assets.add(rt, actor_id=school.cab[0], data={"name": "x"})
    with pytest.raises(NotPermitted):
        assets.listing(rt, actor_id=school.staff)
    made = assets.add(rt, actor_id=school.admin, data={"name": "Server", "tag": "SRV-1"})
    assert assets.get(rt, actor_id=school.cab[0], asset_id=made.id).asset.name == "Server"
    with pytest.raises(NotPermitted):
        assets.get(rt, actor_id=school.staff, asset_id=made.id)
    with pytest.raises(InvalidInput, match="another asset of the school has the tag"):
        assets.add(rt, actor_id=school.requester, data={"name": "Another", "tag": "srv-1"})
    with pytest.raises(NotFound):
        assets.get(rt, actor_id=school.requester, asset_id=10**15)
    edited = assets.edit(
        rt,
        actor_id=school.requester,
        asset_id=made.id,
        data={"name": "File server", "tag": "SRV-1", "licence_ends": "2027-08-31"},
    )
    assert edited.licence_ends == date(2027, 8, 31) and edited.name == "File server"


def test_a_bad_import_names_each_row_and_imports_nothing(rt):
    school = f.School(rt)
    bad = "tag,name,warranty_ends,colour\nA,x,,\n"
    with pytest.raises(InvalidInput, match="unknown column 'colour'"):
        assets.import_csv(rt, actor_id=school.requester, text=bad)
    rows = "tag,name,warranty_ends\nA-1,Laptop,31/12/2027\nA-2,,\nA-1,Again,\n"
    with pytest.raises(InvalidInput) as err:
        assets.import_csv(rt, actor_id=school.requester, text=rows)
    assert err.value.problems == {
        "row 2: warranty_ends": "must be a date (YYYY-MM-DD)",
        "row 3: name": "is required",
        "row 4: tag": "repeats row 2's",
    }
    assets.import_csv(rt, actor_id=school.requester, text="tag,name\nA-1,Laptop\n")
    with pytest.raises(InvalidInput) as err:
        assets.import_csv(rt, actor_id=school.requester, text="name,tag\nOther,a-1\n")
    assert "row 2: tag" in err.value.problems
    assert assets.listing(rt, actor_id=school.requester).total == 1


def _raised_for(rt, asset_id: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [
            (r.ref, r.title, r.state)
            for r in session.execute(
                select(Change.ref, Change.title, Change.state)
                .where(Change.title.like("Renew the %"))  # type: ignore[attr-defined]
                .order_by(Change.id)
            ).all()
        ]


def test_a_warranty_end_raises_a_need_on_the_right_school_day(rt):
    school = f.School(rt)
    ends = date(2027, 1, 29)  # a Friday in the spring term
    asset = assets.add(
        rt,
        actor_id=school.requester,
        data={"name": "Core switch", "tag": "SW-9", "serial": "SN9", "warranty_ends": ends.isoformat()},
    )
    ahead = rt.settings.assets.renewal_school_days
    with rt.db.read() as session:
        due = calendar.school_calendar(rt, session, 1).school_days_before(ends, ahead)
        school_days = calendar.school_calendar(rt, session, 1)
    # Worked out here: count back school days from the end, skipping weekends and the calendar's
    # holidays (the Christmas holiday lies between).
    day, counted = ends, 0
    while counted < ahead:
        day -= timedelta(days=1)
        if school_days.is_school_day(day):
            counted += 1
    assert due == day and due < date(2027, 1, 4)  # before the spring term began: in the autumn term
    the_day_before = due - timedelta(days=1)
    assert renewals.raise_renewals(rt, now=datetime.combine(the_day_before, time(12), rt.timezone)) == 0
    assert _raised_for(rt, asset.id) == []
    on_the_day = datetime.combine(due, time(7), rt.timezone)
    assert renewals.raise_renewals(rt, now=on_the_day) == 1
    assert renewals.raise_renewals(rt, now=on_the_day) == 0  # once, however many sweeps
    [(ref, title, state)] = _raised_for(rt, asset.id)
    assert "warranty of Core switch (SW-9)" in title and "29 Jan 2027" in title
    detail = changes.get_change(rt, actor_id=school.requester, ref=ref)
    assert detail.needs is not None and "SN9" in detail.needs.need
    linked = assets.change_assets(rt, actor_id=school.requester, ref=ref)
    assert [(a.id, a.link) for a in linked.assets] == [(asset.id, "touches")]
    # A retired asset's dates raise nothing.
    gone = assets.add(rt, actor_id=school.requester, data={"name": "Old", "warranty_ends": ends.isoformat()})
    other = f.change_in(rt, school, "minor", "in_review")
    assets.link(rt, actor_id=school.requester, ref=other, asset=str(gone.id))
    assets.update_register(
        rt, actor_id=school.requester, ref=other, action="retire", data={"asset": str(gone.id)}
    )
    assert renewals.raise_renewals(rt, now=on_the_day + timedelta(days=1)) == 0


def test_the_pages_and_the_api(rt, tmp_path):
    school = WebSchool(rt)
    app = make_app(rt, tmp_path)
    manager, teacher = app.test_client(), app.test_client()
    assert login(manager, school.emails[school.requester]).status_code == 302
    assert login(teacher, school.emails[school.staff]).status_code == 302
    made = post(
        manager,
        "/assets/new",
        {"name": "Visualiser", "tag": "VZ-1", "warranty_ends": "2028-01-01"},
        page="/assets/new",
    )
    assert made.status_code == 302
    page = manager.get("/assets?q=vz").get_data(as_text=True)
    assert "VZ-1 Visualiser" in page
    assert teacher.get("/assets").status_code == 403
    bad = post(manager, "/assets/new", {"name": "", "warranty_ends": "tomorrow"}, page="/assets/new")
    assert bad.status_code == 400 and "must be a date" in bad.get_data(as_text=True)
    ref = f.change_in(rt, school, "minor", "in_review")
    path = f"/changes/{ref}"
    assert post(manager, f"{path}/assets", {"asset": "VZ-1"}, page=path).status_code == 302
    shown = manager.get(path).get_data(as_text=True)
    assert "not recorded yet" in shown and "VZ-1 Visualiser" in shown
    refused = post(manager, f"{path}/register", {"action": "retire", "asset": "nope"}, page=path)
    assert refused.status_code == 400
    assert (
        post(
            manager,
            f"{path}/register",
            {"action": "retire", "asset": "VZ-1", "wiped_on": "2026-11-17"},
            page=path,
        ).status_code
        == 302
    )
    assert "disposal evidence missing" in manager.get(path).get_data(as_text=True)

    from fitsflow.services import auth

    headers = {"Authorization": f"Bearer {auth.create_token(rt, user_id=school.requester, name='a')}"}
    imported = manager.post("/api/v1/assets/import", json={"csv": CSV}, headers=headers)
    assert imported.status_code == 200 and imported.get_json() == {"count": 2}
    listed = manager.get("/api/v1/assets?q=SW-01", headers=headers).get_json()
    [switch] = listed["items"]
    other = f.change_in(rt, school, "minor", "in_review")
    linked = manager.post(f"/api/v1/changes/{other}/assets", json={"asset": "SW-01"}, headers=headers)
    assert linked.status_code == 200 and linked.get_json()["updated"] is False
    replaced = manager.post(
        f"/api/v1/changes/{other}/register",
        headers=headers,
        json={
            "action": "replace",
            "asset": "SW-01",
            "new": {"name": "New switch", "serial": "N-1"},
            "wiped_on": "2026-11-17",
            "wiped_by": "Nat",
            "certificate": "C",
            "weee": "W",
        },
    )
    assert replaced.status_code == 200, replaced.get_json()
    assert {a["link"] for a in replaced.get_json()["assets"]} == {"replaced", "added"}
    assert (
        manager.get(f"/api/v1/assets/{switch['id']}", headers=headers).get_json()["asset"]["status"]
        == "retired"
    )


def test_the_report_counts_assets_retired_with_and_without_disposal_evidence(rt):
    from fitsflow.services import reports

    school = f.School(rt)
    reader = f.user(rt, "auditor")
    start = rt.today()
    for tag in ("A", "B", "C"):
        assets.add(rt, actor_id=school.requester, data={"name": f"Laptop {tag}", "tag": tag})
    ref = f.change_in(rt, school, "minor", "in_review")
    for tag in ("A", "B", "C"):
        assets.link(rt, actor_id=school.requester, ref=ref, asset=tag)
    whole = {"wiped_on": start.isoformat(), "wiped_by": "Tia", "certificate": "C-9", "weee": "W-9"}
    assets.update_register(
        rt, actor_id=school.requester, ref=ref, action="retire", data={"asset": "A", **whole}
    )
    assets.update_register(
        rt, actor_id=school.requester, ref=ref, action="retire", data={"asset": "B", **whole, "weee": ""}
    )
    report = reports.report(
        rt, actor_id=reader, start=start.isoformat(), end=(start + timedelta(days=1)).isoformat()
    )
    assert report.retired == (1, 1)  # C is still in use
    assert ("assets retired", "without disposal evidence", "1") in report.rows()


def test_the_register_is_updated_once_released_and_a_tag_of_digits_is_the_tags(rt):
    school = f.School(rt)
    first = assets.add(rt, actor_id=school.requester, data={"name": "First"})
    tagged = assets.add(
        rt, actor_id=school.requester, data={"name": "Tagged by number", "tag": str(first.id)}
    )
    early = f.change_in(rt, school, "minor", "needs_analysis")
    linked = assets.link(rt, actor_id=school.requester, ref=early, asset=str(first.id))
    assert [a.id for a in linked.assets] == [tagged.id]  # the tag, not the asset numbered so
    assert not linked.may_record
    with pytest.raises(InvalidInput, match="once the change is released"):
        assets.update_register(
            rt, actor_id=school.requester, ref=early, action="retire", data={"asset": str(first.id)}
        )
    assert assets.get(rt, actor_id=school.requester, asset_id=tagged.id).asset.status == "in_use"
    done = f.change_in(rt, school, "minor", "in_review")
    assets.link(rt, actor_id=school.requester, ref=done, asset=str(first.id))
    assert assets.change_assets(rt, actor_id=school.requester, ref=done).may_record
    assets.update_register(
        rt, actor_id=school.requester, ref=done, action="retire", data={"asset": str(first.id)}
    )
    with pytest.raises(InvalidInput, match="not unchanged"):
        assets.update_register(rt, actor_id=school.requester, ref=done, action="unchanged", data={})


def test_a_file_the_csv_reader_cannot_read_is_refused_by_name(rt):
    school = f.School(rt)
    with pytest.raises(InvalidInput, match="is not a CSV file this can read"):
        assets.import_csv(rt, actor_id=school.requester, text="tag,name\nA," + "x" * 200_000 + "\n")


def test_a_tag_is_the_schools_once_whatever_its_case_and_script(rt):
    school = f.School(rt)
    assets.add(rt, actor_id=school.requester, data={"name": "Screen", "tag": "ÉCRAN-1"})
    with pytest.raises(InvalidInput, match="another asset of the school has the tag"):
        assets.add(rt, actor_id=school.requester, data={"name": "Screen again", "tag": "écran-1"})
    with pytest.raises(InvalidInput, match="already has an asset tagged"):
        assets.import_csv(rt, actor_id=school.requester, text="tag,name\nécran-1,Another\n")
    other = assets.add(rt, actor_id=school.requester, data={"name": "Other", "tag": "OTHER-1"})
    with pytest.raises(InvalidInput, match="another asset of the school has the tag"):
        assets.edit(
            rt, actor_id=school.requester, asset_id=other.id, data={"name": "Other", "tag": "Écran-1"}
        )
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    assert [a.tag for a in assets.link(rt, actor_id=school.requester, ref=ref, asset="écran-1").assets] == [
        "ÉCRAN-1"
    ]
    # Many assets have no tag at all: none of them clash.
    assert assets.import_csv(rt, actor_id=school.requester, text="name\nA\nB\n") == 2


def test_every_workflow_that_closes_a_change_asks_for_the_register(rt):
    """No workflow closes a change round the register's update: each step into a closed state
    (or, for an emergency, into the CAB's retrospective that closes it) carries the guard."""
    from fitsflow.domain.vocabulary import CLOSED

    for workflow in rt.workflows:
        definition = workflow.definition
        closing = [t for t in definition.transitions if definition.kind_of(t.dest) == CLOSED]
        for t in closing:
            guarded = "register_updated" in t.guards or any(
                "register_updated" in before.guards
                for before in definition.transitions
                if before.dest in t.sources
            )
            assert guarded, f"{definition.name}: {t.trigger} closes a change without the register's update"
