"""Business time: the one clock every timestamp and every "today" is read from.

The runtime owns one ``Clock`` (``Runtime.clock``, the same object as its database's),
so a test or the demo sets the time in one place and every service, store and page
sees it. By default it follows the system clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


def system_now() -> datetime:
    """The machine's time, aware UTC. Only ``Clock`` and operational timing (leases,
    back-off of the delivery worker) read it directly."""
    return datetime.now(UTC)


class Clock:
    """The system's time, or a set one: frozen (stands still until moved) or running
    (set once, then advancing with the system clock, so order and durations stay real)."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """Aware UTC, the form every timestamp column holds."""
        if self._frozen is not None:
            return self._frozen
        return system_now() + self._offset

    def today(self, tz: ZoneInfo) -> date:
        return self.now().astimezone(tz).date()

    def set(self, moment: datetime, *, running: bool = False) -> None:
        """Make it ``moment`` now (an aware time); frozen there unless ``running``."""
        if moment.tzinfo is None:
            raise ValueError("the clock is set to an aware time (with its timezone)")
        if running:
            self._frozen, self._offset = None, moment.astimezone(UTC) - system_now()
        else:
            self._frozen = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta

    def follow_system(self) -> None:
        """Back to the system's time."""
        self._frozen, self._offset = None, timedelta(0)

    @contextmanager
    def kept(self) -> Iterator[Clock]:
        """Set and move it freely inside the block; it is as it was after."""
        saved = self._frozen, self._offset
        try:
            yield self
        finally:
            self._frozen, self._offset = saved

    @property
    def is_set(self) -> bool:
        return self._frozen is not None or self._offset != timedelta(0)
