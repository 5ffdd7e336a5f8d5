"""Issue 24.7: `fitsflow demo --trust` makes a trust of three schools — the demo school as
its secondary, two primaries (one in Wales, with its bank holidays) — with trust roles, a
trust-wide change and each school's own; `make run` keeps the single school. Built on days
that catch a calendar out (a holiday, the exam season, today)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from fitsflow.cli import cli
from fitsflow.persistence import queries
from fitsflow.persistence.models import Change, ReleaseNotice
from fitsflow.services import change_search, queues, schools
from fitsflow.services.change_search import ChangeFilter
from fitsflow.services.demo import build_demo, demo_email, demo_size
from fitsflow.services.demo_trust import PRIMARIES, STORIES, TRUST_USERS

from .conftest import sqlite_runtime
from .test_demo_all_or_nothing import database_url  # noqa: F401 (a fixture)

pytestmark = pytest.mark.calendar

PASSWORD = "demo trust password"


def _id(rt, local: str) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        user = queries.user_by_email(session, demo_email(local))
        assert user is not None and user.id is not None
        return user.id


@pytest.mark.parametrize("day", ["2026-12-06", "2026-12-21", "2027-05-18"])
def test_the_demo_trust(day):
    rt = sqlite_runtime()
    rt.clock.set(datetime.combine(date.fromisoformat(day), time(10), rt.timezone), running=True)
    try:
        with rt.db.all_or_nothing():
            result = build_demo(rt, password=PASSWORD, trust=True)
        assert result.created and result.changes == demo_size(rt) + 2 + len(STORIES)
        assert len(result.users) == 15 + len(TRUST_USERS)
        every = {s.slug: s for s in schools.every_school(rt)}
        assert list(every) == ["school", *(slug for slug, _, _ in PRIMARIES)]
        assert every["ysgol-cwm"].nation == "wales"
        # The trust-wide change: scheduled, a notice per audience for each of the three schools.
        nat = _id(rt, "nat.osei")
        wide = change_search.find(rt, actor_id=nat, filters=ChangeFilter(q="one email tenancy"), limit=5)
        ref = wide.items[0].change.ref
        with rt.db.read() as session:
            drafted = session.execute(select(ReleaseNotice.school_id).join(
                Change, Change.id == ReleaseNotice.change_id).where(Change.ref == ref)).scalars().all()
        assert sorted(set(drafted)) == [every[s].id for s in every]
        assert len(drafted) == 3 * len(rt.roles.audiences)
        # The firewall waits for the trust's finance (above its threshold) in the CFO's queue.
        fiona = _id(rt, "fiona.grant")
        assert [c.title for c in queues.awaiting_decision(rt, actor_id=fiona).items] == \
            ["Trust-wide: replace every school's firewall"]
        # The primaries' network manager sees the primaries' changes and the trust-wide
        # ones, never the secondary's own.
        lee = _id(rt, "lee.evans")
        seen = {c.change.title for c in change_search.find(rt, actor_id=lee, filters=ChangeFilter(),
                                                           limit=100).items}
        assert seen == {title for title, *_ in STORIES}
        # The secondary's head sees the trust-wide changes with their own, not a primary's.
        helen = _id(rt, "helen.carter")
        titles = {c.change.title for c in change_search.find(rt, actor_id=helen, filters=ChangeFilter(),
                                                             limit=100).items}
        assert "Trust-wide: one email tenancy for every school" in titles
        assert "Brook: replace the hall projector" not in titles and len(titles) > 30
    finally:
        rt.db.dispose()


def test_the_command_builds_a_trust_and_make_run_one_school(database_url):  # noqa: F811
    runner = CliRunner()
    made = runner.invoke(cli, ["demo", "--trust", "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    assert "demo trust created" in made.output and "fiona.grant@demo.school" in made.output
    listed = runner.invoke(cli, ["school", "list"])
    assert "ysgol-cwm" in listed.output and "1+2+3" not in listed.output
