"""A demo school: a user for every role and changes in every state of every workflow,
all made through the services, so their audit trail and notifications are real."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import templates as templates_domain
from ..domain.calendar import SchoolCalendar
from ..domain.errors import InvalidInput
from ..domain.vocabulary import BACKED_OUT, CLOSED, IN_REVIEW, RELEASED, RESTORE, WITHDRAWN
from ..persistence import change_store, feedback_store, notice_store, queries, user_store
from ..workflow.definition import WorkflowDefinition
from . import (
    assets,
    calendar,
    catalogue,
    changes,
    demo_trust,
    feedback,
    filtering,
    gates,
    mfa,
    notices,
    peer_review,
    stages,
    templates,
    users,
)
from .demo_calendar import academic_years
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
    "pilot": (
        "Pilot: tablets for Year 8 science practicals",
        "Pilot: visualisers in maths lessons",
        "Pilot: a reading app for Year 7 catch-up",
        "Pilot: lesson capture in two classrooms",
        "Pilot: a homework platform for Year 9",
        "Pilot: student laptops on loan in sixth form",
    ),
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


def _screening(title: str) -> dict[str, str]:
    return {"personal_data": "new" if any(word in title for word in PERSONAL_DATA_WORDS) else "none",
            "safeguarding": "yes" if any(word in title for word in SAFEGUARDING_WORDS) else "no"}
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


# Release windows: after school, one a day; found within this many days of the first.
WINDOW_STARTS, WINDOW_LENGTH, WINDOW_SEARCH_DAYS = time(16, 0), timedelta(hours=3), 400
# The demo's past starts at this time of day, each step of its story this long after the last.
STORY_STARTS, STEP = time(9, 0), timedelta(minutes=7)
# Who reads and acknowledges the notices of the demo's past releases (the teacher, the
# student and the parent leave theirs for the visitor to acknowledge).
ACKNOWLEDGERS = ("dee.walsh", "tom.price", "helen.carter")

# The services the demo's changes touch (its standard templates cover them).
DEMO_TEMPLATE_SERVICES = ["Curriculum network", "Wi-Fi"]


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


class _Driver:
    def __init__(self, rt: Runtime, ids: dict[str, int], school: SchoolCalendar,
                 future: Iterator[tuple[datetime, datetime]]):
        self.rt = rt
        self.ids = ids
        self.count = 0
        self.school = school
        self.future = future
        self.windows: dict[str, tuple[datetime, datetime]] = {}
        self.templates: dict[str, str] = {}
        self.replaying = False  # playing out the past, on a clock set back

    def tick(self) -> None:
        """Each step of the past a few minutes after the one before (the present runs on
        the clock as it is)."""
        if self.replaying:
            self.rt.clock.advance(STEP)

    def fill(self, ref: str, actor: int, stages_here: tuple[str, ...], index: int, category: str,
             title: str) -> None:
        personal = any(word in title for word in PERSONAL_DATA_WORDS)
        if "needs" in stages_here:
            stages.record_needs(self.rt, actor_id=actor, ref=ref, data={
                "need": "Teaching staff report the current kit cannot support the new curriculum units.",
                "stakeholders": ["Subject leaders", "Exams officer", "Business manager", "Site team"],
                "sdp_priority": "SDP 2: Digital learning for every student",
                "options_considered": "Do nothing; refurbish; replace (preferred, lowest five-year cost).",
                "screening": _screening(title),
                "dpia_reference": f"DPIA-{self.rt.now().year}-{index:02d}" if personal else "",
                "success_measures": [
                    {"statement": "Every class can use it in a lesson without help from the support team",
                     "method": "Support tickets about it, and a survey of the teachers who use it",
                     "check_by": (self.rt.today() + timedelta(days=120)).isoformat()}]})
        if "pilot" in stages_here:
            stages.record_pilot(self.rt, actor_id=actor, ref=ref, data={
                "hypothesis": f"If a small group uses it for half a term, {title[7:].lower()} saves lesson "
                              "time without extra support calls.",
                "trial_group": "Two classes and their teachers", "weeks": 6})
        if "pilot_outcome" in stages_here:
            stages.record_pilot_outcome(self.rt, actor_id=actor, ref=ref, data={
                "outcome": "adopt", "adopt_category": "significant",
                "learnt": "Teachers saved about ten minutes a lesson; charging and storage need planning."})
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
            if ref not in self.windows:
                self.windows[ref] = next(self.future)
            start, end = self.windows[ref]
            stages.record_release_plan(self.rt, actor_id=actor, ref=ref, data={
                "window_start": start.isoformat(), "window_end": end.isoformat(),
                "backout_plan": "Restore the previous image from last night's backup; re-enable old kit.",
                "test_plan": "Log in as a student and a teacher in each room; print; run the exam browser.",
                "risk_answers": RISK_ANSWERS.get(category, RISK_ANSWERS["minor"]),
                "impact": "Rooms unavailable during the window; no impact on exams.",
                "training": "A 20-minute drop-in in the staff room on Monday after school.",
                "contact": "ICT helpdesk, extension 204"})
        if "review" in stages_here:
            needs = changes.get_change(self.rt, actor_id=actor, ref=ref).needs
            stages.record_review(self.rt, actor_id=actor, ref=ref, data={
                "outcome": "successful",
                "notes": "Staff feedback positive; support team asks for spare parts on site.",
                "actual_costs": [{"year": 1, "kind": "capital", "amount": 18250,
                                  "funding_source": "Devolved capital"}],
                "measures": [{"result": "met", "evidence": "Two support tickets in the first month, both "
                                                           "answered the same day; 14 of 15 teachers "
                                                           "surveyed use it weekly."}
                             for _ in (needs.measures if needs else ())]})

    def decide_gate(self, ref: str, definition: WorkflowDefinition, state: str, category: str,
                    requester: int, reject: bool) -> None:
        detail = changes.get_change(self.rt, actor_id=requester, ref=ref)
        status = detail.gate
        assert status is not None
        with self.rt.db.read() as session:  # approvers of the change's school (or trust roles)
            asked = [(role, [u for u in queries.users_with_roles(
                session, [role], school_id=detail.change.school_id, across=self.rt.roles.trust_roles)
                if u != requester][:needed]) for role, needed in status.requirements.items()]
        for role, people in asked:
            for uid in people:
                if reject:
                    gates.decide(self.rt, actor_id=uid, ref=ref, decision="reject",
                                 comment=REJECTIONS.get(status.name, REJECTIONS[""]))
                    return
                result = gates.decide(self.rt, actor_id=uid, ref=ref, decision="approve",
                                      comment="Agreed.", role=role)
                self.tick()
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
        screening = _screening(title)
        view = templates.propose(self.rt, actor_id=self.ids["nat.osei"], data={
            "title": title, "description": f"{title}, done the same way each time.",
            "services": DEMO_TEMPLATE_SERVICES, "max_cost": "500",
            "steps": "1. Tell the support team\n2. Do the work out of lessons\n3. Check it works",
            "backout_plan": "Restore the previous configuration from the nightly backup.",
            "screening": screening})
        if state != templates_domain.PROPOSED:
            templates.act(self.rt, actor_id=self.ids["tom.price"], template_id=view.id, action="approve",
                          reason="Low risk and done often: pre-approved.")
            # A web-filter template touches safeguarding: the DSL approves it too (and the DPO
            # one that processes personal data in a new way).
            for specialist, (question, answer) in (("jo.webb", ("safeguarding", "yes")),
                                                   ("mo.ali", ("personal_data", "new"))):
                if screening.get(question) == answer:
                    templates.act(self.rt, actor_id=self.ids[specialist], template_id=view.id,
                                  action="approve")
        if state == templates_domain.RETIRED:
            templates.act(self.rt, actor_id=self.ids["tom.price"], template_id=view.id, action="retire",
                          reason="The tape library was replaced by the backup appliance.")
        self.templates[title] = view.ref
        return view.ref

    def begin(self, story: _Story) -> None:
        """Raise the story's change."""
        definition = story.definition
        view = changes.raise_change(self.rt, actor_id=self.ids[story.requester], title=story.title,
                                    category=story.category,
                                    description=f"{story.title}. Raised for the demo school.",
                                    affected_services=DEMO_TEMPLATE_SERVICES,
                                    urgency="Teaching is disrupted now: waiting for the next CAB would "
                                            "leave it broken for a week." if definition.emergency else "",
                                    emergency_purpose=RESTORE if definition.emergency else "",
                                    template=self.template(story.title) if definition.from_template else None,
                                    cost="180" if definition.from_template else None, school=story.school)
        story.ref, story.state = view.ref, view.state
        self.count += 1
        self.tick()

    def advance(self, story: _Story, triggers: list[str]) -> None:
        """Fire ``triggers`` in turn, filling each stage and deciding each gate on the way; the
        first gate of a story that shows a rejection says no once first."""
        definition, ref, requester = story.definition, story.ref, self.ids[story.requester]
        index, category, title = story.index, story.category, story.title
        for trigger in triggers:
            state = story.state
            self.fill(ref, requester, definition.states[state].edits, index, category, title)
            if definition.kind_of(state) == IN_REVIEW:
                self.give_feedback(ref)
            if trigger in definition.gate_triggers():
                self.decide_gate(ref, definition, state, category, requester, reject=not story.rejected)
                if not story.rejected:
                    story.rejected = True
                    self.tick()
                    for again in definition.path(state):
                        current = changes.get_change(self.rt, actor_id=requester, ref=ref).change.state
                        self.fill(ref, requester, definition.states[current].edits, index, category,
                                  title)
                        self.peer_review(ref, definition, current, again, category, requester)
                        changes.fire(self.rt, actor_id=requester, ref=ref, trigger=again)
                        self.tick()
                    self.decide_gate(ref, definition, state, category, requester, reject=False)
            else:
                self.peer_review(ref, definition, state, trigger, category, requester)
                dest = definition.table()[(state, trigger)]
                undoing = {BACKED_OUT: "Demo: backing out after failed tests.",
                           WITHDRAWN: "Demo: the need was met another way."}
                changes.fire(self.rt, actor_id=requester, ref=ref, trigger=trigger,
                             reason=undoing.get(definition.kind_of(dest) or "", ""))
            story.state = definition.table()[(state, trigger)]
            self.tick()

    def give_feedback(self, ref: str) -> None:
        """Those asked for 360° feedback answer, each a little differently (all but one in
        four, so a summary shows who has not)."""
        with self.rt.db.read() as session:
            change = change_store.load(session, ref)
            people = list(feedback_store.asked(session, change.id)) if change else []
        for n, uid in enumerate(people):
            if n % 4 == 3:
                continue
            feedback.respond(self.rt, actor_id=uid, ref=ref, data={
                "meets_need": 3 + n % 3, "disruption": 4 + n % 2, "training": 2 + n % 4, "communication": 4,
                "worked": ("Quick to sign in and the rooms were ready on Monday", "",
                           "The notice said exactly what would be down and when")[n % 3],
                "improve": ("", "A short how-to sheet for cover teachers",
                            "Tell the office a day sooner")[n % 3]})
            self.tick()

    def publish_until(self, until: datetime) -> None:
        """Publish the notices due by ``until``, each at its own time (the clock moved there)."""
        while True:
            with self.rt.db.read() as session:
                due = notice_store.next_publish_at(session, until)
            if due is None:
                return
            if due > self.rt.now():
                self.rt.clock.set(due)
            notices.publish_due(self.rt)

    def acknowledge(self, locals_: tuple[str, ...]) -> None:
        """These people read and acknowledge every release notice they have received."""
        for local in locals_:
            page = notices.release_notice_page(self.rt, actor_id=self.ids[local], limit=100)
            for item in page.items:
                if item.acknowledged_at is None:
                    notices.acknowledge(self.rt, actor_id=self.ids[local], notice_id=item.notice_id)
            self.tick()


