"""The runtime a service works in: settings, database, workflows, roles, notification
rules and notice templates. Built once (``fitsflow.bootstrap.build_runtime``) and
handed to the web app, the worker, the CLI and the signal receivers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from ..clock import Clock
from ..config import Settings
from ..domain import financial_years
from ..domain.money import format_money
from ..domain.roles import RoleBook
from ..notice_templates import NoticeTemplates
from ..persistence.db import Database
from ..persistence.read_cache import ReadCache
from ..workflow import WorkflowRegistry


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    workflows: WorkflowRegistry
    roles: RoleBook
    notify_rules: Mapping[str, tuple[str, ...]]
    templates: NoticeTemplates
    cache: ReadCache = field(default_factory=ReadCache, compare=False, repr=False)

    @property
    def clock(self) -> Clock:
        """Business time, shared with the database (which stamps audit events from it)."""
        return self.db.clock

    def now(self) -> datetime:
        """Aware UTC, the form every timestamp column holds."""
        return self.db.clock.now()

    def today(self) -> date:
        """The school's date now."""
        return self.db.clock.today(self.timezone)

    @property
    def timezone(self) -> ZoneInfo:
        return self.settings.timezone

    @property
    def horizon_years(self) -> int:
        return self.settings.planning.horizon_years

    def plan_years(self, raised: datetime, years: int) -> list[str]:
        """The financial years ("2026–27") of a plan's years, for a change raised then."""
        return financial_years.labels(self.settings.planning.financial_year_start,
                                      raised.astimezone(self.timezone).date(), years)

    def money(self, value: Decimal | int | float | None) -> str:
        return format_money(value, self.settings.planning.currency)
