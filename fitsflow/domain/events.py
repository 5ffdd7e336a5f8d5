"""Every kind of audited event, declared once: its name, how a change's history calls it,
its payload's typed model (the keys it always carries and their types), whether it changes
what search finds for its change, and which cached reads it makes stale.
``audit_store.append`` refuses a kind that is not here, or a payload not of its model;
search re-indexing, the read cache's versions and the timeline read this registry, never a
list of their own.

A kind makes every cached read stale unless it is declared ``reads=""``: forgetting to
declare costs a rebuild, never a stale page."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

# The cached reads (``persistence/read_cache.py``), each with a version: the last event that
# could change what it shows. "schedule": the releases of the forward schedule and the
# feeds besides their range's changes (the catalogue, people's names); "calendar": the
# school calendar (terms, holidays, freezes), which shades the schedule's days and puts
# periods in the feeds. A calendar edit leaves the releases built; a decision, the days.
READS: tuple[str, ...] = ("schedule", "calendar")


@dataclass(frozen=True)
class EventType:
    name: str
    title: str  # on a change's history ("Raised", "Release notice sent"), or in the audit log
    keys: frozenset[str] = frozenset()  # the payload always has these
    text: bool = False  # it changes the change's searchable text (title, description, needs…)
    text_key: str = ""  # … or only when this payload key is not empty (a decision's comment)
    reads: frozenset[str] = frozenset(READS)  # the cached reads it makes stale
    # The payload's model: each key above with its type, checked strictly (a round is an
    # int, never "2"); other keys may come too (a reason, a digest), untyped.
    model: type[BaseModel] = field(default=BaseModel, compare=False, repr=False)

    def touches_text(self, payload: Mapping[str, Any]) -> bool:
        """Whether this event, with this payload, changed what search finds for its change."""
        if self.text:
            return True
        return bool(self.text_key and str(payload.get(self.text_key) or "").strip())


class UnknownEvent(ValueError):
    """An audit event of a kind nobody declared (a programming error, never a user's)."""


# A key's type in a declaration: ``round:int``; a key with none is text.
_TYPES: dict[str, Any] = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict,
                          "dict?": dict | None}
_STRICT = ConfigDict(strict=True, extra="allow", frozen=True)


def _e(name: str, title: str, keys: str = "", *, text: bool = False, text_key: str = "",
       reads: str = " ".join(READS)) -> EventType:
    stale = frozenset(reads.split())
    if not stale <= set(READS):  # pragma: no cover - a declaration error, caught at import
        raise RuntimeError(f"audit event '{name}' names an unknown cached read")
    typed = dict(k.partition(":")[::2] for k in keys.split())
    fields: dict[str, Any] = {k: (_TYPES[t or "str"], ...) for k, t in typed.items()}
    model = create_model(f"Payload_{name.replace('.', '_')}", __config__=_STRICT, **fields)
    return EventType(name, title, frozenset(typed), text, text_key, stale, model)