@dataclass
class _Story:
    """One demo change: the state it ends in and the way there."""

    definition: WorkflowDefinition
    category: str
    target: str
    title: str
    requester: str  # the local part of a demo user's email
    index: int
    rejected: bool  # True: no rejection to show (else its first gate says no once)
    ref: str = ""
    state: str = ""
    school: str | None = None  # the school or schools it is for (a trust's; None: the only one)

    @property
    def triggers(self) -> list[str]:
        return self.definition.path(self.target)

    @property
    def release_step(self) -> int | None:
        """Where its release (or back-out) happens on the way, if it gets that far: such a
        change's window is in the past, the rest of its story before it."""
        table = self.definition.table()
        state = self.definition.initial
        for step, trigger in enumerate(self.triggers):
            state = table[(state, trigger)]
            if self.definition.kind_of(state) in (RELEASED, BACKED_OUT):
                return step
        return None


def _windows(school: SchoolCalendar, tz: ZoneInfo, first: date,
             step: int) -> Iterator[tuple[datetime, datetime]]:
    """Release windows after school (16:00–19:00) on school days clear of freezes and caution
    periods, one a day so none overlaps another: from ``first`` on (step 1) or back (-1)."""
    day = first
    for _ in range(WINDOW_SEARCH_DAYS):
        if school.is_school_day(day):
            start = datetime.combine(day, WINDOW_STARTS, tz)
            end = start + WINDOW_LENGTH
            if not school.overlapping(start, end, ("freeze", "caution")):
                yield start, end
        day += timedelta(days=step)
    raise RuntimeError(f"the demo calendar has no school day free for a release within "
                       f"{WINDOW_SEARCH_DAYS} days of {first.isoformat()}")


