"""The signals fitsflow sends, one per gate event: the contract a site's own receiver
may rely on.

Every signal is sent *inside* the service's transaction, with the change as sender and
these keyword arguments:

``runtime``
    the :class:`fitsflow.services.runtime.Runtime` (settings, roles, workflows, rules);
``session``
    the SQLModel session of the transaction. Write through it and your rows commit (or
    roll back) together with the state change; do not commit it yourself;
``actor``
    the :class:`fitsflow.domain.actor.Actor` who caused the event;
``workflow``
    the change's :class:`fitsflow.workflow.definition.WorkflowDefinition`.

The sender is a :class:`fitsflow.persistence.change_store.ChangeRecord` as it is *after*
the event (``state`` is the new state; look its meaning up with
``workflow.kind_of(change.state)``, never by name). Treat it as read-only.

Per signal, further keyword arguments:

``raised``        — none.
``submitted``     — ``gate_title`` (the gate the change now waits at), ``reason`` if given.
``decided``       — ``gate`` (:class:`fitsflow.workflow.definition.Gate`), ``decision``
                    ("approve" | "reject"), ``comment``, ``outcome`` ("pending" | "passed" |
                    "rejected"), ``decisions`` (this round's votes: ``approver_id``, ``role``,
                    ``decision``).
``scheduled``, ``released``, ``backed_out``, ``review_opened``, ``closed``, ``withdrawn``
                  — ``reason`` if the person gave one.

A transition sends the signal its workflow file names (``signal = "…"``); the built-in
receivers (``fitsflow.services.notifications``, ``fitsflow.services.notices``) are connected when
the runtime is built. Connect a site receiver with a module-level function (blinker holds
receivers weakly, so a lambda or inner function would be silently dropped)::

    def tell_the_bursar(change, *, runtime, session, actor, workflow, **extra): ...
    signals.released.connect(tell_the_bursar)
"""

from blinker import NamedSignal, Namespace

_signals = Namespace()

raised = _signals.signal("raised")
submitted = _signals.signal("submitted")
decided = _signals.signal("decided")
scheduled = _signals.signal("scheduled")
released = _signals.signal("released")
backed_out = _signals.signal("backed_out")
review_opened = _signals.signal("review_opened")
closed = _signals.signal("closed")
withdrawn = _signals.signal("withdrawn")


def by_name(name: str) -> NamedSignal:
    """The signal a workflow file names."""
    return _signals[name]
