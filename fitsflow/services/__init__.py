"""Services: one function per use case, keyword-only arguments, one transaction each.

The names below are imported on first use (PEP 562), so a command that needs one service
does not pay for loading all of them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import peer_review, templates
    from .approved import acknowledge
    from .audit import export as export_audit
    from .audit import verify as verify_audit
    from .category import change_category
    from .changes import fire, get_change, raise_change, spawn_follow_up
    from .gates import decide
    from .ownership import add_co_owner, remove_co_owner, transfer
    from .queues import awaiting_decision
    from .rescheduling import reschedule, unschedule
    from .runtime import Runtime
    from .stages import record_financial_plan, record_needs, record_release_plan, record_review
    from .users import add_user, import_users

# name → (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    "Runtime": ("runtime", "Runtime"),
    "acknowledge": ("approved", "acknowledge"),
    "add_co_owner": ("ownership", "add_co_owner"),
    "add_user": ("users", "add_user"),
    "awaiting_decision": ("queues", "awaiting_decision"),
    "change_category": ("category", "change_category"),
    "decide": ("gates", "decide"),
    "export_audit": ("audit", "export"),
    "fire": ("changes", "fire"),
    "get_change": ("changes", "get_change"),
    "import_users": ("users", "import_users"),
    "peer_review": ("peer_review", None),
    "raise_change": ("changes", "raise_change"),
    "record_financial_plan": ("stages", "record_financial_plan"),
    "record_needs": ("stages", "record_needs"),
    "record_release_plan": ("stages", "record_release_plan"),
    "record_review": ("stages", "record_review"),
    "remove_co_owner": ("ownership", "remove_co_owner"),
    "reschedule": ("rescheduling", "reschedule"),
    "spawn_follow_up": ("changes", "spawn_follow_up"),
    "templates": ("templates", None),
    "transfer": ("ownership", "transfer"),
    "unschedule": ("rescheduling", "unschedule"),
    "verify_audit": ("audit", "verify"),
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    loaded = importlib.import_module(f".{module}", __name__)
    value = loaded if attribute is None else getattr(loaded, attribute)
    globals()[name] = value
    return value


__all__ = [
    "Runtime",
    "acknowledge",
    "add_co_owner",
    "add_user",
    "awaiting_decision",
    "change_category",
    "decide",
    "export_audit",
    "peer_review",
    "fire",
    "get_change",
    "import_users",
    "raise_change",
    "record_financial_plan",
    "record_needs",
    "record_release_plan",
    "record_review",
    "remove_co_owner",
    "reschedule",
    "spawn_follow_up",
    "templates",
    "transfer",
    "unschedule",
    "verify_audit",
]