def _stories(rt: Runtime) -> list[_Story]:
    """A change in every state of every workflow, in turn by requester and category."""
    requesters = ["nat.osei", "tia.morgan"]
    stories = []
    index = 0
    categories = {"fits-change": ("minor", "significant", "major")}
    for wf in rt.workflows:
        definition = wf.definition
        cats = categories.get(definition.name, definition.categories)
        # Changes just past a gate are rejected once first, so the demo shows a rejection.
        past_gate = {definition.table()[(g.state, g.approve)] for g in definition.gates.values()}
        titles = TITLES.get(definition.name, TITLES["fits-change"])
        for state in definition.states:
            stories.append(_Story(definition, cats[index % len(cats)], state, titles[index % len(titles)],
                                  requesters[index % 2], index, rejected=state not in past_gate))
            index += 1
    return stories


def build_demo(rt: Runtime, *, password: str, progress: Callable[[int], None] | None = None,
               trust: bool = False) -> DemoResult:
    """Create the demo school unless its users exist already (with ``trust``, as the
    secondary of a trust of three schools: ``demo_trust``).

    The school has a past as well as a present, whatever today is: the changes that have
    been released (or backed out, reviewed, closed) are played out over the last weeks
    with the clock set back, their windows on the latest free school days before today
    and their notices published on their days, so every audience has something to read;
    the rest are raised now, their windows on the next free school days. Windows are one
    a day after school, clear of freezes and caution periods, so none clashes."""
    listed = tuple((name, demo_email(local), roles) for name, local, roles, _ in DEMO_USERS)
    if trust:
        listed += demo_trust.trust_people(demo_email)
    with rt.db.read() as session:
        if queries.user_by_email(session, demo_email("nat.osei")) is not None:
            return DemoResult(listed, change_store.count(session), created=False)
        # The demo's people sign in with a published password and no second factor: never
        # beside a school's real ones.
        real = user_store.count_except(session, [email for _, email, _ in listed])
    if real:
        raise InvalidInput({"database": f"this database holds {real} real user{'s' if real > 1 else ''}: the "
                                        "demo would add an administrator with a published password and no "
                                        "second factor. Use a new database for the demo "
                                        "(FITSFLOW_DATABASE_URL=sqlite:///demo.db)"})
    tz = rt.timezone
    today = rt.today()
    periods = [calendar.parse_period(rt, **row) for row in academic_years(today)]
    school = SchoolCalendar(periods, nation=rt.settings.school.nation, tz=tz,
                            publish_time=calendar.publish_time(rt))
    future = _windows(school, tz, school.school_days_after(rt.now(), 3).date(), 1)
    with rt.clock.kept() as clock:
        stories = _stories(rt)
        past = [s for s in stories if s.release_step is not None]
        past_windows = list(islice(_windows(school, tz, today - timedelta(days=1), -1), len(past)))[::-1]
        if past_windows:
            longest = max((a.lead_days for a in rt.roles.audiences.values()), default=0)
            first_notice = school.publish_moment(past_windows[0][0], longest).astimezone(tz).date()
            clock.set(datetime.combine(school.school_days_before(first_notice, 3), STORY_STARTS, tz))
        ids = {local: users.add_user(rt, name=name, email=demo_email(local), roles=roles,
                                     audiences=audiences, password=password, actor_label="demo")
               for name, local, roles, audiences in DEMO_USERS}
        # A try-out signs in with the printed password alone; a real installation's people do not.
        mfa.set_exempt(rt, user_ids=list(ids.values()), exempt=True)
        calendar.add_periods(rt, periods, actor_id=None, source="demo", label="demo")
        catalogue.load_demo(rt)
        driver = _Driver(rt, ids, school, future)
        driver.replaying = bool(past_windows)
        # The template catalogue also shows one awaiting the CAB and one retired.
        driver.template("Add a classroom to the visitor Wi-Fi", state=templates_domain.PROPOSED)
        driver.template("Change the tape in the old tape library", state=templates_domain.RETIRED)
        for story, window in zip(past, past_windows, strict=True):
            driver.begin(story)
            driver.windows[story.ref] = window
            step = story.release_step
            assert step is not None
            driver.advance(story, story.triggers[:step])
        for story, (_, window_end) in zip(past, past_windows, strict=True):
            driver.publish_until(window_end)
            if window_end > rt.now():
                clock.set(window_end)
            step = story.release_step
            assert step is not None
            driver.advance(story, story.triggers[step:])
            driver.acknowledge(ACKNOWLEDGERS)
            if progress:
                progress(1)
    # The present: the clock as it was.
    driver.replaying = False
    for story in stories:
        if story.release_step is None:
            driver.begin(story)
            driver.advance(story, story.triggers)
            if progress:
                progress(1)
    with rt.db.read() as session:
        parent = change_store.first_in(session, rt.workflows.states_of_kind(CLOSED))
    if parent is not None:
        changes.spawn_follow_up(rt, actor_id=parent[1], ref=parent[0],
                                title="Spare parts kept on site (from review)",
                                description="The support team's review feedback: keep spares.")
    _filtering_requests(rt, ids, today)
    _asset_register(rt, ids, today)
    if trust:
        demo_trust.build(rt, driver, password=password, email=demo_email, story=_Story)
    # Publish the present changes' notices already due.
    notices.publish_due(rt)
    with rt.db.read() as session:  # the stories, the follow-up, the change a pilot adopted
        return DemoResult(listed, change_store.count(session), created=True)


