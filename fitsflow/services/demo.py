"""A demo school: a user for every role and changes in every state of every workflow,
all made through the services, so their audit trail and notifications are real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..domain import templates as templates_domain
from ..domain.vocabulary import BACKED_OUT, CLOSED, WITHDRAWN
from ..persistence import change_store, queries
from ..workflow.definition import WorkflowDefinition
from . import calendar, catalogue, changes, gates, mfa, notices, peer_review, stages, templates, users
from .common import now
from .demo_calendar import academic_year
from .gates import PENDING
from .runtime import Runtime

DEMO_DOMAIN = "demo.school"

DEMO_USERS: tuple[tuple[str, str, str, str], ...] = (
    # name, local part, roles, audiences
    ("Nat Osei (Network Manager)", "nat.osei", "requester", "support"),
    ("Tia Morgan (ICT Technician)", "tia.morgan", "requester", "support"),
    ("Priya Shah (Head of Computing, CAB)", "priya.shah", "cab", "staff"),
    ("Tom Price (Senior Technician, CAB)", "tom.price", "cab", "support"),
    ("Dee Walsh (Deputy Head)", "dee.walsh", "slt", "slt staff"),
    ("Ben Marsh (School Business Manager)", "ben.marsh", "finance", "slt"),
    ("Helen Carter (Headteacher)", "helen.carter", "head slt", "slt staff"),
    ("Gwen Ellis (Governor, auditor)", "gwen.ellis", "auditor", ""),
    ("Rob Hughes (Chair of the governors' finance committee)", "rob.hughes", "governors", ""),
    ("Mo Ali (Data-protection officer)", "mo.ali", "dpo", "staff"),
    ("Jo Webb (Designated safeguarding lead)", "jo.webb", "dsl", "slt staff"),
    ("Alex Reid (Administrator)", "alex.reid", "admin", "support"),
    ("Sarah Khan (Teacher)", "sarah.khan", "", "staff"),
    ("Sam Lee (Year 10 student)", "sam.lee", "", "students"),
    ("Pat Lee (Parent)", "pat.lee", "", "parents"),
)

TITLES: dict[str, tuple[str, ...]] = {
    "emergency-change": (
        "Patch the VPN appliance (actively exploited flaw)",
        "Restore the failed core switch in the main block",
        "Block a phishing domain at the web filter",
        "Replace the failed SAN controller",
        "Emergency reset of compromised staff accounts",
        "Revert a broken MIS update before exams",
        "Isolate a ransomware-infected workstation",
    ),
    "standard-change": (
        "Monthly Windows security updates",
        "Add a new starter to the staff network",
        "Replace a classroom projector lamp",
        "Annual certificate renewal for the web filter",
        "Re-image a student laptop trolley",
        "Add a printer to the sixth-form centre",
        "Rotate the backup tapes off site",
    ),
    "fits-change": (
    "Replace the Year 7 ICT suite PCs",
    "Wi-Fi access points for the sports hall",
    "Move staff email to the cloud tenancy",
    "Interactive panels in the science labs",
    "Upgrade the MIS server and database",
    "Lockdown browser for online exams",
    "Firewall firmware upgrade",
    "New printing and copying contract",
    "Laptop trolley for the humanities block",
    "Single sign-on for learning platforms",
    "Backup appliance replacement",
    "CCTV storage extension",
    "Library self-service kiosks",
    "Visitor sign-in system",
    ),
}


# Screening answers by title: new processing of personal data (a DPIA), and safeguarding.
PERSONAL_DATA_WORDS = ("email", "sign-on", "sign-in", "CCTV", "MIS")
SAFEGUARDING_WORDS = ("filter", "Lockdown", "phishing")
# Risk assessments the shipped policy scores low (2 points), medium (5) and high (12).
RISK_ANSWERS = {
    "minor": {"people": "group", "teaching": "no", "services": "one", "tested": "yes",
              "backout": "minutes", "supplier": "yes", "data": "no"},
    "significant": {"people": "many", "teaching": "no", "services": "several", "tested": "partly",
                    "backout": "minutes", "supplier": "yes", "data": "no"},
    "major": {"people": "school", "teaching": "yes", "services": "core", "tested": "no",
              "backout": "hours", "supplier": "yes", "data": "backed_up"},
}


# What the demo's approvers say when they send a change back once, by gate.
REJECTIONS = {
    "retrospective": "Follow-up actions: keep a spare on site and add the fix to the runbook.",
    "": "Please show how years 2–5 are funded in more detail.",
}


@dataclass(frozen=True)
class DemoResult:
    users: tuple[tuple[str, str, str], ...]
    changes: int
    created: bool


# The services the demo's changes touch (its standard templates cover them).
DEMO_TEMPLATE_SERVICES = ["Curriculum network", "Wi-Fi"]


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


class _Driver:
    def __init__(self, rt: Runtime, ids: dict[str, int]):
        self.rt = rt
        self.ids = ids
        self.count = 0
        self.school = calendar.calendar_now(rt)
        self.templates: dict[str, str] = {}

    def fill(self, ref: str, actor: int, stages_here: tuple[str, ...], index: int, category: str,
             title: str) -> None:
        # Windows a few days ahead, four hours apart: near enough that the notices for SLT,
        # the support team and staff are already out, and none overlapping.
        start = (now() + timedelta(days=2, hours=4 * index)).replace(minute=0, second=0, microsecond=0)
        # ... and clear of the demo calendar's freezes and caution periods.
        while self.school.overlapping(start, start + timedelta(hours=3), ("freeze", "caution")):
            start += timedelta(days=1)
        personal = any(word in title for word in PERSONAL_DATA_WORDS)
        if "needs" in stages_here:
            stages.record_needs(self.rt, actor_id=actor, ref=ref, data={
                "need": "Teaching staff report the current kit cannot support the new curriculum units.",
                "stakeholders": ["Subject leaders", "Exams officer", "Business manager", "Site team"],
                "sdp_priority": "SDP 2: Digital learning for every student",
                "options_considered": "Do nothing; refurbish; replace (preferred, lowest five-year cost).",
                "screening": {"personal_data": "new" if personal else "none",
                              "safeguarding": "yes" if any(w in title for w in SAFEGUARDING_WORDS) else "no"},
                "dpia_reference": f"DPIA-{now().year}-{index:02d}" if personal else ""})
        if "finance" in stages_here:
            # Within what the approval policy allows the category: minor up to £2,000, significant
            # up to £25,000, major above.
            capital, licence, training = {"minor": (900, 150, 0),
                                          "significant": (6000 + 250 * index, 600, 400)}.get(
                category, (18000 + 500 * index, 1200, 600))
            lines: list[dict[str, Any]] = [{"year": 1, "kind": "capital", "amount": capital,
                                            "funding_source": "Devolved capital", "description": "Hardware"}]
            lines += [{"year": y, "kind": "licence", "amount": licence,
                       "funding_source": "ICT revenue budget", "description": "Licences and support"}
                      for y in range(1, 6)]
            if training:
                lines.append({"year": 1, "kind": "training", "amount": training,
                              "funding_source": "CPD budget"})
            stages.record_financial_plan(self.rt, actor_id=actor, ref=ref, lines=lines)
        if "release_plan" in stages_here:
            stages.record_release_plan(self.rt, actor_id=actor, ref=ref, data={
                "window_start": start.isoformat(), "window_end": (start + timedelta(hours=3)).isoformat(),
                "backout_plan": "Restore the previous image from last night's backup; re-enable old kit.",
                "test_plan": "Log in as a student and a teacher in each room; print; run the exam browser.",
                "risk_answers": RISK_ANSWERS.get(category, RISK_ANSWERS["minor"]),
                "impact": "Rooms unavailable during the window; no impact on exams.",
                "training": "A 20-minute drop-in in the staff room on Monday after school.",
                "contact": "ICT helpdesk, extension 204"})
        if "review" in stages_here:
            stages.record_review(self.rt, actor_id=actor, ref=ref, data={
                "outcome": "successful",
                "notes": "Staff feedback positive; support team asks for spare parts on site.",
                "actual_costs": [{"year": 1, "kind": "capital", "amount": 18250,
                                  "funding_source": "Devolved capital"}]})

    def decide_gate(self, ref: str, definition: WorkflowDefinition, state: str, category: str,
                    requester: int, reject: bool) -> None:
        status = changes.get_change(self.rt, actor_id=requester, ref=ref).gate
        assert status is not None
        with self.rt.db.read() as session:
            for role, needed in status.requirements.items():
                people = [u for u in queries.users_with_roles(session, [role]) if u != requester]
                for uid in people[:needed]:
                    if reject:
                        gates.decide(self.rt, actor_id=uid, ref=ref, decision="reject",
                                     comment=REJECTIONS.get(status.name, REJECTIONS[""]))
                        return
                    result = gates.decide(self.rt, actor_id=uid, ref=ref, decision="approve",
                                          comment="Agreed.", role=role)
                    if result.outcome != PENDING:
                        return

    def peer_review(self, ref: str, definition: WorkflowDefinition, state: str, trigger: str, category: str,
                    requester: int) -> None:
        """The other technician reviews the plan when the policy asks for a peer review."""
        spec = definition.transition(trigger, state)
        if spec and "peer_reviewed" in spec.guards and category in self.rt.settings.policy.peer_review:
            reviewer = next(u for u in (self.ids["tia.morgan"], self.ids["nat.osei"]) if u != requester)
            peer_review.review_plan(self.rt, actor_id=reviewer, ref=ref, outcome="approve",
                                    comments="Back-out tested on the spare switch; test plan covers exams.")

    def template(self, title: str, *, state: str = templates_domain.ACTIVE) -> str:
        """A standard-change template for ``title``: proposed by the network manager and,
        unless ``state`` says otherwise, approved by the CAB."""
        if title in self.templates:
            return self.templates[title]
        view = templates.propose(self.rt, actor_id=self.ids["nat.osei"], data={
            "title": title, "description": f"{title}, done the same way each time.",
            "services": DEMO_TEMPLATE_SERVICES, "max_cost": "500",
            "steps": "1. Tell the support team\n2. Do the work out of lessons\n3. Check it works",
            "backout_plan": "Restore the previous configuration from the nightly backup."})
        if state != templates_domain.PROPOSED:
            templates.act(self.rt, actor_id=self.ids["tom.price"], template_id=view.id, action="approve",
                          reason="Low risk and done often: pre-approved.")
        if state == templates_domain.RETIRED:
            templates.act(self.rt, actor_id=self.ids["tom.price"], template_id=view.id, action="retire",
                          reason="The tape library was replaced by the backup appliance.")
        self.templates[title] = view.ref
        return view.ref

    def walk(self, definition: WorkflowDefinition, category: str, target: str, title: str,
             requester: int, index: int, reject_first: bool = False) -> str:
        view = changes.raise_change(self.rt, actor_id=requester, title=title, category=category,
                                    description=f"{title}. Raised for the demo school.",
                                    affected_services=DEMO_TEMPLATE_SERVICES,
                                    urgency="Teaching is disrupted now: waiting for the next CAB would "
                                            "leave it broken for a week." if definition.emergency else "",
                                    template=self.template(title) if definition.from_template else None,
                                    cost="180" if definition.from_template else None)
        ref, state = view.ref, view.state
        rejected = not reject_first
        for trigger in definition.path(target):
            self.fill(ref, requester, definition.states[state].edits, index, category, title)
            if trigger in definition.gate_triggers():
                self.decide_gate(ref, definition, state, category, requester, reject=not rejected)
                if not rejected:
                    rejected = True
                    for again in definition.path(state):
                        current = changes.get_change(self.rt, actor_id=requester, ref=ref).change.state
                        self.fill(ref, requester, definition.states[current].edits, index, category,
                                  title)
                        self.peer_review(ref, definition, current, again, category, requester)
                        changes.fire(self.rt, actor_id=requester, ref=ref, trigger=again)
                    self.decide_gate(ref, definition, state, category, requester, reject=False)
            else:
                self.peer_review(ref, definition, state, trigger, category, requester)
                dest = definition.table()[(state, trigger)]
                undoing = {BACKED_OUT: "Demo: backing out after failed tests.",
                           WITHDRAWN: "Demo: the need was met another way."}
                changes.fire(self.rt, actor_id=requester, ref=ref, trigger=trigger,
                             reason=undoing.get(definition.kind_of(dest) or "", ""))
            state = definition.table()[(state, trigger)]
        self.count += 1
        return ref


def build_demo(rt: Runtime, *, password: str,
               progress: Callable[[int], None] | None = None) -> DemoResult:
    """Create the demo school unless its users exist already."""
    listed = tuple((name, demo_email(local), roles) for name, local, roles, _ in DEMO_USERS)
    with rt.db.read() as session:
        if queries.user_by_email(session, demo_email("nat.osei")) is not None:
            return DemoResult(listed, change_store.count(session), created=False)
    ids = {local: users.add_user(rt, name=name, email=demo_email(local), roles=roles,
                                 audiences=audiences, password=password, actor_label="demo")
           for name, local, roles, audiences in DEMO_USERS}
    # A try-out signs in with the printed password alone; a real installation's people do not.
    mfa.set_exempt(rt, user_ids=list(ids.values()), exempt=True)
    today = now().astimezone(rt.timezone).date()
    periods = [calendar.parse_period(rt, **row) for row in academic_year(today)]
    calendar.add_periods(rt, periods, actor_id=None, source="demo", label="demo")
    catalogue.load_demo(rt)
    driver = _Driver(rt, ids)
    # The template catalogue also shows one awaiting the CAB and one retired.
    driver.template("Add a classroom to the visitor Wi-Fi", state=templates_domain.PROPOSED)
    driver.template("Change the tape in the old tape library", state=templates_domain.RETIRED)
    requesters = [ids["nat.osei"], ids["tia.morgan"]]
    index = 0
    categories = {"fits-change": ("minor", "significant", "major")}
    for wf in rt.workflows:
        definition = wf.definition
        cats = categories.get(definition.name, definition.categories)
        # Changes just past a gate are rejected once first, so the demo shows a rejection.
        past_gate = {definition.table()[(g.state, g.approve)] for g in definition.gates.values()}
        for state in definition.states:
            category = cats[index % len(cats)]
            titles = TITLES.get(definition.name, TITLES["fits-change"])
            driver.walk(definition, category, state, titles[index % len(titles)],
                        requesters[index % 2], index,
                        reject_first=state in past_gate)
            index += 1
            if progress:
                progress(1)
    with rt.db.read() as session:
        parent = change_store.first_in(session, rt.workflows.states_of_kind(CLOSED))
    if parent is not None:
        changes.spawn_follow_up(rt, actor_id=parent[1], ref=parent[0],
                                title="Spare parts kept on site (from review)",
                                description="The support team's review feedback: keep spares.")
        driver.count += 1
    # Publish the release notices already due, so every audience has something to read.
    notices.publish_due(rt)
    return DemoResult(listed, driver.count, created=True)


def demo_size(rt: Runtime) -> int:
    """How many changes ``build_demo`` walks (for a progress bar)."""
    return sum(len(wf.definition.states) for wf in rt.workflows)
