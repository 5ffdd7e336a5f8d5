"""Build the runtime once: settings → roles → workflows → database → receivers.

Every entry point (``fitsflow`` commands, ``fitsflow serve``'s workers, the delivery
worker, tests) calls ``build_runtime`` with settings from ``load_settings`` and
passes the result down; nothing else reads configuration."""

from __future__ import annotations

from pathlib import Path

from .config import Settings
from .notice_templates import NoticeTemplates
from .services.runtime import Runtime
from .services.storage import open_database
from .workflow import WorkflowRegistry, load_directory, shipped_directory


def workflow_folders(settings: Settings) -> list[Path]:
    """The shipped workflows, or the folder configured to replace them."""
    configured = settings.workflows.dir
    return [Path(configured)] if configured else [shipped_directory()]


def connect_receivers() -> None:
    """Connect the built-in receivers to their signals (idempotent)."""
    from .services import feedback, notices, notifications, pilots, usage

    notifications.connect()
    notices.connect()
    feedback.connect()
    usage.connect()
    pilots.connect()


def build_runtime(settings: Settings, *, database_url: str | None = None) -> Runtime:
    """Validate roles, workflows and notification rules, open the database, connect the
    receivers. Raises ConfigError or WorkflowError naming what is wrong."""
    from .services import notifications

    roles = settings.role_book()
    registry = WorkflowRegistry(load_directory(*workflow_folders(settings), roles=roles))
    rules = notifications.parse_rules(settings.notify, roles)
    notifications.rule_names(settings.review.feedback_from, roles, "review.feedback_from")
    db = open_database(settings, database_url)
    templates = NoticeTemplates(school=settings.school.name, currency=settings.planning.currency,
                                template_dir=settings.notices.template_dir)
    connect_receivers()
    from .services.workflow_versions import stored_loader

    registry.loader = stored_loader(db, roles)
    return Runtime(settings=settings, db=db, workflows=registry, roles=roles, notify_rules=rules,
                   templates=templates)
