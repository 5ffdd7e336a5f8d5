"""The fixed words of the domain: roles, audiences, categories, phases, cost kinds."""

ROLES: tuple[str, ...] = ("requester", "cab", "slt", "finance", "head", "auditor", "admin")
APPROVER_ROLES: tuple[str, ...] = ("cab", "slt", "finance", "head")
AUDIENCES: tuple[str, ...] = ("slt", "support", "staff", "students", "parents")
CATEGORIES: tuple[str, ...] = ("standard", "minor", "significant", "major", "emergency")
PHASES: tuple[str, ...] = ("planning", "delivery", "review")
COST_KINDS: tuple[str, ...] = (
    "capital",
    "recurring",
    "licence",
    "consumable",
    "training",
    "staff_time",
)
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
# A follow-up from a review is a new need: a planned change, never standard or emergency.
FOLLOW_UP_CATEGORIES: tuple[str, ...] = ("minor", "significant", "major")
DECISIONS: tuple[str, ...] = ("approve", "reject")
STAGES: tuple[str, ...] = ("needs", "finance", "release_plan", "review")
REVIEW_OUTCOMES: tuple[str, ...] = ("successful", "partially_successful", "unsuccessful")

ROLE_LABELS: dict[str, str] = {
    "requester": "requester",
    "cab": "CAB",
    "slt": "SLT",
    "finance": "finance",
    "head": "head",
    "auditor": "auditor",
    "admin": "admin",
}
# The signals a workflow transition may send (see fitsflow.signals).
SIGNAL_NAMES: tuple[str, ...] = (
    "raised",
    "submitted",
    "decided",
    "scheduled",
    "released",
    "backed_out",
    "review_opened",
    "closed",
    "withdrawn",
)
