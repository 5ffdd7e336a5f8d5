"""Calendar feeds (RFC 5545) for Outlook, Google Calendar and phones: a secret address
per person and feed, stored as a hash; "mine" (the changes one raised or decided on) and
"schedule" (every release and every freeze and caution period, for the CAB, SLT and the
support team)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from .. import security_log
from ..domain import ical_zone
from ..domain.calendar import KIND_TITLES, Period, local_midnight
from ..domain.errors import InvalidInput, NotFound
from ..domain.roles import may_view_changes
from ..domain.vocabulary import CANCELLED_RELEASE_KINDS, CONFIRMED_RELEASE_KINDS
from ..persistence import audit_store, calendar_store, feed_store, queries, school_scope
from . import account_notices, maintenance, range_releases
from .common import load_actor, schools_seen, unit_of_work
from .runtime import Runtime

KINDS = ("mine", "schedule", "maintenance")
FEED_TITLES = {"mine": "My changes", "schedule": "Forward schedule of change",
               "maintenance": "Planned maintenance"}
FEED_ABOUT = {"mine": "changes you raised or decided on",
              "schedule": "every release, freeze and caution period",
              "maintenance": "what ICT work is coming and what you will notice: for everyone"}


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
    wanted_roles, wanted_audiences = set(cal.schedule_feed_roles), set(cal.schedule_feed_audiences)
    return bool(roles & wanted_roles or audiences & wanted_audiences)


def kinds_for(rt: Runtime, *, user_id: int) -> tuple[str, ...]:
    with rt.db.read() as session:
        actor = load_actor(rt, session, user_id)
        audiences = queries.audiences_of(session, user_id)
    if not may_view_changes(actor.roles):
        return ("maintenance",)
    return KINDS if may_have_schedule(rt, actor.roles, set(audiences)) else ("mine", "maintenance")


def create_feed(rt: Runtime, *, user_id: int, kind: str) -> str:
    """A new secret feed address token (shown once; only its hash is kept)."""
    if kind not in kinds_for(rt, user_id=user_id):
        raise InvalidInput({"kind": "the whole forward schedule is for the roles and audiences in "
                                    "calendar.schedule_feed_roles/_audiences" if kind == "schedule"
                            else f"must be one of: {', '.join(KINDS)}"})
    token = "fc_" + secrets.token_urlsafe(32)
    with unit_of_work(rt) as session:
        actor = load_actor(rt, session, user_id)
        feed_store.add(session, user_id=user_id, kind=kind, token_hash=_digest(token), at=rt.now())
        audit_store.append(session, actor=actor.label, change_ref="", event_type="feed.created",
                           payload={"kind": kind})
        account_notices.tell(session, [user_id], at=rt.now(), subject="A calendar feed was made for you",
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
        kind = feed_store.revoke(session, user_id=user_id, feed_id=feed_id, at=rt.now())
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
    with rt.db.read() as session:
        feed = feed_store.by_hash(session, _digest(token))
        if feed is None or feed.revoked_at is not None:
            return None
        user = queries.actor_row(session, feed.user_id)
        if user is None or not user.active:
            return None
        kind, user_id, schools = feed.kind, feed.user_id, schools_seen(rt, user)
    # Calendar clients poll every few minutes: a feed is built once per version of what it
    # shows — its range's changes (a decision on a change outside it leaves the feed), the
    # catalogue and people (the "schedule" read) and the school calendar (the "calendar"
    # read) — and per day, as its range moves; the schedule feed once for everyone who has it.
    today = rt.now().astimezone(rt.timezone).date()
    since = local_midnight(today - timedelta(days=rt.settings.calendar.feed_past_days), rt.timezone)
    until = local_midnight(today + timedelta(days=367), rt.timezone)
    with rt.db.read() as session:
        version = feed_store.range_version(session, since=since, until=until)
    key = ("feed", kind, user_id if kind == "mine" else None, since, until, version, schools)
    return rt.cache.get(rt.db, ("schedule", "calendar"), key,
                        lambda: _feed(rt, kind, user_id, since, until, key, schools), shelf="feeds")


def _feed(rt: Runtime, kind: str, user_id: int, since: datetime, until: datetime,
          key: tuple[object, ...], schools: frozenset[int] | None) -> Feed:
    """The feed's text, from its releases' events (kept per version of its range's changes
    and of the catalogue and people: a calendar edit leaves them) and, for the schedule, the
    calendar's freezes and cautions (read afresh)."""
    if kind == "maintenance":
        start = since.astimezone(rt.timezone).date()
        items = maintenance.planned(rt, actor_id=None, start=start, schools=schools,
                                    days=(until.astimezone(rt.timezone).date() - start).days)
        body = _ical_maintenance(rt, items)
        return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    events = rt.cache.get(rt.db, "schedule", ("events", *key),
                          lambda: _events(rt, kind, user_id, since, until, schools), shelf="feed events")
    periods: list[Period] = []
    if kind == "schedule":
        with rt.db.read() as session:
            school = next(iter(schools)) if schools is not None and len(schools) == 1 else None
            periods = [p for p in calendar_store.periods_of(session, school)
                       if p.effect in ("freeze", "caution") and p.overlaps(since, until)]
    body = _ical(rt, kind, events, periods)
    return Feed(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _events(rt: Runtime, kind: str, user_id: int, since: datetime, until: datetime,
            schools: frozenset[int] | None) -> tuple[str, ...]:
    """Each release of the feed's range (of ``schools``; None: every school), as its VEVENT's text."""
    with rt.db.read() as session:
        school_scope.limit_to(session, schools)
        if kind != "schedule":
            return release_events(rt, feed_store.releases(session, since=since, until=until,
                                                          involving=user_id))
        scope = school_scope.scope_of(session)  # the schools and the sets of them
    seen = None if scope is None else frozenset(scope)
    # The schedule's: from the range's rows kept for everyone (a decision reads its one change
    # again), each event's text written again only for a row that moved.
    status = _statuses(rt)
    rows = range_releases.of(rt, since, until).current(rt, since, until)
    shown = [k for k in rows if k.pair in status and (seen is None or k.row.school_id in seen)]
    tzid, host, base = rt.settings.school.timezone, _host(rt), rt.settings.delivery.base_url.rstrip("/")
    return tuple(k.make(("vevent", tzid, host, base, status[k.pair]), _kept_event)
                 for k in shown[:feed_store.FEED_ROWS_MAX])


def _kept_event(kept: range_releases.Kept, key: tuple[Any, ...]) -> str:
    """A kept row's VEVENT; ``key``: ("vevent", time zone, host, base address, status)."""
    _, tzid, host, base, status = key
    return _vevent(kept.row, tzid, host, base, status)


def _statuses(rt: Runtime) -> dict[tuple[str, str], str]:
    """An event's STATUS by its change's (workflow, state), from the state's kind: cancelled or
    confirmed (the schedule feed shows only these); any other state is TENTATIVE."""
    cancelled = set(rt.workflows.states_of_kind(*CANCELLED_RELEASE_KINDS))
    return {pair: "CANCELLED" if pair in cancelled else "CONFIRMED"
            for pair in rt.workflows.states_of_kind(*CONFIRMED_RELEASE_KINDS, *CANCELLED_RELEASE_KINDS)}


def release_events(rt: Runtime, releases: list[feed_store.FeedRelease]) -> tuple[str, ...]:
    """Each release's VEVENT text, with its status from its state's kind."""
    tzid = rt.settings.school.timezone
    host, base = _host(rt), rt.settings.delivery.base_url.rstrip("/")
    status = _statuses(rt)
    return tuple(_vevent(r, tzid, host, base, status.get((r.workflow, r.state), "TENTATIVE"))
                 for r in releases)


def _host(rt: Runtime) -> str:
    return urlsplit(rt.settings.delivery.base_url).hostname or "fitsflow.invalid"


# Written by hand rather than through icalendar's object model: a year's schedule is
# thousands of events, and building an object per property cost seconds per request.
# The tests read every feed back with icalendar and with vobject.
def _text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def _fold(line: str) -> str:
    """RFC 5545 3.1: lines of at most 75 octets, continued after CRLF and a space."""
    if len(line) <= 75 and line.isascii():
        return line
    raw = line.encode()
    if len(raw) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while start < len(raw):
        end = min(start + limit, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # never split a UTF-8 character
            end -= 1
        parts.append(raw[start:end].decode())
        start, limit = end, 74
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


@cache
def _vtimezone(tzid: str, year: int) -> str:
    """The VTIMEZONE block for the school's zone: its yearly rules where it has them (every
    reader applies those alike), else each change since 1970 as icalendar derives them."""
    lines = ical_zone.vtimezone(tzid, year)
    if lines is not None:
        return "\r\n".join(lines)
    from icalendar import Calendar, Event  # a zone without yearly rules only (2 MB a worker)

    cal = Calendar()
    event = Event()
    event.add("dtstart", datetime(year, 1, 1, tzinfo=ZoneInfo(tzid)))
    cal.add_component(event)
    cal.add_missing_timezones()
    return "".join(c.to_ical().decode() for c in cal.walk("VTIMEZONE")).rstrip("\r\n")


def _ical(rt: Runtime, kind: str, events: tuple[str, ...], periods: list[Period]) -> bytes:
    tz = rt.timezone
    tzid = rt.settings.school.timezone
    host = _host(rt)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fitsflow//change and release management//EN",
             "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_text(rt.settings.school.name + ': ' + FEED_TITLES[kind])}",
             f"X-WR-TIMEZONE:{tzid}"]
    body: list[str] = []
    for p in periods:
        first, last = p.days(tz)
        if p.starts_at == datetime.combine(first, time(0), tz) and \
                p.ends_at == datetime.combine(last + timedelta(days=1), time(0), tz):
            span = [f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
                    f"DTEND;VALUE=DATE:{last + timedelta(days=1):%Y%m%d}"]
        else:
            span = [f"DTSTART;TZID={tzid}:{p.starts_at.astimezone(tz):%Y%m%dT%H%M%S}",
                    f"DTEND;TZID={tzid}:{p.ends_at.astimezone(tz):%Y%m%dT%H%M%S}"]
        verb = "Change freeze" if p.effect == "freeze" else "Caution"
        body += ["BEGIN:VEVENT", f"UID:period-{p.id}@{host}", f"DTSTAMP:{_utc(p.starts_at)}", *span,
                 f"SUMMARY:{_text(f'{verb}: {p.title}')}",
                 f"DESCRIPTION:{_text(f'{KIND_TITLES[p.kind]}. {p.reason}'.strip())}",
                 f"CATEGORIES:{p.effect}", "TRANSP:TRANSPARENT", "END:VEVENT"]
    zone = [_vtimezone(tzid, rt.now().year)] if events or any("TZID=" in line for line in body) else []
    return "\r\n".join([*_folded(lines), *zone, *events, *_folded(body), "END:VCALENDAR", ""]).encode()


# A release's event is the same text for as long as its row is the same: kept from one build
# of a feed to the next, so a feed rebuilt after a decision renders only what changed.
@lru_cache(maxsize=2 * feed_store.FEED_ROWS_MAX)
def _vevent(r: feed_store.FeedRelease, tzid: str, host: str, base: str, status: str) -> str:
    tz = ZoneInfo(tzid)
    link = f"{base}/changes/{r.ref}"
    stamp = _utc(r.updated_at)
    about = [f"Change {r.ref} ({r.category}), raised by {r.requester}.",
             f"State: {r.state.replace('_', ' ')}.", f"Details: {link}"]
    if r.contact:
        about.append(f"On the day, and for a back-out: {r.contact}")
    return "\r\n".join(_folded([
        "BEGIN:VEVENT", f"UID:{r.ref.lower()}@{host}", f"DTSTAMP:{stamp}", f"LAST-MODIFIED:{stamp}",
        f"SEQUENCE:{r.sequence}", f"DTSTART;TZID={tzid}:{r.window_start.astimezone(tz):%Y%m%dT%H%M%S}",
        f"DTEND;TZID={tzid}:{r.window_end.astimezone(tz):%Y%m%dT%H%M%S}",
        f"SUMMARY:{_text(f'{r.ref}: {r.title}')}", f"STATUS:{status}", f"CATEGORIES:{_text(r.category)}",
        f"URL:{link}", f"DESCRIPTION:{_text(chr(10).join(about))}", "TRANSP:OPAQUE", "END:VEVENT"]))


def _folded(lines: list[str]) -> list[str]:
    """Most lines are short and ASCII: tested here, not in a call per line."""
    return [line if len(line) <= 75 and line.isascii() else _fold(line) for line in lines]


def _ical_maintenance(rt: Runtime, items: list[maintenance.Planned]) -> bytes:
    """Planned maintenance as events: what, when, which services, what to expect; no link to a
    change (staff do not open changes), no cost or approvals."""
    tzid = rt.settings.school.timezone
    host = _host(rt)
    base = rt.settings.delivery.base_url.rstrip("/")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fitsflow//change and release management//EN",
             "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{_text(rt.settings.school.name + ': ' + FEED_TITLES['maintenance'])}",
             f"X-WR-TIMEZONE:{tzid}"]
    body: list[str] = []
    for p in items:
        about = [f"Services: {', '.join(p.services)}." if p.services else "",
                 f"What you will notice: {p.effect}" if p.effect else "",
                 f"On the day: {p.contact}" if p.contact else "",
                 f"All planned maintenance: {base}/maintenance"]
        body += ["BEGIN:VEVENT", f"UID:maintenance-{p.ref.lower()}@{host}", f"DTSTAMP:{_utc(p.stamp)}",
                 f"SEQUENCE:{p.sequence}", f"DTSTART;TZID={tzid}:{p.starts:%Y%m%dT%H%M%S}",
                 f"DTEND;TZID={tzid}:{p.ends:%Y%m%dT%H%M%S}", f"SUMMARY:{_text(p.title)}",
                 f"DESCRIPTION:{_text(chr(10).join(a for a in about if a))}", "STATUS:CONFIRMED",
                 "TRANSP:OPAQUE", "END:VEVENT"]
    zone = [_vtimezone(tzid, rt.now().year)] if items else []
    return "\r\n".join([*_folded(lines), *zone, *_folded(body), "END:VCALENDAR", ""]).encode()
