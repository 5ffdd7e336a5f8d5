"""The releases of a range of days, kept between builds of the pages and feeds that show them
and brought up to date by reading again only the changes whose version moved: a decision
costs a month view (or a year's feed) the one change it moved, not the range's rows."""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from ..persistence import feed_store
from .runtime import Runtime

T = TypeVar("T")
_INSTANT = timedelta(microseconds=1)
# A save's modified time is when its transaction began: one that commits after a later one was
# read is caught by reading a little before the newest time seen (and one later still by the
# range's version, which then has the range read whole).
_LATE = timedelta(seconds=10)
_CATCH_UP_MAX = 200  # changes saved since the last reading beyond which the range is read whole


@dataclass(frozen=True, eq=False)  # one per row read: known by identity, hashed as quickly
class Kept:
    """A release as read, with what every build needs of it worked out once."""

    row: feed_store.FeedRelease
    names: tuple[str, ...]  # its services
    first: date  # the local days its window touches
    last: date
    pair: tuple[str, str]  # its (workflow, state)
    # What the pages and feeds made of it, by what else each depends on: made again only for a
    # row that moved (a day drawn from the same releases is known again at once — tuples
    # compare items by identity first —, a feed's event is the text written before).
    made: dict[Hashable, Any] = field(default_factory=dict)

    def make(self, key: tuple[Any, ...], make: Callable[[Kept, tuple[Any, ...]], T]) -> T:
        """``make(self, key)``, made once for this row as read."""
        found = self.made.get(key)
        if found is None:
            found = self.made[key] = make(self, key)
        return found


class RangeReleases:
    """Every school's releases touching one range (each build keeps what its viewer sees), by
    start. Kept per version of the catalogue and people (the "schedule" read), whose names the
    rows carry: :func:`of`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[int, Kept] = {}
        self._ordered: list[Kept] = []
        self._synced: tuple[Any, ...] | None = None  # the range's version the rows are as of
        self._mark: datetime | None = None  # changes modified from then on are read again
        self._built: tuple[list[Kept] | None, dict[Hashable, Any]] = (None, {})

    def current(self, rt: Runtime, since: datetime, until: datetime) -> list[Kept]:
        """The range's releases as they are now, by start (then id)."""
        with self._lock:
            # A session of its own, limited to no school: the copy is every school's.
            with rt.db.read() as session:
                version = feed_store.range_version(session, since=since, until=until)
                if version == self._synced:
                    return self._ordered
                if self._mark is not None and self._catch_up(rt, session, since, until, version):
                    self._synced = version
                else:
                    self._resync(rt, session, since, until, version)
            return self._ordered

    def _catch_up(self, rt: Runtime, session: Any, since: datetime, until: datetime,
                  version: tuple[Any, ...]) -> bool:
        """Read again the changes modified since the last reading (each save moves its change's
        modified time; a little before, for a write that committed late); whether the rows then
        add up to the range's version (if not — a write missed — read the range whole)."""
        assert self._mark is not None
        changed = feed_store.changed_since(session, self._mark - _LATE, limit=_CATCH_UP_MAX + 1)
        if len(changed) > _CATCH_UP_MAX:
            return False  # a bulk write (an import): reading the range whole costs less
        # Those kept that moved, and those not kept whose window is now in the range.
        moved = [c.id for c in changed
                 if ((kept := self._kept.get(c.id)) is not None
                     and (kept.row.version != c.version or kept.row.updated_at != c.updated_at))
                 or (kept is None and c.window_start is not None and c.window_end is not None
                     and c.window_end > since and c.window_start < until)]
        if changed:
            self._mark = max(self._mark, changed[-1].updated_at)
        if moved:
            self._apply(rt, moved, feed_store.releases_of(session, moved), since, until)
        return self._sums() == tuple(version[:3])

    def _resync(self, rt: Runtime, session: Any, since: datetime, until: datetime,
                version: tuple[Any, ...]) -> None:
        """The range read whole: each change's version and modified time, and the rows of those
        not kept as they are."""
        mark = feed_store.newest_change(session)
        keys = feed_store.range_keys(session, since=since, until=until)
        stale = [cid for cid, key in keys.items()
                 if (kept := self._kept.get(cid)) is None or (kept.row.version, kept.row.updated_at) != key]
        gone = [cid for cid in self._kept if cid not in keys]
        self._apply(rt, stale + gone, feed_store.releases_of(session, stale) if stale else [], since, until)
        self._mark = mark
        # As of the version when the rows add up to it (a write between the two reads: next time).
        self._synced = version if self._sums() == tuple(version[:3]) else None

    def _apply(self, rt: Runtime, ids: list[int], rows: list[feed_store.FeedRelease], since: datetime,
               until: datetime) -> None:
        """These changes as read now (``rows``; an id without one in the range, or without a
        whole window, is gone from it). Worked out on copies and put in place together: a
        build of the rows before stays as it was, and a failure leaves them as they were."""
        tz = rt.timezone
        kept = dict(self._kept)
        ordered = list(self._ordered)
        resort = len(ids) > 64  # many moved: one sort costs less than a search for each
        for cid in ids:
            old = kept.pop(cid, None)
            if old is not None and not resort:
                del ordered[bisect_left(ordered, _order(old), key=_order)]
        for r in rows:
            if r.window_start is None or r.window_end is None or not (r.window_end > since
                                                                      and r.window_start < until):
                continue  # no window now, or moved out of the range meanwhile
            entry = Kept(r, tuple(s for s in (r.services or "").split("\n") if s),
                         r.window_start.astimezone(tz).date(),
                         # a window ending at midnight is not on the next day
                         (r.window_end - _INSTANT).astimezone(tz).date(), (r.workflow, r.state))
            kept[r.change_id] = entry
            if not resort:
                insort(ordered, entry, key=_order)
        self._kept, self._ordered = kept, sorted(kept.values(), key=_order) if resort else ordered
        self._synced = None

    def _sums(self) -> tuple[int, int, int]:
        """What the range's version counts of the rows kept: how many, their versions, their ids."""
        return (len(self._kept), sum(k.row.version for k in self._kept.values()), sum(self._kept))

    def built(self, key: Hashable, rows: list[Kept], make: Callable[[], T]) -> T:
        """``make()``, built once per ``key`` while the range's rows stay ``rows``."""
        with self._lock:
            if self._built[0] is rows and key in self._built[1]:
                return self._built[1][key]
        value = make()
        with self._lock:
            if self._ordered is rows:  # still the newest: kept
                if self._built[0] is not rows:
                    self._built = (rows, {})
                self._built[1][key] = value
        return value


def _order(kept: Kept) -> tuple[datetime, int]:
    return kept.row.window_start, kept.row.change_id


def of(rt: Runtime, since: datetime, until: datetime) -> RangeReleases:
    """The kept releases of [since, until) for this version of the catalogue and people."""
    return rt.cache.get(rt.db, "schedule", ("range", since, until), RangeReleases, shelf="range releases")
