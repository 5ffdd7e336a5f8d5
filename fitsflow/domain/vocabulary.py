"""The fixed words of the domain: categories, phases, cost kinds, state kinds, signals.
(Roles and audiences are the school's: see ``roles``.)"""

CATEGORIES: tuple[str, ...] = ("standard", "minor", "significant", "major", "emergency", "pilot")
PHASES: tuple[str, ...] = ("planning", "delivery", "review")
# Cost kinds paid from capital; every other kind is revenue (the budget line a school
# reports them under).
CAPITAL_KINDS: tuple[str, ...] = ("capital",)
COST_KINDS: tuple[str, ...] = (
    "capital",
    "recurring",
    "licence",
    "consumable",
    "training",
    "staff_time",
)
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
# Why an emergency may go ahead on its approver's word: a service is down and this restores
# it, or a service is at risk and this protects it. Nothing else is an emergency.
RESTORE, PROTECT = "restore", "protect"
EMERGENCY_PURPOSES: dict[str, str] = {RESTORE: "restores a service that is down",
                                      PROTECT: "protects a service at immediate risk"}
# A follow-up from a review is a new need: a planned change, never standard or emergency.
FOLLOW_UP_CATEGORIES: tuple[str, ...] = ("minor", "significant", "major")
DECISIONS: tuple[str, ...] = ("approve", "reject")
STAGES: tuple[str, ...] = ("needs", "finance", "release_plan", "review", "pilot", "pilot_outcome")
STAGE_TITLES: dict[str, str] = {"needs": "Needs analysis", "finance": "Financial plan",
                                "release_plan": "Risk, back-out and release plan",
                                "review": "Post-implementation review", "pilot": "Pilot design",
                                "pilot_outcome": "Pilot outcome"}
# What an innovation study (a pilot) comes to at its evaluation.
ADOPT = "adopt"
PILOT_OUTCOMES: dict[str, str] = {ADOPT: "Adopt: raise the full change, carrying what was learnt",
                                  "adapt": "Adapt: change the idea and try again", "drop": "Drop it"}
REVIEW_OUTCOMES: tuple[str, ...] = ("successful", "partially_successful", "unsuccessful")
# How a success measure fared at the review, and its words.
MEASURE_RESULTS: dict[str, str] = {"met": "Met", "partly": "Partly met", "not_met": "Not met"}
# Months after a release: is what was bought being used as intended?
USAGE_RESULTS: dict[str, str] = {"in_use": "Used as intended", "partly": "Partly used",
                                 "not_used": "Not used"}

# What a state means to the engine. A workflow names its states as it likes and says,
# with ``kind = "…"``, which one plays each of these parts; code asks for the kind,
# never the name.
SCHEDULED, RELEASED, BACKED_OUT = "scheduled", "released", "backed_out"
IN_REVIEW, CLOSED, WITHDRAWN = "in_review", "closed", "withdrawn"
STATE_KINDS: tuple[str, ...] = (SCHEDULED, RELEASED, BACKED_OUT, IN_REVIEW, CLOSED, WITHDRAWN)
# A transition that sends one of these signals must enter a state of the same kind.
SIGNAL_KINDS: dict[str, str] = {"scheduled": SCHEDULED, "released": RELEASED, "backed_out": BACKED_OUT,
                                "review_opened": IN_REVIEW, "closed": CLOSED, "withdrawn": WITHDRAWN}
# A final state must say which ending it is.
FINAL_KINDS: tuple[str, ...] = (CLOSED, WITHDRAWN)
# Notices go out while a change is in these; the review reminder stays due in the others.
LIVE_RELEASE_KINDS: tuple[str, ...] = (SCHEDULED, RELEASED)
REVIEW_PENDING_KINDS: tuple[str, ...] = (RELEASED, BACKED_OUT)
# In calendar feeds: a release that happens (or did), and one that will not.
CONFIRMED_RELEASE_KINDS: tuple[str, ...] = (SCHEDULED, RELEASED, IN_REVIEW, CLOSED)
CANCELLED_RELEASE_KINDS: tuple[str, ...] = (BACKED_OUT, WITHDRAWN)
# Entering these undoes the work: the action needs a reason and a confirmation step.
UNDOING_KINDS: tuple[str, ...] = (BACKED_OUT, WITHDRAWN)
# A change in one of these is past its release window (it no longer holds the slot).
PAST_WINDOW_KINDS: tuple[str, ...] = (RELEASED, BACKED_OUT, IN_REVIEW, CLOSED, WITHDRAWN)
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

# The parts of a change a gate can approve (the approval policy's ``approves`` names them).
APPROVAL_SCOPES = ("needs", "finance", "release_plan", "services")
