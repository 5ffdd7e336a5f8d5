"""Services: one function per use case, keyword-only arguments, one transaction each."""

from . import peer_review, templates
from .approved import acknowledge
from .audit import export as export_audit
from .audit import verify as verify_audit
from .category import change_category
from .changes import fire, get_change, raise_change, spawn_follow_up
from .gates import decide
from .ownership import add_co_owner, remove_co_owner, transfer
from .queues import awaiting_decision, browse
from .reschedule import reschedule, unschedule
from .runtime import Runtime
from .stages import record_financial_plan, record_needs, record_release_plan, record_review
from .users import add_user, import_users

__all__ = [
    "Runtime",
    "acknowledge",
    "add_co_owner",
    "add_user",
    "awaiting_decision",
    "browse",
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