def _filtering_requests(rt: Runtime, ids: dict[str, int], today: date) -> None:
    """Web-filtering requests at each step: one applied for a month, one agreed and waiting for
    the network manager, one waiting for the safeguarding lead."""
    bitesize = filtering.ask(rt, actor_id=ids["sarah.khan"], data={
        "what": "www.bbc.co.uk/bitesize videos", "action": "allow", "for_whom": "Year 10",
        "why": "GCSE revision clips are blocked by the video category",
        "until": (today + timedelta(days=28)).isoformat()})
    filtering.act(rt, actor_id=ids["jo.webb"], request_id=bitesize.id, trigger="agree",
                  reason="Educational and moderated; the rest of the video category stays blocked")
    filtering.act(rt, actor_id=ids["nat.osei"], request_id=bitesize.id, trigger="apply")
    games = filtering.ask(rt, actor_id=ids["dee.walsh"], data={
        "what": "Browser games category", "action": "block", "for_whom": "Students",
        "why": "Students play games in the library at lunch instead of studying", "until": ""})
    filtering.act(rt, actor_id=ids["jo.webb"], request_id=games.id, trigger="agree",
                  reason="Agreed for students; staff keep access for lesson planning")
    filtering.ask(rt, actor_id=ids["priya.shah"], data={
        "what": "scratch.mit.edu", "action": "allow", "for_whom": "Key stage 3 computing",
        "why": "The new programming unit uses Scratch projects shared online", "until": ""})


