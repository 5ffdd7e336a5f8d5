"""Innovation studies (issue 23.4): a pilot adopted at its evaluation becomes the full change
when it closes — raised at needs analysis as a follow-up of the pilot (linked both ways),
its needs analysis carrying what the pilot tested and learnt and its success measures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from .. import signals
from ..domain import limits, stages
from ..domain.actor import Actor
from ..domain.text import clip
from ..domain.vocabulary import ADOPT
from ..persistence import audit_store, stage_store
from ..persistence.change_store import ChangeRecord
from ..workflow.definition import WorkflowDefinition
from .runtime import Runtime
from .stages import start_needs

# A carried success measure whose date has passed is given this long from the adoption.
CARRIED_MEASURE_DAYS = 120


def on_closed(
    change: ChangeRecord,
    *,
    runtime: Runtime,
    session: Session,
    actor: Actor,
    workflow: WorkflowDefinition,
    **extra: Any,
) -> None:
    """A pilot closed as adopted raises its change, once."""
    pilot = stage_store.pilot(session, change.id)
    if pilot is None or pilot.outcome != ADOPT or stage_store.adopted_as(session, change.id) is not None:
        return
    from .changes import insert_follow_up  # the changes service imports the receivers' runtime

    weeks = f"{pilot.weeks} week{'s' if pilot.weeks != 1 else ''}"
    child = insert_follow_up(
        session,
        runtime,
        actor,
        parent=change,
        title=f"Adopt: {change.title}"[:200],
        category=pilot.adopt_category,
        description=clip(
            f"Adopted from the pilot {change.ref} ({weeks} with {pilot.trial_group}).\n\n"
            f"What the pilot found: {pilot.learnt}",
            limits.TEXT,
        ),
    )
    needs = stage_store.needs(session, change.id)
    today = runtime.today()
    carried = stages.Needs(
        need=clip(
            f"{pilot.hypothesis}\n\nThe pilot {change.ref} found: {pilot.learnt}"
            + (f"\n\n{needs.need}" if needs and needs.need else ""),
            limits.TEXT,
        ),
        stakeholders=needs.stakeholders if needs else (),
        sdp_priority=needs.sdp_priority if needs else "",
        options_considered=clip(
            f"Piloted for {weeks} with {pilot.trial_group} ({change.ref})."
            + (f"\n{needs.options_considered}" if needs and needs.options_considered else ""),
            limits.TEXT,
        ),
        screening=needs.screening if needs else {},
        dpia_reference=needs.dpia_reference if needs else "",
        measures=tuple(
            stages.SuccessMeasure(
                m.statement,
                m.method,
                m.check_by if m.check_by > today else today + timedelta(days=CARRIED_MEASURE_DAYS),
            )
            for m in (needs.measures if needs else ())
        ),
    )
    start_needs(runtime, session, actor, child, carried)
    stage_store.save_pilot(session, change.id, runtime.now(), adopted_as=child.id)
    audit_store.append(
        session,
        actor=actor.label,
        change_ref=change.ref,
        event_type="pilot.adopted",
        payload={"change": child.ref, "category": pilot.adopt_category},
    )


def connect() -> None:
    """Connect the receiver (a module-level function: blinker holds it weakly)."""
    signals.closed.connect(on_closed)
