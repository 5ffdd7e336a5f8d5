"""Issue: besides the services' clock there were 14 direct ``datetime.now`` calls, so a test
(or the demo) that set the time still met the machine's date somewhere. Business time now
comes from the runtime's clock alone: this test reads the source and names any other
reading of the machine's clock."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fitsflow.clock import Clock
from fitsflow.persistence import audit_store
from fitsflow.services import changes, users

from . import factories as f

# Its outcome depends on the calendar: .ci/run also runs it with the machine's clock faked.
pytestmark = pytest.mark.calendar

ROOT = Path(__file__).resolve().parent.parent
# The clock itself, and migrations (frozen code that runs before any runtime exists).
ALLOWED = {ROOT / "fitsflow" / "clock.py"}
FORBIDDEN = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
             ("time", "time"), ("time", "time_ns")}


def _clock_reads(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) \
                and (node.func.value.id, node.func.attr) in FORBIDDEN:
            found.append(f"{name}:{node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return found


def test_nothing_but_the_clock_reads_the_machines_time():
    sources = [p for folder in ("fitsflow", "web") for p in (ROOT / folder).rglob("*.py")
               if p not in ALLOWED and "migrations" not in p.parts]
    assert len(sources) > 100
    assert [hit for p in sources for hit in _clock_reads(p.read_text(), str(p.relative_to(ROOT)))] == []


def test_the_check_finds_a_clock_read():
    sample = ("import time\nfrom datetime import date, datetime\n"
              "a = datetime.now()\nb = time.time()\nc = time.monotonic()\nd = date.today()\n")
    # monotonic() measures a duration, not a date: allowed.
    assert _clock_reads(sample, "sample.py") == ["sample.py:3: datetime.now()", "sample.py:4: time.time()",
                                                 "sample.py:6: date.today()"]


def test_a_set_clock_is_what_every_record_and_audit_event_carries(sqlite_rt):
    rt = sqlite_rt
    christmas = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    rt.clock.set(christmas)
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "needs_analysis")
    change = changes.get_change(rt, actor_id=school.requester, ref=ref).change
    assert change.created_at == christmas and change.updated_at == christmas
    with rt.db.read() as session:
        stamps = {row[1] for row in audit_store.iter_rows(session)}
    assert stamps == {christmas.isoformat(timespec="microseconds")}
    rt.clock.advance(timedelta(days=1))
    users.add_user(rt, name="Late Starter", email="late@test.school", roles="", audiences="staff",
                   password="a long enough password", actor_label="test")
    with rt.db.read() as session:
        last = list(audit_store.iter_rows(session))[-1]
    assert last[1] == (christmas + timedelta(days=1)).isoformat(timespec="microseconds")


def test_the_clock_runs_on_from_where_it_is_set_and_goes_back_when_kept():
    clock = Clock()
    assert not clock.is_set
    start = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    clock.set(start, running=True)
    first = clock.now()
    assert start <= first < start + timedelta(seconds=5) and clock.now() >= first
    with clock.kept():
        clock.set(datetime(2028, 2, 29, 9, 0, tzinfo=UTC))
        clock.advance(timedelta(minutes=7))
        assert clock.now() == datetime(2028, 2, 29, 9, 7, tzinfo=UTC)
    assert start <= clock.now() < start + timedelta(seconds=5)
    clock.follow_system()
    assert not clock.is_set and abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
