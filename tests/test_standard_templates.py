"""Issue: a "standard" change was a free category — a core-network and MIS replacement went
from raised to released with no approval. Now a standard change is raised only from a
template the CAB approved (its own workflow: proposed → active, or returned; retired), and
only within the template's cost, services and the roles it is for; every use is audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from fitsflow.domain.errors import InvalidInput, NotAllowed, NotPermitted
from fitsflow.persistence.models import AuditEvent, OutboxMessage
from fitsflow.services import auth, catalogue, templates
from fitsflow.services import changes as changes_service

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app

CONTENT = {
    "title": "Add a printer to a classroom",
    "description": "A networked printer on the curriculum VLAN",
    "services": ["Printing"],
    "max_cost": "300",
    "steps": "1. Cable\n2. Add the queue",
    "backout_plan": "Remove the queue",
    "used_by": ["requester"],
    "screening": dict(f.SCREENED_CLEAR),
}
# The same as the page's form sends it.
FORM = {**{k: v for k, v in CONTENT.items() if k != "screening"},
        **{f"screening.{q}": a for q, a in f.SCREENED_CLEAR.items()}}


def _raise(rt, school, template, cost="120", affected=("Printing",)):  # type: ignore[no-untyped-def]
    return changes_service.raise_change(
        rt,
        actor_id=school.requester,
        title="Printer in B12",
        category="standard",
        affected_services=affected,
        template=template,
        cost=cost,
    )


def _events(rt, ref):  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return [
            (e.event_type, json.loads(e.payload))
            for e in session.exec(
                select(AuditEvent).where(AuditEvent.change_ref == ref).order_by(AuditEvent.seq)
            )
        ]  # type: ignore[arg-type]


@pytest.fixture
def school(rt):  # type: ignore[no-untyped-def]
    catalogue.save_service(rt, actor_id=None, name="Printing")
    catalogue.save_service(rt, actor_id=None, name="MIS")
    return f.School(rt)


def test_a_standard_change_needs_an_approved_active_template(rt, school):
    with pytest.raises(InvalidInput) as err:
        _raise(rt, school, None)
    assert "raised from an approved template" in err.value.problems["template"]
    proposed = templates.propose(rt, actor_id=school.requester, data=CONTENT)
    with pytest.raises(InvalidInput, match="not approved yet"):
        _raise(rt, school, proposed.ref)
    templates.act(rt, actor_id=school.cab[0], template_id=proposed.id, action="approve")
    view = _raise(rt, school, proposed.ref)
    assert view.template_ref == proposed.ref and view.state == "release_planning"
    templates.act(
        rt,
        actor_id=school.cab[1],
        template_id=proposed.id,
        action="retire",
        reason="Printers are now managed by the trust",
    )
    with pytest.raises(InvalidInput, match="retired"):
        _raise(rt, school, proposed.ref)
    with pytest.raises(InvalidInput, match="no template STD-9999"):
        _raise(rt, school, "STD-9999")
    # Other categories are not raised from templates.
    with pytest.raises(InvalidInput, match="only a standard change"):
        changes_service.raise_change(
            rt, actor_id=school.requester, title="X", category="minor", template=proposed.ref
        )


def test_a_standard_change_stays_within_its_template(rt, school):
    ref = f.standard_template(rt, school, max_cost="300", services_=("Printing",))
    before = f.counts(rt)
    with pytest.raises(InvalidInput) as err:
        _raise(rt, school, ref, cost="300.01")
    assert "above the template's most, £300.00" in err.value.problems["cost"]
    with pytest.raises(InvalidInput) as err:
        _raise(rt, school, ref, affected=("Printing", "MIS"))
    assert "MIS is outside the template" in err.value.problems["affected_services"]
    with pytest.raises(InvalidInput, match="estimated cost"):
        _raise(rt, school, ref, cost=None)
    with pytest.raises(InvalidInput, match="amount"):
        _raise(rt, school, ref, cost="lots")
    assert f.counts(rt) == before  # nothing recorded
    # Within it: the services default to the template's, the estimate is the planned cost
    # and the back-out plan starts as the template's.
    view = _raise(rt, school, ref, cost="300", affected=())
    detail = changes_service.get_change(rt, actor_id=school.requester, ref=view.ref)
    assert detail.change.affected_services == ("Printing",)
    assert str(detail.total_cost) == "300.00"
    assert detail.release_plan is not None and detail.release_plan.backout_plan == "Refit the old lamp"


def test_a_template_may_be_limited_to_some_roles(rt, school):
    ref = f.standard_template(rt, school, services_=("Printing",), used_by="admin")
    with pytest.raises(InvalidInput, match="may be used by: admin"):
        _raise(rt, school, ref)


def test_every_use_is_audited_and_the_support_team_told_as_for_any_change(rt, school):
    ref = f.standard_template(rt, school, services_=("Printing",))
    view = _raise(rt, school, ref)
    raised = dict(_events(rt, view.ref))["change.raised"]
    assert raised["template"] == ref and raised["cost"] == "120.00"
    uses = [p for kind, p in _events(rt, ref) if kind == "template.used"]
    assert uses == [{"change": view.ref, "cost": "120.00", "services": ["Printing"]}]
    # Scheduled, the support team is told as for any change.
    scheduled = f.change_in(rt, school, "standard", "scheduled", affected=("Printing",))
    with rt.db.read() as session:
        told = set(
            session.exec(
                select(OutboxMessage.recipient_id).where(
                    OutboxMessage.change_ref == scheduled, OutboxMessage.event == "scheduled"
                )
            ).all()
        )
    assert set(school.cab) <= told  # the CAB members are in the support audience


def test_the_template_workflow_nobody_approves_their_own_and_reasons_are_kept(rt, school):
    view = templates.propose(rt, actor_id=school.requester, data=CONTENT)
    with rt.db.read() as session:
        asked = set(
            session.exec(
                select(OutboxMessage.recipient_id).where(OutboxMessage.event == "template.proposed")
            ).all()
        )
    assert asked == set(school.cab)  # the template approvers (policy: cab)
    with pytest.raises(NotPermitted, match="templates are approved by"):
        templates.act(rt, actor_id=school.finance, template_id=view.id, action="approve")
    with pytest.raises(InvalidInput, match="reason is required to reject"):
        templates.act(rt, actor_id=school.cab[0], template_id=view.id, action="reject")
    templates.act(
        rt,
        actor_id=school.cab[0],
        template_id=view.id,
        action="reject",
        reason="Say which VLAN and who supplies the toner",
    )
    with pytest.raises(NotAllowed, match="the template is “Returned to its proposer”. Possible now: Revise."):
        templates.act(rt, actor_id=school.cab[0], template_id=view.id, action="approve")
    with pytest.raises(NotPermitted, match="proposer"):
        templates.act(rt, actor_id=school.other_requester, template_id=view.id, action="revise", data=CONTENT)
    revised = templates.act(
        rt,
        actor_id=school.requester,
        template_id=view.id,
        action="revise",
        data={**CONTENT, "description": "Curriculum VLAN; toner from the copier contract"},
    )
    assert revised.state == "proposed" and revised.version == 3
    # A CAB member who proposed a template cannot approve it.
    mine = templates.propose(rt, actor_id=f.user(rt, "requester cab", "support"), data=CONTENT)
    proposer = mine.proposed_by
    with pytest.raises(NotPermitted, match="they proposed"):
        templates.act(rt, actor_id=proposer, template_id=mine.id, action="approve")
    approved = templates.act(
        rt, actor_id=school.cab[1], template_id=view.id, action="approve", reason="Fine", expected_version=3
    )
    assert approved.state == "active" and approved.decided_by_name == "CAB 1"
    kinds = [k for k, _ in _events(rt, view.ref)]
    assert kinds == ["template.proposed", "template.rejected", "template.revised", "template.approved"]
    detail = templates.get(rt, actor_id=school.auditor, template_id=view.id)
    assert [e.event_type for e in detail.history] == kinds and detail.actions == ()


def test_a_bad_template_names_each_field(rt, school):
    with pytest.raises(InvalidInput) as err:
        templates.propose(
            rt,
            actor_id=school.requester,
            data={"title": "", "services": ["Nope"], "max_cost": "-1", "used_by": ["wizard"]},
        )
    assert set(err.value.problems) == {"title", "steps", "backout_plan", "max_cost", "used_by",
                                       "screening.personal_data", "screening.safeguarding"}
    with pytest.raises(InvalidInput, match="unknown service Nope"):
        templates.propose(rt, actor_id=school.requester, data={**CONTENT, "services": ["Nope"]})
    with pytest.raises(NotPermitted):
        templates.propose(rt, actor_id=school.cab[0], data=CONTENT)


def test_the_catalogue_is_paged_and_searchable(rt, school):
    for i in range(30):
        templates.propose(rt, actor_id=school.requester, data={**CONTENT, "title": f"Template {i:02d}"})
    page = templates.browse(rt, actor_id=school.cab[0], limit=25)
    assert page.total == 30 and len(page.items) == 25 and page.has_next
    found = templates.browse(rt, actor_id=school.cab[0], q="template 1")
    assert [t.title for t in found.items] == [f"Template 1{i}" for i in range(10)]
    with pytest.raises(InvalidInput, match="state"):
        templates.browse(rt, actor_id=school.cab[0], state="nonsense")
    assert templates.browse(rt, actor_id=school.staff).total == 0


def test_pages_propose_approve_and_raise_from_a_template(sqlite_rt, tmp_path):
    rt = sqlite_rt
    catalogue.save_service(rt, actor_id=None, name="Printing")
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    requester, cab = app.test_client(), app.test_client()
    login(requester, school.emails[school.requester])
    login(cab, school.emails[school.cab[0]])
    r = requester.post(
        "/templates/new",
        data={**FORM, "max_cost": "abc", "csrf_token": csrf_token(requester, "/templates/new")},
    )
    assert r.status_code == 400 and "must be an amount" in r.get_data(as_text=True)
    r = requester.post(
        "/templates/new", data={**FORM, "csrf_token": csrf_token(requester, "/templates/new")}
    )
    assert r.status_code == 302
    template_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    page = cab.get(f"/templates/{template_id}").get_data(as_text=True)
    assert "Approve the template" in page and "Proposed, awaiting approval" in page
    assert "Approve the template" not in requester.get(f"/templates/{template_id}").get_data(as_text=True)
    r = cab.post(
        f"/templates/{template_id}/actions/approve",
        data={"csrf_token": csrf_token(cab, f"/templates/{template_id}"), "reason": "", "version": "1"},
    )
    assert r.status_code == 302
    listing = requester.get("/templates?q=printer").get_data(as_text=True)
    assert "Add a printer to a classroom" in listing and "Active" in listing
    form = requester.get(f"/changes/new?category=standard&template=STD-{template_id:04d}").get_data(
        as_text=True
    )
    assert f'value="STD-{template_id:04d}" selected' in form
    r = requester.post(
        "/changes/new",
        data={
            "title": "Printer in B12",
            "category": "standard",
            "template": f"STD-{template_id:04d}",
            "cost": "999",
            "csrf_token": csrf_token(requester, "/changes/new"),
        },
    )
    assert r.status_code == 400 and "above the template&#39;s most" in r.get_data(as_text=True)
    r = requester.post(
        "/changes/new",
        data={
            "title": "Printer in B12",
            "category": "standard",
            "template": f"STD-{template_id:04d}",
            "cost": "120",
            "csrf_token": csrf_token(requester, "/changes/new"),
        },
    )
    assert r.status_code == 302
    change_page = requester.get(r.headers["Location"]).get_data(as_text=True)
    assert f"STD-{template_id:04d}" in change_page


def test_the_api_proposes_decides_and_raises(rt, tmp_path):
    catalogue.save_service(rt, actor_id=None, name="Printing")
    app, school = make_app(rt, tmp_path), WebSchool(rt)
    client = app.test_client()

    def call(uid, method, path, body=None, status=200):  # type: ignore[no-untyped-def]
        token = auth.create_token(rt, user_id=uid, name="t")
        r = client.open(
            f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == status, r.get_json()
        return r.get_json()

    made = call(school.requester, "POST", "/templates", CONTENT, 201)
    assert made["state"] == "proposed" and made["max_cost"] == "300.00"
    call(school.requester, "POST", f"/templates/{made['id']}/actions", {"action": "approve"}, 403)
    done = call(school.cab[0], "POST", f"/templates/{made['id']}/actions", {"action": "approve"})
    assert done["state"] == "active"
    listed = call(school.cab[0], "GET", "/templates?state=active")
    assert [t["ref"] for t in listed["items"]] == [made["ref"]]
    change = call(
        school.requester,
        "POST",
        "/changes",
        {"title": "Printer", "category": "standard", "template": made["ref"], "cost": "99"},
        201,
    )
    assert change["template_ref"] == made["ref"]
    err = call(school.requester, "POST", "/changes", {"title": "Printer", "category": "standard"}, 400)
    assert "template" in err["problems"]


def test_a_template_touching_safeguarding_or_personal_data_needs_the_dsl_and_the_dpo(rt, school):
    """Issue 20.1: the shipped web-filter template (STD-0007) ran with one CAB approval and
    no screening. A template records its screening answers; safeguarding brings the DSL's
    approval, new personal data the DPO's, beside the CAB's; it is usable once all are given."""
    dsl, dpo = f.user(rt, "dsl", "", "Safeguarding lead"), f.user(rt, "dpo", "", "DPO")
    filter_rule = {**CONTENT, "title": "Unblock a site at the web filter",
                   "screening": {"personal_data": "new", "safeguarding": "yes"}}
    view = templates.propose(rt, actor_id=school.requester, data=filter_rule)
    assert dict(view.screening) == {"personal_data": "new", "safeguarding": "yes"}
    assert [who for who, _ in view.approvals] == [rt.roles.label(r) for r in ("cab", "dpo", "dsl")]
    after_cab = templates.act(rt, actor_id=school.cab[0], template_id=view.id, action="approve")
    assert after_cab.state == "proposed" and [given for _, given in after_cab.approvals][1:] == ["", ""]
    with pytest.raises(InvalidInput, match="approved"):
        _raise(rt, school, view.ref)
    with pytest.raises(NotPermitted):  # the CAB's part is given: another CAB member adds nothing
        templates.act(rt, actor_id=school.cab[1], template_id=view.id, action="approve")
    templates.act(rt, actor_id=dpo, template_id=view.id, action="approve")
    done = templates.act(rt, actor_id=dsl, template_id=view.id, action="approve")
    assert done.state == "active" and all(given for _, given in done.approvals)
    assert _raise(rt, school, view.ref).template_ref == view.ref
    kinds = [k for k, _ in _events(rt, view.ref)]
    assert kinds == ["template.proposed", "template.endorsed", "template.endorsed", "template.approved",
                     "template.used"]


def test_an_active_template_never_screened_cannot_be_used_until_revised(rt, school):
    from sqlalchemy import update as sql_update

    from fitsflow.persistence.models import StandardTemplate

    ref = f.standard_template(rt, school, services_=("Printing",))
    with rt.db.transaction() as session:  # as templates approved before screening existed
        session.execute(sql_update(StandardTemplate).values(screening="{}"))
    with pytest.raises(InvalidInput, match="not been screened"):
        _raise(rt, school, ref)
