"""An exception at any step of a transition leaves nothing behind: state, version,
decisions, audit events and outbox rows are as they were."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select
from sqlmodel import Session

from fitsflow.persistence.models import Approval
from fitsflow.services import audit as audit_service
from fitsflow.services import changes, common, gates
from fitsflow.workflow import registry

from . import factories as f


class Injected(RuntimeError):
    pass


def _boom(*_args: object, **_kwargs: object) -> None:
    raise Injected("injected failure")


@contextmanager
def guard_fails(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patch:
        patch.setattr(registry._GuardSet, "__call__", _boom)
        yield


@contextmanager
def callback_fails(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as patch:
        patch.setattr(common, "record_transition", _boom)
        yield


def _failing_statement(prefix: str, nth: int = 1):  # type: ignore[no-untyped-def]
    """A cursor-level hook that fails the nth statement starting with ``prefix``."""
    seen = {"n": 0}

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(prefix):
            seen["n"] += 1
            if seen["n"] == nth:
                raise Injected(f"{prefix} failed")

    return before_cursor_execute


@contextmanager
def _statement_fails(rt, prefix: str, nth: int = 1) -> Iterator[None]:  # type: ignore[no-untyped-def]
    hook = _failing_statement(prefix, nth)
    event.listen(rt.db.engine, "before_cursor_execute", hook)
    try:
        yield
    finally:
        event.remove(rt.db.engine, "before_cursor_execute", hook)


def audit_write_fails_late(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The audit insert fails at commit time, after the change row was already updated."""
    return _statement_fails(rt, "INSERT INTO AUDIT_EVENTS")


def head_update_fails(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The very last write (the chain head) fails, after every other row was written."""
    return _statement_fails(rt, "UPDATE AUDIT_HEAD")


def outbox_write_fails(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    return _statement_fails(rt, "INSERT INTO OUTBOX")


@contextmanager
def commit_fails(monkeypatch: pytest.MonkeyPatch, rt) -> Iterator[None]:  # type: ignore[no-untyped-def]
    event.listen(Session, "before_commit", _boom)
    try:
        yield
    finally:
        event.remove(Session, "before_commit", _boom)


INJECTIONS: dict[str, Callable[..., object]] = {
    "guard": guard_fails,
    "callback": callback_fails,
    "audit write": audit_write_fails_late,
    "audit head write": head_update_fails,
    "outbox write": outbox_write_fails,
    "commit": commit_fails,
}


def _approvals(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        return int(session.execute(select(func.count()).select_from(Approval)).scalar_one())


@pytest.mark.parametrize("step", list(INJECTIONS))
def test_final_decision_is_all_or_nothing(rt, monkeypatch, step):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "implement_approval")
    before = (f.snapshot(rt, ref), f.counts(rt), _approvals(rt))
    with INJECTIONS[step](monkeypatch, rt), pytest.raises(Injected):  # type: ignore[attr-defined]
        gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert (f.snapshot(rt, ref), f.counts(rt), _approvals(rt)) == before
    assert changes.get_change(rt, actor_id=school.requester, ref=ref).change.state == "implement_approval"
    assert audit_service.verify(rt).ok
    # and the same decision then goes through whole
    gates.decide(rt, actor_id=school.cab[0], ref=ref, decision="approve")
    assert f.snapshot(rt, ref)[0] == "approved"


@pytest.mark.parametrize("step", list(INJECTIONS))
def test_submission_is_all_or_nothing(rt, monkeypatch, step):
    school = f.School(rt)
    ref = f.change_in(rt, school, "significant", "financial_planning")
    f.fill_stages(rt, school.requester, ref, ("finance",))
    before = (f.snapshot(rt, ref), f.counts(rt))
    with INJECTIONS[step](monkeypatch, rt), pytest.raises(Injected):  # type: ignore[attr-defined]
        changes.fire(rt, actor_id=school.requester, ref=ref, trigger="submit_proceed")
    assert (f.snapshot(rt, ref), f.counts(rt)) == before
    assert audit_service.verify(rt).ok
