"""Roles and audiences are the school's data: new approver roles come from the settings
file, gates ask for them in the workflow file, users holding them are imported from a
CSV — no code involved."""

from __future__ import annotations

import pytest

from fitsflow.bootstrap import build_runtime
from fitsflow.config import load_settings
from fitsflow.domain.errors import ConfigError, InvalidInput, WorkflowError
from fitsflow.services import changes, queues
from fitsflow.services import gates as gates_service
from fitsflow.services import users as users_service
from fitsflow.workflow import shipped_directory

from . import factories as f

SETTINGS = """
[roles.dpo]
label = "Data-protection officer"
approves = true

[roles.dsl]
label = "Designated safeguarding lead"
approves = true

[roles.governors]
label = "Governors' finance committee"
approves = true

[audiences.governors]
label = "Governors"
tier = "full"
lead_days = 10
"""

STAFF_CSV = """name,email,roles,audiences
Dana Price,dana@school.example,dpo,staff
Sol Ade,sol@school.example,dsl;cab,staff
Gill Hart,gill@school.example,governors,governors
"""


def school_runtime(tmp_path, *, settings_text: str = SETTINGS,  # type: ignore[no-untyped-def]
                   gate: str = "dpo = 1, dsl = 1, governors = 1"):
    folder = tmp_path / "workflows"
    folder.mkdir(exist_ok=True)
    for path in shipped_directory().glob("*.toml"):
        text = path.read_text()
        if path.name == "fits-change.toml":
            text = text.replace("minor = { cab = 1 }", f"minor = {{ cab = 1, {gate} }}")
        (folder / path.name).write_text(text)
    config = tmp_path / "fitsflow.toml"
    config.write_text(settings_text + f'\n[workflows]\ndir = "{folder}"\n')
    rt = build_runtime(load_settings(config, environ={}), database_url="sqlite://")
    rt.db.create_all()
    return rt


def test_new_approver_roles_sit_in_a_gate_quorum_and_are_imported(tmp_path):
    rt = school_runtime(tmp_path)
    assert {"dpo", "dsl", "governors"} <= set(rt.roles.approvers)
    school = f.School(rt)
    result = users_service.import_users(rt, text=STAFF_CSV)
    assert result.created == 3
    ids = {u.email: u.id for u in users_service.list_users(rt)}
    ref = f.change_in(rt, school, "minor", "implement_approval")
    gates_service.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    detail = changes.get_change(rt, actor_id=school.requester, ref=ref)
    assert detail.gate is not None
    assert set(detail.gate.missing) == {"needs 1 more approval from Data-protection officer",
                                        "needs 1 more approval from Designated safeguarding lead",
                                        "needs 1 more approval from Governors' finance committee"}
    queue = queues.awaiting_decision(rt, actor_id=ids["dana@school.example"])
    assert [c.ref for c in queue.items] == [ref]
    # Sol holds dsl and cab: the CAB place is filled, so Sol decides as DSL.
    gates_service.decide(rt, actor_id=ids["dana@school.example"], ref=ref, decision="approve")
    gates_service.decide(rt, actor_id=ids["sol@school.example"], ref=ref, decision="approve")
    assert changes.get_change(rt, actor_id=school.requester, ref=ref).change.state == "implement_approval"
    final = gates_service.decide(rt, actor_id=ids["gill@school.example"], ref=ref, decision="approve")
    assert final.outcome == "passed" and final.change.state == "approved"
    # The new audience receives notices like the shipped ones.
    assert "governors" in rt.roles.audiences
    rt.db.dispose()


def test_the_shipped_set_refuses_roles_it_does_not_define(sqlite_rt):
    with pytest.raises(InvalidInput, match="unknown role bursar"):
        users_service.add_user(sqlite_rt, name="Dana", email="dana@school.example", roles="bursar")


def test_a_gate_asking_for_an_undefined_role_stops_start_up(tmp_path):
    with pytest.raises(WorkflowError, match=r"gates.implement.approvers.minor.bursar: not an approver role"):
        school_runtime(tmp_path, settings_text="", gate="bursar = 1")


def test_a_role_that_does_not_approve_cannot_sit_in_a_quorum(tmp_path):
    text = SETTINGS + '\n[roles.bursar]\nlabel = "Bursar"\napproves = false\n'
    with pytest.raises(WorkflowError, match="approvers.minor.bursar: not an approver role"):
        school_runtime(tmp_path, settings_text=text, gate="bursar = 1")


def test_the_policy_may_not_ask_for_a_role_that_does_not_approve(tmp_path):
    text = SETTINGS.replace('label = "Data-protection officer"\napproves = true',
                            'label = "Data-protection officer"\napproves = false')
    with pytest.raises(ConfigError, match=r"policy.screening\[0\].roles: unknown role dpo"):
        school_runtime(tmp_path, settings_text=text)


@pytest.mark.parametrize("text,message", [
    ("[roles.admin]\napproves = true\n", "roles.admin.approves: the built-in role 'admin' cannot approve"),
    ("[roles.Bad-Name]\nlabel = 'x'\n", "roles.Bad-Name: names use lower-case letters"),
    ("[roles.dpo]\nlabel = 'DPO'\ncolour = 'red'\n", "roles.dpo.colour: unknown setting"),
    ("[audiences.governors]\nlabel = 'Governors'\ntier = 'full'\n", "audiences.governors: missing lead_days"),
    ("[audiences.staff]\ntier = 'gossip'\n", "audiences.staff.tier: must be one of"),
    ("[notify]\nsubmitted = 'gate_approvers, bursar'\n", "notify.submitted: unknown recipient rule bursar"),
])
def test_bad_role_settings_name_the_key(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build_runtime(load_settings(path, environ={}), database_url="sqlite://")


def test_environment_overrides_a_role_or_audience_field(tmp_path):
    settings = load_settings(environ={"FITSFLOW_ROLES_CAB_LABEL": "Change board",
                                      "FITSFLOW_AUDIENCES_STAFF_LEAD_DAYS": "3"})
    assert settings.roles["cab"].label == "Change board"
    assert settings.audiences["staff"].lead_days == 3
    with pytest.raises(ConfigError, match="FITSFLOW_ROLES_NOBODY_LABEL: no such setting"):
        load_settings(environ={"FITSFLOW_ROLES_NOBODY_LABEL": "x"})
