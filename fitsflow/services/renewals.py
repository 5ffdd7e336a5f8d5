"""The renewal calendar (issue 25.4): each asset's warranty, licence and subscription end and
its refresh date raise a need — a change at needs analysis, linked to the asset — a configured
number of school days before the date (``assets.renewal_school_days``, on the asset's school's
calendar), once per date however many workers sweep."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from ..domain import assets as rules
from ..domain import limits, stages
from ..domain.errors import FitsflowError, InvalidInput
from ..domain.roles import REQUESTER
from ..persistence import asset_store, audit_store, queries
from . import calendar, common
from .changes import insert_raised
from .common import unit_of_work
from .runtime import Runtime
from .stages import start_needs

log = logging.getLogger(__name__)

_WARNED: set[tuple[int, int, str, date]] = set()


def raise_renewals(rt: Runtime, *, now: datetime | None = None) -> int:
    """Raise a need for each renewal date whose day has come: ``assets.renewal_school_days``
    school days before it (each once however many workers sweep, each in its own transaction).
    Return how many were raised."""
    now = now or rt.now()
    today = now.astimezone(rt.timezone).date()
    ahead = rt.settings.assets.renewal_school_days
    # School days are fewer than days: a window long enough for the longest holidays.
    with rt.db.read() as session:
        due = asset_store.renewals_between(session, today, today + timedelta(days=ahead * 2 + 70))
        ready = [
            (row.id, field, day)
            for row, field, day in due
            if calendar.school_calendar(rt, session, row.school_id).school_days_before(day, ahead) <= today
        ]
    raised = 0
    for asset_id, field, day in ready:
        try:
            raised += _raise_renewal(rt, asset_id, field, day)
        except asset_store.AlreadyRaised:
            continue
        except FitsflowError as err:
            said = (id(rt.db), asset_id, field, day)
            if said not in _WARNED:
                _WARNED.add(said)
                log.warning("asset %s: the %s need could not be raised: %s", asset_id, field, err)
    return raised


def _raise_renewal(rt: Runtime, asset_id: int, field: str, day: date) -> int:
    with unit_of_work(rt) as session:
        row = asset_store.one(session, asset_id, schools=None)
        people = queries.users_with_roles(
            session, [REQUESTER], school_id=row.school_id, across=rt.roles.trust_roles
        )
        if not people:
            raise InvalidInput({"requester": "the school has no requester to raise it"})
        asset_store.claim_renewal(session, asset_id=asset_id, field_name=field, due_on=day, now=rt.now())
        actor = common.load_actor(rt, session, min(people))
        what = rules.RENEWALS[field]
        ends = "falls due" if field == "refresh_on" else "ends"
        label = f"{row.name} ({row.tag})" if row.tag else row.name
        title = f"Renew the {what} of {label}: it {ends} on {day:%d %b %Y}"[: limits.TITLE]
        need = (
            f"The {what} of {label}"
            + (f", serial {row.serial}" if row.serial else "")
            + (f", at {row.location}" if row.location else "")
            + f" {ends} on {day:%A %d %B %Y}. "
            "Decide whether to renew, replace or retire it."
        )
        change = insert_raised(
            session,
            rt,
            actor,
            title=title,
            description=need,
            category=rt.settings.assets.renewal_category,
            school_id=row.school_id,
        )
        start_needs(
            rt,
            session,
            actor,
            change,
            stages.Needs(need=need, stakeholders=(), sdp_priority="", options_considered=""),
        )
        asset_store.link(session, change_id=change.id, asset_id=asset_id, how=rules.TOUCHES, now=rt.now())
        asset_store.set_renewal_change(
            session, asset_id=asset_id, field_name=field, due_on=day, change_id=change.id
        )
        audit_store.append(
            session,
            actor="renewals",
            change_ref=change.ref,
            event_type="asset.renewal_raised",
            payload={"asset": asset_id, "field": field, "due": day.isoformat()},
        )
        return 1
