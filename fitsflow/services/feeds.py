"""Calendar feeds (RFC 5545) for Outlook, Google Calendar and phones: a secret address
per person and feed, stored as a hash; "mine" (the changes one raised or decided on) and
"schedule" (every release and every freeze and caution period, for the CAB, SLT and the
support team)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from .. import security_log
from ..domain.calendar import KIND_TITLES, Period
from ..domain.errors import InvalidInput, NotFound
from ..domain.vocabulary import CANCELLED_RELEASE_KINDS, CONFIRMED_RELEASE_KINDS
from ..persistence import audit_store, calendar_store, feed_store, queries
from . import account_notices
from .common import load_actor, now, unit_of_work
from .runtime import Runtime

KINDS = ("mine", "schedule")
FEED_TITLES = {"mine": "My changes", "schedule": "Forward schedule of change"}


@dataclass(frozen=True)
class FeedView:
    id: int
    kind: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Feed:
    body: bytes
    etag: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_have_schedule(rt: Runtime, roles: frozenset[str], audiences: set[str]) -> bool:
    cal = rt.settings.calendar
    wanted_roles = {r.strip() for r in cal.schedule_feed_roles.split(",") if r.strip()}
    wanted_audiences = {a.strip() for a in cal.schedule_feed_audiences.split(",") if a.strip()}
    return bool(roles & wanted_roles or audiences & wanted_audiences)


def kinds_for(rt: Runtime, *, user_id: int) -> tuple[str, ...]:
    with rt.db.read() as session:
        actor = load_actor(rt, session, user_id)
        audiences = queries.audiences_of(session, user_id)
    return KINDS if may_have_schedule(rt, actor.roles, set(audiences)) else ("mine",)


def create_feed(rt: Runtime, *, user_id: int, kind: str) -> str:
    """A new secret feed address token (shown once; only its hash is kept)."""
    if kind not in kinds_for(rt, user_id=user_id):
        raise InvalidInput({"kind": "the whole forward schedule is for the roles and audiences in "
                                    "calendar.schedule_feed_roles/_audiences" if kind == "schedule"
                            else f"must be one of: {', '.join(KINDS)}"})
    token = "fc_" + secrets.token_urlsafe(32)
    with unit_of_work(rt) as session:
        actor = load_actor(rt, session, user_id)
        feed_store.add(session, user_id=user_id, kind=kind, token_hash=_digest(token), at=now())
        audit_store.append(session, actor=actor.label, change_ref="", event_type="feed.created",
                           payload={"kind": kind})
        account_notices.tell(session, [user_id], at=now(), subject="A calendar feed was made for you",
                             body=f"A calendar feed ({FEED_TITLES[kind]}) was made for your fitsflow "
                                  "account. Anyone with its address can read it: if it was not you, "
                                  "revoke it on your account page.")
    security_log.event("feed.created", email=actor.email, kind=kind)
    return token


def list_feeds(rt: Runtime, *, user_id: int) -> list[FeedView]:
    with rt.db.read() as session:
        return [FeedView(f.id or 0, f.kind, f.created_at, f.revoked_at)
                for f in feed_store.of_user(session, user_id)]


def revoke_feed(rt: Runtime, *, user_id: int, feed_id: int) -> None:
    with unit_of_work(rt) as session:
        kind = feed_store.revoke(session, user_id=user_id, feed_id=feed_id, at=now())
        if kind is None:
            raise NotFound("no such calendar feed")
        if kind:
            actor = load_actor(rt, session, user_id)
            audit_store.append(session, actor=actor.label, change_ref="", event_type="feed.revoked",
                               payload={"kind": kind})


def render(rt: Runtime, *, token: str) -> Feed | None:
    """The feed behind a secret address, or None (unknown, revoked, or its owner inactive)."""
    if not token.startswith("fc_") or len(token) > 100:
        return None
    at = now()
    since = at - timedelta(days=rt.settings.calendar.feed_past_days)
    until = at + timedelta(days=366)
    with rt.db.read() as session:
        feed = feed_store.by_hash(session, _digest(token))
        if feed is None or feed.revoked_at is not None:
            return None
        user = queries.actor_row(session, feed.user_id)
        if user is None or not user[3]:
            return None
        kind = feed.kind
        if kind == "schedule":
            states = rt.workflows.states_of_kind(*CONFIRMED_RELEASE_KINDS, *CANCELLED_RELEASE_KINDS)
            releases = feed_store.releases(session, since=since, until=until, states=states)
            periods = [p for p in calendar_store.all_periods(session)
                       if p.effect in ("freeze", "caution") and p.overlaps(since, until)]
        else:
            releases = feed_store.releases(session, since=since, until=until, involving=feed.user_id)
            periods = []
    body = _ical(rt, kind, releases, periods)
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _host(rt: Runtime) -> str:
    return urlsplit(rt.settings.delivery.base_url).hostname or "fitsflow.invalid"


def _ical(rt: Runtime, kind: str, releases: list[feed_store.FeedRelease], periods: list[Period]) -> bytes:
    tz = rt.timezone
    host = _host(rt)
    base = rt.settings.delivery.base_url.rstrip("/")
    cancelled = set(rt.workflows.states_of_kind(*CANCELLED_RELEASE_KINDS))
    confirmed = set(rt.workflows.states_of_kind(*CONFIRMED_RELEASE_KINDS))
    cal = Calendar()
    cal.add("prodid", "-//fitsflow//change and release management//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{rt.settings.school.name}: {FEED_TITLES[kind]}")
    cal.add("x-wr-timezone", rt.settings.school.timezone)
    for r in releases:
        event = Event()
        event.add("uid", f"{r.ref.lower()}@{host}")
        event.add("dtstamp", r.updated_at)
        event.add("last-modified", r.updated_at)
        event.add("sequence", r.sequence)
        event.add("dtstart", r.window_start.astimezone(tz))
        event.add("dtend", r.window_end.astimezone(tz))
        event.add("summary", f"{r.ref}: {r.title}")
        where = (r.workflow, r.state)
        event.add("status", "CANCELLED" if where in cancelled else "CONFIRMED" if where in confirmed
                  else "TENTATIVE")
        event.add("categories", [r.category])
        link = f"{base}/changes/{r.ref}"
        event.add("url", link)
        lines = [f"Change {r.ref} ({r.category}), raised by {r.requester}.",
                 f"State: {r.state.replace('_', ' ')}.", f"Details: {link}"]
        if r.contact:
            lines.append(f"On the day, and for a back-out: {r.contact}")
        event.add("description", "\n".join(lines))
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    for p in periods:
        event = Event()
        event.add("uid", f"period-{p.id}@{host}")
        event.add("dtstamp", datetime.combine(date(2000, 1, 1), time(0)).replace(tzinfo=tz))
        first, last = p.days(tz)
        if p.starts_at == datetime.combine(first, time(0), tz) and \
                p.ends_at == datetime.combine(last + timedelta(days=1), time(0), tz):
            event.add("dtstart", first)
            event.add("dtend", last + timedelta(days=1))
        else:
            event.add("dtstart", p.starts_at.astimezone(tz))
            event.add("dtend", p.ends_at.astimezone(tz))
        verb = "Change freeze" if p.effect == "freeze" else "Caution"
        event.add("summary", f"{verb}: {p.title}")
        event.add("description", f"{KIND_TITLES[p.kind]}. {p.reason}".strip())
        event.add("categories", [p.effect])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()
