"""Every role's journey through the pages, with Flask's test client."""

from __future__ import annotations

import io
import re

import pytest

from fitsflow.services import changes as changes_service
from fitsflow.services import users as users_service

from . import factories as f
from .web_support import WebSchool, login, make_app, post


@pytest.fixture
def site(rt, tmp_path):  # type: ignore[no-untyped-def]
    school = WebSchool(rt)
    return make_app(rt, tmp_path), school


def client_for(app, school, uid):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert login(client, school.emails[uid]).status_code == 302
    return client


def test_requester_raises_plans_and_submits(site):
    app, school = site
    from fitsflow.services import catalogue

    catalogue.load_demo(app.extensions["fitsflow"])
    me = client_for(app, school, school.requester)
    page = me.get("/changes/new").get_data(as_text=True)
    assert 'name="affected_services" value="Wi-Fi"' in page  # chosen from the catalogue
    r = post(me, "/changes/new", {"title": "Wi-Fi in the sports hall", "category": "minor",
                                  "description": "x", "affected_services": "Sports hall Wi-Fi"},
             page="/changes/new")
    assert r.status_code == 400 and "unknown service Sports hall Wi-Fi" in r.get_data(as_text=True)
    r = post(me, "/changes/new", {"title": "Wi-Fi in the sports hall", "category": "minor",
                                  "description": "**Coverage** for PE", "affected_services": "Wi-Fi"})
    assert r.status_code == 302
    ref = r.headers["Location"].rsplit("/", 1)[1]
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Needs analysis" in page and "no needs analysis" in page and "<strong>Coverage</strong>" in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # The form marks what the gates will ask for before anything is saved (issue 22.4).
    form_page = me.get(f"/changes/{ref}/stage/needs").get_data(as_text=True)
    assert form_page.count("<strong>needed for approval</strong>") == 3  # the note, stakeholders, options
    r = post(me, f"/changes/{ref}/stage/needs", {"version": version, "need": "Coverage for PE lessons",
                                                 "stakeholders": "Head of PE\nSite manager",
                                                 "options_considered": "Mesh; cabled APs",
                                                 "screening.personal_data": "none",
                                                 "screening.safeguarding": "no"})
    assert r.status_code == 302
    refused = post(me, f"/changes/{ref}/actions/complete_needs")
    assert refused.status_code == 409 and "no success measure" in refused.get_data(as_text=True)
    assert "needed before the change leaves needs analysis" in form_page
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = post(me, f"/changes/{ref}/stage/needs", {"version": version, "need": "Coverage for PE lessons",
                                                 "stakeholders": "Head of PE\nSite manager",
                                                 "options_considered": "Mesh; cabled APs",
                                                 "screening.personal_data": "none",
                                                 "screening.safeguarding": "no",
                                                 "measure_1_statement": "Signal in every corner of the hall",
                                                 "measure_1_method": "A walk with a phone",
                                                 "measure_1_check_by": "31/03/2027"})
    assert r.status_code == 400 and "must be a date such as 2027-03-31" in r.get_data(as_text=True)
    r = post(me, f"/changes/{ref}/stage/needs", {"version": version, "need": "Coverage for PE lessons",
                                                 "stakeholders": "Head of PE\nSite manager",
                                                 "options_considered": "Mesh; cabled APs",
                                                 "screening.personal_data": "none",
                                                 "screening.safeguarding": "no",
                                                 "measure_1_statement": "Signal in every corner of the hall",
                                                 "measure_1_method": "A walk with a phone",
                                                 "measure_1_check_by": "2027-03-31"})
    assert r.status_code == 302
    assert post(me, f"/changes/{ref}/actions/complete_needs").status_code == 302
    form = {"rows": "6"}
    for i, year in enumerate(range(1, 6)):
        form.update({f"year-{i}": str(year), f"kind-{i}": "licence", f"amount-{i}": "250",
                     f"funding_source-{i}": "ICT budget"})
    form.update({"year-5": "1", "kind-5": "capital", "amount-5": "4,000", "funding_source-5": "Capital"})
    assert post(me, f"/changes/{ref}/stage/finance", form).status_code == 302
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "total cost of ownership £5,250.00" in page
    # £5,250 is more than a minor change may cost: the page says why and what it must be.
    assert "this change cannot be minor: it costs £5,250.00 over five years" in page
    assert "It must be significant" in page and "above £2,000.00 over five years" in page
    assert post(me, f"/changes/{ref}/actions/submit_proceed").status_code == 409
    r = post(me, f"/changes/{ref}/category", {"category": "significant", "reason": "Cost"})
    assert r.status_code == 302
    r = post(me, f"/changes/{ref}/actions/submit_proceed")
    assert r.status_code == 302
    assert "Awaiting approval to proceed" in me.get(f"/changes/{ref}").get_data(as_text=True)


