"""The demo trust (``fitsflow demo --trust``): the demo school becomes the secondary of a
trust with two primaries — one in Wales, with its bank holidays — whose network manager
looks after both; the trust's CEO, IT director, CAB and CFO; a trust-wide change released
to every school's people and one waiting for the trust's finance, and each primary's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import mfa, schools, users
from .runtime import Runtime

# slug, name, nation
PRIMARIES = (("brook-primary", "Brook Primary School", "england"),
             ("ysgol-cwm", "Ysgol Gynradd Cwm", "wales"))
SECONDARY = "school"  # the demo school: the installation's first

TRUST_USERS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    # name, local part, roles, audiences, schools (none: a trust role sees every school)
    ("Claire Dunn (Trust CEO)", "claire.dunn", "ceo", "slt", ()),
    ("Ravi Patel (Trust IT Director, trust CAB)", "ravi.patel", "it_director trust_cab", "support", ()),
    ("Owen Price (Trust CAB)", "owen.price", "trust_cab", "support", ()),
    ("Fiona Grant (Trust CFO)", "fiona.grant", "trust_finance", "slt", ()),
    ("Lee Evans (Network Manager, both primaries)", "lee.evans", "requester", "support",
     ("brook-primary", "ysgol-cwm")),
    ("Amy Hall (Headteacher, Brook Primary)", "amy.hall", "head slt cab", "slt staff", ("brook-primary",)),
    ("Dan Jones (Business Manager, Brook Primary)", "dan.jones", "finance", "slt", ("brook-primary",)),
    ("Ffion Rees (Headteacher, Ysgol Cwm)", "ffion.rees", "head slt cab", "slt staff", ("ysgol-cwm",)),
    ("Huw Morgan (Business Manager, Ysgol Cwm)", "huw.morgan", "finance", "slt", ("ysgol-cwm",)),
    ("Beth Jones (Teacher at both primaries)", "beth.jones", "", "staff", ("brook-primary", "ysgol-cwm")),
)
EVERY_SCHOOL = ",".join((SECONDARY, *(slug for slug, _, _ in PRIMARIES)))

# title, category, the state it ends in, requester, school(s)
STORIES = (
    ("Trust-wide: one email tenancy for every school", "significant", "scheduled", "nat.osei", EVERY_SCHOOL),
    ("Trust-wide: replace every school's firewall", "major", "proceed_approval", "nat.osei", EVERY_SCHOOL),
    ("Brook: replace the hall projector", "minor", "scheduled", "lee.evans", "brook-primary"),
    ("Ysgol Cwm: Wi-Fi for the new classroom", "minor", "implement_approval", "lee.evans", "ysgol-cwm"),
)


def trust_people(email: Callable[[str], str]) -> tuple[tuple[str, str, str], ...]:
    """(name, email, roles) of the trust's demo people, for the list printed."""
    return tuple((name, email(local), roles) for name, local, roles, _, _ in TRUST_USERS)


def build(rt: Runtime, driver: Any, *, password: str, email: Callable[[str], str],
          story: Callable[..., Any]) -> int:
    """Add the trust to the built demo school (``driver``: the demo's, which raises and
    advances a ``story``); return how many changes it raised."""
    make = email
    for slug, name, nation in PRIMARIES:
        schools.add_school(rt, slug=slug, name=name, nation=nation, actor_label="demo")
    for name, local, roles, audiences, member in TRUST_USERS:
        driver.ids[local] = users.add_user(rt, name=name, email=make(local), roles=roles, audiences=audiences,
                                           password=password, actor_label="demo")
        # A trust role belongs to no school: it acts in every one (and only the trust's
        # administrators manage it).
        schools.set_user_schools(rt, email=make(local), slugs=member, actor_label="demo")
    mfa.set_exempt(rt, user_ids=[driver.ids[local] for _, local, _, _, _ in TRUST_USERS], exempt=True)
    # The network manager raises the trust-wide changes: they work in every school.
    schools.set_user_schools(rt, email=make("nat.osei"), slugs=EVERY_SCHOOL.split(","), actor_label="demo")
    definition = rt.workflows.get("fits-change").definition
    for index, (title, category, target, requester, where) in enumerate(STORIES, start=1):
        told = story(definition, category, target, title, requester, index, rejected=True, school=where)
        driver.begin(told)
        driver.advance(told, told.triggers)
    return len(STORIES)
