"""Issue 25.5 (in part): evidence. A change's owners record what it is evidence of, from the
shipped catalogue (DfE standards, Cyber Essentials controls, RPA conditions); a template's
uses start with its tags; the report counts the evidence released in the period and, for
Cyber Essentials' security updates, the days from the vendor's release to ours, marking any
over 14 — the figures checked against values worked out here."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitsflow.config import ConfigError, load_settings
from fitsflow.domain.errors import InvalidInput, NotPermitted
from fitsflow.services import catalogue, changes, evidence, reports

from . import factories as f

pytestmark = pytest.mark.calendar

CE = "ce-security-updates"


def test_cyber_essentials_days_from_the_vendors_release(rt):
    school = f.School(rt)
    reader = f.user(rt, "auditor")
    start = rt.today()
    late = f.change_in(rt, school, "minor", "released", title="Patch the firewall (late)")
    soon = f.change_in(rt, school, "minor", "released", title="Patch the VPN")
    released = rt.today()  # both released today, on the runtime's clock
    for ref, days in ((late, 15), (soon, 13)):
        changes_view = evidence.record(rt, actor_id=school.requester, ref=ref,
                                       tags=[CE, "dfe-cyber-security"],
                                       vendor_released_on=(released - timedelta(days=days)).isoformat())
        assert changes_view.ref == ref
    report = reports.report(rt, actor_id=reader, start=start.isoformat(),
                            end=(released + timedelta(days=1)).isoformat())
    expected = sorted([(late, "Security update management (within 14 days)", released - timedelta(days=15),
                        released, 15, True),
                       (soon, "Security update management (within 14 days)", released - timedelta(days=13),
                        released, 13, False)])
    assert list(report.update_days) == expected
    assert report.evidence == {"Cyber Essentials": {"Security update management (within 14 days)": 2},
                               "DfE digital and technology standards": {"Cyber security": 2}}
    assert ("days from the vendor's release", f"{late} Security update management (within 14 days)",
            f"vendor {(released - timedelta(days=15)).isoformat()}, released {released.isoformat()}: "
            "15 days (over the limit)") in report.rows()


def test_only_owners_record_evidence_from_the_catalogue(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    with pytest.raises(NotPermitted):
        evidence.record(rt, actor_id=school.cab[0], ref=ref, tags=[CE])
    with pytest.raises(InvalidInput) as err:
        evidence.record(rt, actor_id=school.requester, ref=ref, tags=["made-up"],
                        vendor_released_on=(rt.today() + timedelta(days=3)).isoformat())
    assert set(err.value.problems) == {"tags", "vendor_released_on"}
    assert "not in the evidence catalogue: made-up" in err.value.problems["tags"]


def test_a_templates_uses_start_with_its_evidence(rt):
    school = f.School(rt)
    catalogue.save_service(rt, actor_id=None, name=f.TEMPLATE_SERVICE)
    from fitsflow.services import templates

    view = templates.propose(rt, actor_id=school.requester, data={
        "title": "Monthly restore test", "services": [f.TEMPLATE_SERVICE], "max_cost": "0",
        "steps": "Restore",
        "backout_plan": "Nothing to undo", "screening": dict(f.SCREENED_CLEAR),
        "evidence": ["rpa-offline-backups-tested"]})
    templates.act(rt, actor_id=school.cab[0], template_id=view.id, action="approve")
    made = changes.raise_change(rt, actor_id=school.requester, title="Restore test", category="standard",
                                template=view.ref, cost="0")
    found = evidence.of_ref(rt, actor_id=school.requester, ref=made.ref)
    assert [t.name for t in found.tags] == ["rpa-offline-backups-tested"]
    with pytest.raises(InvalidInput) as err:
        templates.propose(rt, actor_id=school.requester, data={
            "title": "x", "services": [f.TEMPLATE_SERVICE], "max_cost": "0", "steps": "x",
            "backout_plan": "x",
            "screening": dict(f.SCREENED_CLEAR), "evidence": ["nonsense"]})
    assert "evidence" in err.value.problems


def test_a_catalogue_of_the_schools_own_replaces_the_shipped_one(tmp_path):
    path = tmp_path / "evidence.toml"
    path.write_text('[tags.ofsted]\nlabel = "Ofsted: online safety"\ngroup = "Inspection"\n')
    settings_file = tmp_path / "fitsflow.toml"
    settings_file.write_text(f'[evidence]\ncatalogue = "{path}"\n')
    assert load_settings(settings_file, environ={}).evidence.catalogue == str(path)
    path.write_text('[tags.Bad_Name]\nlabel = "x"\n')
    with pytest.raises(ConfigError, match="evidence.catalogue: .*tags.Bad_Name: a name of lower-case"):
        load_settings(settings_file, environ={})


def test_the_governors_report_carries_the_evidence(rt):
    import io

    from pypdf import PdfReader

    from fitsflow.services import governors_pdf

    school = f.School(rt)
    reader = f.user(rt, "auditor")
    start = rt.today()
    ref = f.change_in(rt, school, "minor", "released", title="Patch the firewall")
    evidence.record(rt, actor_id=school.requester, ref=ref, tags=[CE],
                    vendor_released_on=(rt.today() - timedelta(days=20)).isoformat())
    report = reports.report(rt, actor_id=reader, start=start.isoformat(),
                            end=(rt.today() + timedelta(days=1)).isoformat())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(
        governors_pdf.render(report, school="Oak", money=rt.money))).pages)
    assert "Days from the vendor's release to ours" in text and "20 (over)" in text


BACKUPS = "rpa-offline-backups-tested"


def test_tests_regular_evidence_and_filtering_in_the_term_report(rt):
    """Restore tests passed and failed, evidence expected every so many days (last, overdue),
    and the web-filtering decisions: each figure equals one worked out here from what the test
    did."""
    import io

    from pypdf import PdfReader

    from fitsflow.services import filtering, governors_pdf

    school = f.School(rt)
    reader = f.user(rt, "auditor")
    dsl = f.user(rt, "dsl", "", "DSL")
    start = rt.today()
    passed = f.change_in(rt, school, "minor", "released", title="Termly restore test (passed)")
    failed = f.change_in(rt, school, "minor", "backed_out", title="Termly restore test (failed)")
    review = f.change_in(rt, school, "minor", "released", title="Annual filtering review")
    for ref, tags in ((passed, [BACKUPS]), (failed, [BACKUPS]), (review, ["filtering-review"])):
        evidence.record(rt, actor_id=school.requester, ref=ref, tags=tags)
    released_on = rt.today()
    asked = [filtering.ask(rt, actor_id=school.staff, data={
        "what": site, "action": "allow", "why": "Lessons", "for_whom": "Year 9", "until": ""})
        for site in ("a.example", "b.example", "c.example")]
    filtering.act(rt, actor_id=dsl, request_id=asked[0].id, trigger="agree", reason="Fine")
    filtering.act(rt, actor_id=dsl, request_id=asked[1].id, trigger="refuse", reason="Not needed")
    filtering.act(rt, actor_id=school.requester, request_id=asked[0].id, trigger="apply")

    end = released_on + timedelta(days=1)
    report = reports.report(rt, actor_id=reader, start=start.isoformat(), end=end.isoformat())
    assert report.tests == {"Offline backups, tested": (1, 1)}
    due = {label: (last, every, overdue) for _, label, last, every, overdue in report.evidence_due}
    assert due["Annual filtering and monitoring review"] == (released_on, 365, False)
    assert due["Offline backups, tested"] == (released_on, 120, False)  # the passed test was released
    assert due["Cyber response plan reviewed"] == (None, 365, True)
    assert report.filtering == {"asked": 3, "decided: Agree": 1, "decided: Refuse": 1, "applied": 1}
    rows = report.rows()
    assert ("tests", "Offline backups, tested", "1 passed, 1 failed") in rows
    assert ("web filtering", "decided: Refuse", "1") in rows
    assert ("evidence expected", "Risk Protection Arrangement (cyber cover): Cyber response plan reviewed",
            "last never, every 365 days (overdue)") in rows

    # A year and more on, the review is overdue: nothing tagged with it was released since.
    rt.clock.advance(timedelta(days=400))
    later = reports.report(rt, actor_id=reader, start=(released_on + timedelta(days=399)).isoformat(),
                           end=(released_on + timedelta(days=401)).isoformat())
    due = {label: (last, overdue) for _, label, last, _, overdue in later.evidence_due}
    assert due["Annual filtering and monitoring review"] == (None, True)
    assert later.filtering == {"asked": 0, "applied": 0}
    assert later.tests == {"Offline backups, tested": (0, 0)}

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(
        governors_pdf.render(report, school="Oak", money=rt.money))).pages)
    assert "Evidence expected regularly" in text and "Overdue" in text and "Web filtering" in text
    assert "1 passed, 1 failed" in text


def test_a_catalogue_entry_expected_regularly_is_checked(tmp_path):
    path = tmp_path / "evidence.toml"
    settings_file = tmp_path / "fitsflow.toml"
    settings_file.write_text(f'[evidence]\ncatalogue = "{path}"\n')
    for body, said in (('every_days = 0', "every_days: a whole number"),
                       ('tests = "yes"', "tests: true or false")):
        path.write_text(f'[tags.restore]\nlabel = "Restore"\n{body}\n')
        with pytest.raises(ConfigError, match=f"tags.restore.{said}"):
            load_settings(settings_file, environ={})