# ``reads=""``: sign-in, credentials, roles, absences, templates and acknowledgements change
# nothing a schedule or a feed shows (who may open one is checked before its cache). Nor
# does an event about one change: a cached feed is kept per version of its own range's
# changes (feed_store.range_version), a schedule's range per version of each of them
# (range_keys), which the change's own save moves, so a write about another month's change
# leaves it.
_DECLARED: tuple[EventType, ...] = (
    # A change's life.
    _e("change.raised", "Raised", "title category workflow state description affected_services:list",
       text=True, reads=""),
    _e("transition", "Moved on", "trigger from to", reads=""),
    _e("stage.needs", "Needs analysis edited", "before:dict? after:dict", text=True, reads=""),
    _e("stage.finance", "Financial plan edited", "before:list after:list", reads=""),
    _e("stage.release_plan", "Release plan edited", "before:dict? after:dict", reads=""),
    _e("stage.review", "Review recorded", "before:dict? after:dict", reads=""),
    _e("stage.pilot", "Pilot design edited", "before:dict? after:dict", reads=""),
    _e("stage.pilot_outcome", "Pilot outcome recorded", "before:dict? after:dict", reads=""),
    _e("pilot.adopted", "Adopted as a change", "change category", reads=""),
    _e("proposal.made", "Need proposed", "proposal:int what", reads=""),
    _e("comment.added", "Commented", "comment:int body", reads=""),
    _e("attachment.added", "File attached", "attachment:int name size:int sha256", reads=""),
    _e("attachment.removed", "File removed", "attachment:int name sha256", reads=""),
    _e("proposal.triaged", "Proposal triaged", "proposal:int outcome reason", reads=""),
    _e("asset.added", "Asset added to the register", "asset:int name serial", reads=""),
    _e("asset.imported", "Assets imported", "count:int school:int", reads=""),
    _e("asset.edited", "Asset's entry changed", "asset:int before:dict after:dict", reads=""),
    _e("asset.retired", "Asset retired", "asset:int name serial", reads=""),
    _e("asset.disposal", "Disposal evidence recorded",
       "asset:int complete:bool wiped_on wiped_by certificate weee", reads=""),
    _e("asset.linked", "Asset linked", "asset:int name", reads=""),
    _e("asset.unlinked", "Asset unlinked", "asset:int name", reads=""),
    _e("asset.renewal_raised", "Renewal need raised", "asset:int field due", reads=""),
    _e("register.updated", "Asset register updated", "action", reads=""),
    _e("provider.added", "External IT provider recorded", "provider:int name contract", reads=""),
    _e("provider.member", "Provider's person set", "email provider", reads=""),
    _e("filtering.asked", "Filtering change asked for", "request:int what action", reads=""),
    _e("filtering.moved", "Filtering request moved on", "request:int trigger before after reason", reads=""),
    _e("usage.checked", "Usage checked", "result due_on again:bool", reads=""),
    _e("review.feedback", "360° feedback given", "group again:bool", reads=""),
    _e("approval.requested", "Approval asked for", "gate round:int requires:dict", reads=""),
    # A vote shows on no schedule; it does put the change in the decider's own calendar feed.
    _e("approval.decided", "Decided", "gate round:int role decision comment", text_key="comment",
       reads=""),
    _e("approval.reopened", "Back for approval after an edit", "gate round:int changes:list", reads=""),
    _e("approval.acknowledgement_requested", "Changes since approval to acknowledge", "gate changes:list",
       reads=""),
    _e("approval.acknowledged", "Changes since approval acknowledged", "gate changes:list", reads=""),
    _e("change.recategorised", "Category changed", "from to reason", reads=""),
    _e("change.transferred", "Handed over", "from to reason", reads=""),
    _e("change.co_owner_added", "Co-owner added", "user", reads=""),
    _e("change.co_owner_removed", "Co-owner removed", "user", reads=""),
    _e("change.workflow_migrated", "Moved to a new version of its workflow", "workflow from to",
       reads=""),
    _e("peer_review.recorded", "Technical peer review", "outcome comments", text_key="comments",
       reads=""),
    _e("freeze.overridden", "Went ahead in a freeze", "trigger reason", reads=""),
    _e("clash.accepted", "Went ahead despite a clash", "trigger reason", reads=""),
    _e("caution.accepted", "Went ahead in a caution period", "trigger reason", reads=""),
    _e("window.clash", "Window clashes with another change", "overlaps:list", reads=""),
    _e("release.rescheduled", "Release moved", "from:list to:list reason", reads=""),
    _e("release.unscheduled", "Taken off the schedule", "from reason", reads=""),
    _e("release.early", "Released before its window", "window reason", reads=""),
    _e("notice.published", "Release notice sent", "audience tier recipients:int", reads=""),
    _e("notice.edited", "Release notice edited", "audience before:dict after:dict", reads=""),
    _e("notice.cancelled", "Release notice cancelled", "audience", reads=""),
    _e("notice.acknowledged", "Release notice acknowledged", "notice:int", reads=""),
    _e("notice.send_now", "Held release notice sent now", "audience reason", reads=""),
    _e("notice.send_at", "Held release notice timed", "audience at reason", reads=""),
    _e("notice.not_relevant", "Release notice marked not relevant", "audience reason", reads=""),
    _e("follow_up.spawned", "Follow-up raised", "follow_up", text=True, reads=""),
    # Standard-change templates (their own reference).
    _e("template.proposed", "Template proposed", "title services:list", reads=""),
    _e("template.approved", "Template approved", "from to", reads=""),
    _e("template.endorsed", "Template approved by one of those it needs", "from to approved_as", reads=""),
    _e("template.rejected", "Template rejected", "from to", reads=""),
    _e("template.revised", "Template revised", "from to", reads=""),
    _e("template.retired", "Template retired", "from to", reads=""),
    _e("template.used", "Template used", "change cost", reads=""),
    # People, sign-in and credentials.
    _e("user.created", "Account created", "email", reads=""),
    _e("user.updated", "Account changed", "email"),
    _e("user.schools", "Schools a person belongs to changed", "email schools:dict", reads=""),
    _e("school.added", "School added to the trust", "slug name nation", reads=""),
    _e("user.activated", "Account reactivated", "email"),
    _e("user.deactivated", "Account deactivated", "email"),
    _e("user.password_set", "Password set", "email", reads=""),
    _e("user.password_changed", "Password changed", "email", reads=""),
    _e("user.invited", "Invited to choose a password", "email", reads=""),
    _e("user.invitation_accepted", "Password chosen from the invitation", "email", reads=""),
    _e("user.password_reset", "Password reset by email", "email", reads=""),
    _e("auth.reset_requested", "Password reset asked for", "email address known:bool", reads=""),
    _e("role.grant_requested", "Role asked for", "email role", reads=""),
    _e("role.grant_confirmed", "Role confirmed", "email role", reads=""),
    _e("role.grant_refused", "Role refused", "email role", reads=""),
    _e("privileged.requested", "Privileged act asked for", "email act", reads=""),
    _e("privileged.confirmed", "Privileged act confirmed", "email act"),
    _e("privileged.refused", "Privileged act refused", "email act", reads=""),
    _e("auth.signed_in", "Signed in", "email address", reads=""),
    _e("auth.sign_in_failed", "Sign-in failed", "email address", reads=""),
    _e("auth.throttled", "Sign-in slowed", "email address", reads=""),
    _e("sso.bound", "First sign-in with a provider", "email provider", reads=""),
    _e("sso.unlinked", "Provider account unlinked", "email provider", reads=""),
    _e("sso.roles_mapped", "Roles from a provider's groups", "email provider roles:dict audiences:dict",
       reads=""),
    _e("auth.mfa_challenged", "Asked for the second factor", "email address", reads=""),
    _e("auth.mfa_failed", "Second factor wrong", "email address", reads=""),
    _e("auth.reauth_failed", "Password typed again wrongly", "email address purpose", reads=""),
    _e("auth.reauth_throttled", "Password typed again: slowed", "email address purpose", reads=""),
    _e("mfa.enabled", "Second factor set up", "email", reads=""),
    _e("mfa.reset", "Second factor reset", "email", reads=""),
    _e("mfa.recovery_codes_renewed", "Recovery codes renewed", "email", reads=""),
    _e("token.created", "API token made", "name", reads=""),
    _e("token.revoked", "API token revoked", "name", reads=""),
    _e("feed.created", "Calendar feed made", "kind", reads=""),
    _e("feed.revoked", "Calendar feed revoked", "kind", reads=""),
    _e("absence.recorded", "Absence recorded", "user first_day last_day", reads=""),
    _e("absence.cancelled", "Absence cancelled", "absence:int", reads=""),
    # The installation.
    _e("calendar.added", "Calendar period added", "kind title", reads="calendar"),
    _e("calendar.changed", "Calendar period changed", "before:dict after:dict", reads="calendar"),
    _e("calendar.removed", "Calendar period removed", "kind title", reads="calendar"),
    _e("calendar.imported", "Calendar imported", "periods:int source", reads="calendar"),
    _e("service.saved", "Service saved", "name"),
    _e("evidence.recorded", "Evidence recorded", "tags:list", reads=""),
    # Staff's planned maintenance (and its feed) lists routine work on its days.
    _e("recurrence.added", "Recurring work agreed", "title rule template", reads="schedule"),
    _e("recurrence.stopped", "Recurring work stopped", "title", reads="schedule"),
    _e("recurrence.occurred", "Raised by its recurrence", "recurrence:int planned", reads=""),
    _e("recurrence.skipped", "A recurrence's day skipped (no school)", "recurrence:int planned", reads=""),
    _e("maintenance_window.added", "Maintenance window agreed", "title service", reads=""),
    _e("maintenance_window.removed", "Maintenance window removed", "title service", reads=""),
    _e("workflow.migrated", "Workflow version migrated", "workflow from_version to_version"),
    _e("outbox.retried", "Failed notifications retried", "count:int", reads=""),
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
    """The declared kind, after checking the payload against its model (its keys, typed)."""
    kind = get(name)
    missing = sorted(kind.keys - set(payload))
    if missing:
        raise UnknownEvent(f"audit event '{name}' is missing {', '.join(missing)} in its payload")
    try:
        kind.model.model_validate(payload)
    except ValidationError as err:
        wrong = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                          for e in err.errors(include_url=False))
        raise UnknownEvent(f"audit event '{name}' has a payload of the wrong shape: {wrong}") from None
    return kind


def text_events() -> Iterable[EventType]:
    """The kinds that change a change's searchable text (always or by their payload)."""
    return [e for e in _DECLARED if e.text or e.text_key]