def test_stage_form_errors_are_shown_by_field_and_change_nothing(site):
    app, school = site
    ref = f.change_in(app.extensions["fitsflow"], school, "minor", "financial_planning")
    me = client_for(app, school, school.requester)
    before = f.counts(app.extensions["fitsflow"])
    r = post(me, f"/changes/{ref}/stage/finance", {"rows": "1", "year-0": "1", "kind-0": "capital",
                                                   "amount-0": "lots"})
    assert r.status_code == 400
    assert "line 1 amount: must be an amount" in r.get_data(as_text=True)
    assert f.counts(app.extensions["fitsflow"]) == before


def test_gate_blocked_action_explains_what_is_missing(site):
    app, school = site
    ref = f.change_in(app.extensions["fitsflow"], school, "minor", "release_planning")
    me = client_for(app, school, school.requester)
    r = post(me, f"/changes/{ref}/actions/submit_implement")
    text = r.get_data(as_text=True)
    assert r.status_code == 409 and "no back-out plan" in text and "no test plan" in text
    r = post(me, f"/changes/{ref}/actions/release")
    text = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "Possible now: Submit for approval to implement, Withdraw the change" in text


def test_approver_queue_decision_and_full_picture(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    ref = f.change_in(rt, school, "significant", "proceed_approval")
    slt = client_for(app, school, school.slt)
    home = slt.get("/").get_data(as_text=True)
    assert re.search(r"Awaiting my decision <span class=\"count\">1</span>", home)
    page = slt.get(f"/changes/{ref}").get_data(as_text=True)
    for needed in ("Needs analysis", "Cost by year", "Approve", "Reject", "Approval to proceed"):
        assert needed in page
    r = post(slt, f"/changes/{ref}/decision", {"decision": "reject"})
    assert r.status_code == 400 and "a reason is required to reject" in r.get_data(as_text=True)
    r = post(slt, f"/changes/{ref}/decision", {"decision": "approve", "comment": "Good value"})
    assert r.status_code == 302
    page = slt.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Good value" in page and "you have already decided at this gate" in page
    assert "Awaiting my decision <span class=\"count\">0</span>" in slt.get("/").get_data(as_text=True)


def test_own_change_has_no_decision_button_and_the_server_refuses(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    both = users_service.add_user(rt, name="Both", email="both@test.school", roles="requester finance",
                             password="correct horse battery")
    school.emails[both] = "both@test.school"
    ref = changes_service.raise_change(rt, actor_id=both, title="Mine", category="minor").ref
    f.fill_stages(rt, both, ref, ("needs",))
    changes_service.fire(rt, actor_id=both, ref=ref, trigger="complete_needs")
    f.fill_stages(rt, both, ref, ("finance",))
    changes_service.fire(rt, actor_id=both, ref=ref, trigger="submit_proceed")
    me = client_for(app, school, both)
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert 'value="approve"' not in page and "nobody may decide on their own change" in page
    r = post(me, f"/changes/{ref}/decision", {"decision": "approve"})
    assert r.status_code == 403


def test_stale_decision_is_a_409_page(site):
    app, school = site
    ref = f.change_in(app.extensions["fitsflow"], school, "major", "implement_approval")
    version = f.snapshot(app.extensions["fitsflow"], ref)[1]
    first, second = (client_for(app, school, uid) for uid in school.cab)
    r = post(first, f"/changes/{ref}/decision", {"decision": "approve", "version": version})
    assert r.status_code == 302  # another's vote leaves the page current …
    from fitsflow.services import ownership

    rt = app.extensions["fitsflow"]
    ownership.add_co_owner(rt, actor_id=school.requester, ref=ref,
                           email=school.emails[school.other_requester])  # … an edit of it does not
    r = post(second, f"/changes/{ref}/decision",
             {"decision": "approve", "version": version, "comment": "Checked the back-out plan"})
    html = r.get_data(as_text=True)
    # The card again as the change is now, saying why, with the comment kept to resubmit.
    assert r.status_code == 409 and "Someone acted on this change while you were deciding" in html
    assert ">Checked the back-out plan</textarea>" in html and 'value="approve"' in html


def test_a_reject_without_a_reason_keeps_the_card_and_what_was_typed(site):
    app, school = site
    ref = f.change_in(app.extensions["fitsflow"], school, "minor", "implement_approval")
    cab = client_for(app, school, school.cab[0])
    card = cab.get(f"/changes/{ref}").get_data(as_text=True)
    # The facts sit on the card with the buttons, above the stage details.
    assert card.index('id="decide"') < card.index("Planned cost over") and "£1,700.00" in card
    assert "capital £1,200.00" in card and "revenue £500.00" in card and "Risk</dt><dd>low" in card
    r = post(cab, f"/changes/{ref}/decision", {"decision": "reject", "comment": "   "})
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "Your decision was not recorded" in html and 'aria-invalid="true"' in html
    assert f.snapshot(app.extensions["fitsflow"], ref)[0] == "implement_approval"
    r = post(cab, f"/changes/{ref}/decision", {"decision": "reject", "comment": "No test plan for exams"})
    assert r.status_code == 302
    requester = client_for(app, school, school.requester)
    page = requester.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Sent back at approval to implement" in page and "No test plan for exams" in page


def test_auditor_reads_everything_and_sees_the_chain(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    ref = f.change_in(rt, school, "minor", "closed")
    auditor = client_for(app, school, school.auditor)
    page = auditor.get("/audit").get_data(as_text=True)
    assert "Audit trail verified up to seq" in page and ref in page
    filtered = auditor.get("/audit?state=closed&category=minor").get_data(as_text=True)
    assert ref in filtered
    assert ref not in auditor.get("/audit?state=scheduled").get_data(as_text=True)
    change = auditor.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Timeline" in change and 'value="approve"' not in change
    # The history in words: titles of actions, states and gates, never event or trigger names.
    assert "Approved at Approval to implement" in change and "approval.decided" not in change
    assert "Submit for approval to proceed" in change or "Financial planning → " in change
    assert "complete_needs" not in change and "stage.needs" not in change
    assert "Needs analysis edited" in change and "need: (empty) → " in change
    csv_export = auditor.get(f"/audit/export.csv?change={ref}")
    assert csv_export.status_code == 200 and csv_export.mimetype == "text/csv"
    assert csv_export.get_data(as_text=True).startswith("seq,at,actor")
    assert auditor.get("/audit/export.json").get_json()[0]["seq"] == 1


def test_admin_imports_staff_with_per_line_errors(site):
    app, school = site
    admin = client_for(app, school, school.admin)
    token_page = "/admin/users"
    bad = b"name,email,roles,audiences\nA,a@s.example,requester,staff\nB,nope,,staff\n"
    from .web_support import csrf_token

    r = admin.post("/admin/import", data={"csrf_token": csrf_token(admin, token_page),
                                          "file": (io.BytesIO(bad), "staff.csv")},
                   content_type="multipart/form-data")
    assert r.status_code == 400 and "line 3" in r.get_data(as_text=True)
    assert "a@s.example" not in admin.get("/admin/users").get_data(as_text=True)
    good = b"name,email,roles,audiences\nA,a@s.example,requester,staff\n"
    r = admin.post("/admin/import", data={"csrf_token": csrf_token(admin, token_page),
                                          "file": (io.BytesIO(good), "staff.csv")},
                   content_type="multipart/form-data")
    preview = r.get_data(as_text=True)  # what it will do, before it does
    assert r.status_code == 200 and "1 new" in preview and "Nothing has changed yet" in preview
    assert "a@s.example" not in admin.get("/admin/users").get_data(as_text=True)
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', preview).group(1)  # type: ignore[union-attr]
    confirm = {"csrf_token": csrf_token(admin, token_page), "digest": digest, "text": good.decode(),
               "filename": "staff.csv"}
    r = admin.post("/admin/import/confirm", data=confirm)
    assert r.status_code == 302 and "a@s.example" in admin.get("/admin/users").get_data(as_text=True)
    flows = admin.get("/admin/workflows").get_data(as_text=True)
    assert "FITS change cycle" in flows and "stateDiagram-v2" in flows


def test_audience_member_sees_notices_not_changes(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    ref = f.change_in(rt, school, "minor", "scheduled")
    staff = client_for(app, school, school.staff)
    assert staff.get("/notices").status_code == 200
    assert staff.get(f"/changes/{ref}").status_code == 404
    assert staff.get("/changes").status_code == 403
    cab = client_for(app, school, school.cab[0])
    assert ref not in cab.get("/notices").get_data(as_text=True)  # nothing delivered yet
    from fitsflow.delivery.worker import Worker

    Worker(rt, email=None, webhook=None).run_once()
    assert ref in cab.get("/notices").get_data(as_text=True)  # support audience heard of the schedule


def test_release_notice_reaches_staff_who_acknowledge_and_the_requester_sees_it(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    from fitsflow.services import notices

    ref = f.change_in(rt, school, "minor", "scheduled")
    requester = client_for(app, school, school.requester)
    page = requester.get(f"/changes/{ref}").get_data(as_text=True)
    assert "Release notices" in page and "/notices/" in page
    staff_notice = [n for n in notices.notices_for(rt, actor_id=school.requester, ref=ref)
                    if n.audience == "staff"][0]
    r = post(requester, f"/changes/{ref}/notices/{staff_notice.id}",
             {"subject": "New PCs in IT1", "body": "Log in as usual. Ask the helpdesk."})
    assert r.status_code == 302
    from datetime import UTC, datetime

    notices.publish_due(rt, now=datetime(2100, 1, 1, tzinfo=UTC))
    staff = client_for(app, school, school.staff)
    listing = staff.get("/notices").get_data(as_text=True)
    assert "New PCs in IT1" in listing and "Read and understood" in listing
    printable = staff.get(f"/notices/{staff_notice.id}")
    assert printable.status_code == 200 and "Log in as usual" in printable.get_data(as_text=True)
    assert post(staff, f"/notices/{staff_notice.id}/acknowledge").status_code == 302
    assert "You acknowledged this notice" in staff.get(f"/notices/{staff_notice.id}").get_data(as_text=True)
    page = requester.get(f"/changes/{ref}").get_data(as_text=True)
    who = f"/changes/{ref}/notices/{staff_notice.id}/acknowledgements"
    assert f'href="{who}">1</a>' in page  # the count, linking to the names
    assert "<li>Teacher</li>" in requester.get(who).get_data(as_text=True)
    other = client_for(app, school, school.finance)
    assert other.get(f"/notices/{staff_notice.id}").status_code == 404


def test_an_approver_with_two_roles_chooses_which_to_decide_in(site):
    app, school = site
    rt = app.extensions["fitsflow"]
    both = users_service.add_user(rt, name="Slt Cab", email="sltcab@test.school", roles="cab slt",
                             password="correct horse battery")
    school.emails[both] = "sltcab@test.school"
    ref = f.change_in(rt, school, "significant", "implement_approval")
    client = client_for(app, school, both)
    assert 'name="role"' in client.get(f"/changes/{ref}").get_data(as_text=True)
    assert post(client, f"/changes/{ref}/decision", {"decision": "approve", "role": "slt"}).status_code == 302
    decided = changes_service.get_change(rt, actor_id=both, ref=ref).approvals[-1]
    assert (decided.approver, decided.role) == ("Slt Cab", "slt")
