"""The runtime a service works in: database, loaded workflows and settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..config import load_config
from ..domain.vocabulary import SIGNAL_NAMES
from ..persistence.db import Database
from ..persistence.db_hooks import NOTIFY_RULES, WEBHOOK_EVENTS
from ..workflow import WorkflowRegistry, load_directory, shipped_directory


@dataclass
class Runtime:
    db: Database
    workflows: WorkflowRegistry
    settings: dict[str, dict[str, Any]]

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.settings["school"]["timezone"])

    @property
    def horizon_years(self) -> int:
        return int(self.settings["planning"]["horizon_years"])


def workflow_folders(settings: dict[str, dict[str, Any]]) -> list[Path]:
    """The shipped workflows, or the folder configured to replace them."""
    configured = settings["workflows"]["dir"]
    return [Path(configured)] if configured else [shipped_directory()]


def build_runtime(settings: dict[str, dict[str, Any]] | None = None, *,
                  database_url: str | None = None) -> Runtime:
    """Load settings and workflows (refusing invalid ones) and open the database."""
    settings = settings or load_config()
    registry = WorkflowRegistry(load_directory(*workflow_folders(settings)))
    db_settings = settings["database"]
    db = Database(
        database_url or db_settings["url"],
        busy_timeout_ms=int(db_settings["busy_timeout_ms"]),
        synchronous=str(db_settings["sqlite_synchronous"]),
        echo=bool(db_settings["echo"]),
    )
    from ..notifications import parse_rules
    from .notices import SETTINGS_KEY, NoticeSettings

    db.session_info[NOTIFY_RULES] = parse_rules(settings["notify"])
    db.session_info[SETTINGS_KEY] = NoticeSettings.from_settings(settings)
    hook = settings["webhook"]
    if hook["url"]:
        events = {e.strip() for e in hook["events"].split(",") if e.strip()}
        db.session_info[WEBHOOK_EVENTS] = frozenset(events or SIGNAL_NAMES)
    return Runtime(db=db, workflows=registry, settings=settings)
