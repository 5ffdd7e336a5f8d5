"""Every kind of audited event, declared once: its name, how a change's history calls it,
the payload keys it always carries, whether it changes what search finds for its change,
and which cached reads it makes stale. ``audit_store.append`` refuses a kind that is not
here, or a payload missing one of its keys; search re-indexing, the read cache's versions
and the timeline read this registry, never a list of their own.

A kind makes every cached read stale unless it is declared ``reads=""``: forgetting to
declare costs a rebuild, never a stale page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# The cached reads (``persistence/read_cache.py``): the forward schedule (web and API) and
# the calendar feeds. Each has a version: the last event that could change what it shows.
READS: tuple[str, ...] = ("schedule", "feeds")


@dataclass(frozen=True)
class EventType:
    name: str
    title: str  # on a change's history ("Raised", "Release notice sent"), or in the audit log
    keys: frozenset[str] = frozenset()  # the payload always has these
    text: bool = False  # it changes the change's searchable text (title, description, needs…)
    text_key: str = ""  # … or only when this payload key is not empty (a decision's comment)
    reads: frozenset[str] = frozenset(READS)  # the cached reads it makes stale

    def touches_text(self, payload: Mapping[str, Any]) -> bool:
        """Whether this event, with this payload, changed what search finds for its change."""
        if self.text:
            return True
        return bool(self.text_key and str(payload.get(self.text_key) or "").strip())


class UnknownEvent(ValueError):
    """An audit event of a kind nobody declared (a programming error, never a user's)."""


def _e(name: str, title: str, keys: str = "", *, text: bool = False, text_key: str = "",
       reads: str = " ".join(READS)) -> EventType:
    stale = frozenset(reads.split())
    if not stale <= set(READS):  # pragma: no cover - a declaration error, caught at import
        raise RuntimeError(f"audit event '{name}' names an unknown cached read")
    return EventType(name, title, frozenset(keys.split()), text, text_key, stale)


# ``reads=""``: sign-in, credentials, roles, absences, templates and acknowledgements change
# nothing a schedule or a feed shows (who may open one is checked before its cache).
_DECLARED: tuple[EventType, ...] = (
    # A change's life.
    _e("change.raised", "Raised", "title category workflow state description affected_services", text=True),
    _e("transition", "Moved on", "trigger from to"),
    _e("stage.needs", "Needs analysis edited", "before after", text=True),
    _e("stage.finance", "Financial plan edited", "before after"),
    _e("stage.release_plan", "Release plan edited", "before after"),
    _e("stage.review", "Review recorded", "before after"),
    _e("approval.requested", "Approval asked for", "gate round requires"),
    _e("approval.decided", "Decided", "gate round role decision comment", text_key="comment"),
    _e("approval.reopened", "Back for approval after an edit", "gate round changes"),
    _e("approval.acknowledgement_requested", "Changes since approval to acknowledge", "gate changes"),
    _e("approval.acknowledged", "Changes since approval acknowledged", "gate changes"),
    _e("change.recategorised", "Category changed", "from to reason"),
    _e("change.transferred", "Handed over", "from to reason"),
    _e("change.co_owner_added", "Co-owner added", "user"),
    _e("change.co_owner_removed", "Co-owner removed", "user"),
    _e("change.workflow_migrated", "Moved to a new version of its workflow", "workflow from to"),
    _e("peer_review.recorded", "Technical peer review", "outcome comments", text_key="comments"),
    _e("freeze.overridden", "Went ahead in a freeze", "trigger reason"),
    _e("clash.accepted", "Went ahead despite a clash", "trigger reason"),
    _e("caution.accepted", "Went ahead in a caution period", "trigger reason"),
    _e("window.clash", "Window clashes with another change", "overlaps"),
    _e("release.rescheduled", "Release moved", "from to reason"),
    _e("release.unscheduled", "Taken off the schedule", "from reason"),
    _e("release.early", "Released before its window", "window reason"),
    _e("notice.published", "Release notice sent", "audience tier recipients"),
    _e("notice.edited", "Release notice edited", "audience before after"),
    _e("notice.cancelled", "Release notice cancelled", "audience"),
    _e("notice.acknowledged", "Release notice acknowledged", "notice", reads=""),
    _e("notice.send_now", "Held release notice sent now", "audience reason"),
    _e("notice.send_at", "Held release notice timed", "audience at reason"),
    _e("notice.not_relevant", "Release notice marked not relevant", "audience reason"),
    _e("follow_up.spawned", "Follow-up raised", "follow_up", text=True),
    # Standard-change templates (their own reference).
    _e("template.proposed", "Template proposed", "title services", reads=""),
    _e("template.approved", "Template approved", "from to", reads=""),
    _e("template.rejected", "Template rejected", "from to", reads=""),
    _e("template.revised", "Template revised", "from to", reads=""),
    _e("template.retired", "Template retired", "from to", reads=""),
    _e("template.used", "Template used", "change cost"),
    # People, sign-in and credentials.
    _e("user.created", "Account created", "email", reads=""),
    _e("user.updated", "Account changed", "email"),
    _e("user.activated", "Account reactivated", "email"),
    _e("user.deactivated", "Account deactivated", "email"),
    _e("user.password_set", "Password set", "email", reads=""),
    _e("user.password_changed", "Password changed", "email", reads=""),
    _e("role.grant_requested", "Role asked for", "email role", reads=""),
    _e("role.grant_confirmed", "Role confirmed", "email role", reads=""),
    _e("role.grant_refused", "Role refused", "email role", reads=""),
    _e("auth.signed_in", "Signed in", "email address", reads=""),
    _e("auth.sign_in_failed", "Sign-in failed", "email address", reads=""),
    _e("auth.throttled", "Sign-in slowed", "email address", reads=""),
    _e("auth.mfa_challenged", "Asked for the second factor", "email address", reads=""),
    _e("auth.mfa_failed", "Second factor wrong", "email address", reads=""),
    _e("mfa.enabled", "Second factor set up", "email", reads=""),
    _e("mfa.reset", "Second factor reset", "email", reads=""),
    _e("mfa.recovery_codes_renewed", "Recovery codes renewed", "email", reads=""),
    _e("token.created", "API token made", "name", reads=""),
    _e("token.revoked", "API token revoked", "name", reads=""),
    _e("feed.created", "Calendar feed made", "kind", reads=""),
    _e("feed.revoked", "Calendar feed revoked", "kind", reads=""),
    _e("absence.recorded", "Absence recorded", "user first_day last_day", reads=""),
    _e("absence.cancelled", "Absence cancelled", "user", reads=""),
    # The installation.
    _e("calendar.added", "Calendar period added", "kind title"),
    _e("calendar.changed", "Calendar period changed", "before after"),
    _e("calendar.removed", "Calendar period removed", "kind title"),
    _e("calendar.imported", "Calendar imported", "periods source"),
    _e("service.saved", "Service saved", "name"),
    _e("workflow.migrated", "Workflow version migrated", "workflow from_version to_version"),
    _e("outbox.retried", "Failed notifications retried", "count", reads=""),
    _e("database.restored", "Database restored from a backup", "backup"),
)

EVENTS: Mapping[str, EventType] = MappingProxyType({e.name: e for e in _DECLARED})
if len(EVENTS) != len(_DECLARED):  # pragma: no cover - a declaration error, caught at import
    raise RuntimeError("an audit event type is declared twice")


def get(name: str) -> EventType:
    """The declared kind, or UnknownEvent naming it."""
    found = EVENTS.get(name)
    if found is None:
        raise UnknownEvent(f"audit event type '{name}' is not declared in fitsflow/domain/events.py")
    return found


def check(name: str, payload: Mapping[str, Any]) -> EventType:
    """The declared kind, after checking the payload carries its keys."""
    kind = get(name)
    missing = sorted(kind.keys - set(payload))
    if missing:
        raise UnknownEvent(f"audit event '{name}' is missing {', '.join(missing)} in its payload")
    return kind


def text_events() -> Iterable[EventType]:
    """The kinds that change a change's searchable text (always or by their payload)."""
    return [e for e in _DECLARED if e.text or e.text_key]