def _asset_register(rt: Runtime, ids: dict[str, int], today: date) -> None:
    """The register's first entries: core kit with warranty, licence and refresh dates (the
    firewall's subscription ends within the renewal notice, so the worker raises its need)."""
    def day(days: int) -> str:
        return (today + timedelta(days=days)).isoformat()

    rows = [
        ("tag", "name", "kind", "serial", "location", "warranty_ends", "licence_ends", "subscription_ends",
         "refresh_on"),
        ("SW-CORE-01", "Core switch", "switch", "FDO2231X0AB", "Server room", day(400), "", "",
         day(1400)),
        ("FW-01", "Firewall", "firewall", "FGT60F0000123", "Server room", day(200), "", day(21), day(900)),
        ("SRV-01", "File server", "server", "CZ2049ABC1", "Server room", day(90), "", "", day(300)),
        ("AP-LIB-01", "Library wireless access point", "access point", "Q3AB-1234-5678", "Library",
         day(700), "", "", day(1600)),
        ("LIC-MIS", "MIS licence", "licence", "", "", "", day(150), "", ""),
        ("LT-STAFF-017", "Staff laptop 17", "laptop", "5CG1234XYZ", "Staff room", day(-30), "", "", day(60)),
    ]
    text = "\n".join(",".join(row) for row in rows) + "\n"
    assets.import_csv(rt, actor_id=ids["nat.osei"], text=text)


def demo_size(rt: Runtime) -> int:
    """How many changes ``build_demo`` walks (for a progress bar)."""
    return sum(len(wf.definition.states) for wf in rt.workflows)
