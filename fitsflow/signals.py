"""Named signals, one per gate event. Connect module-level functions: blinker holds
receivers weakly, so a lambda or inner function would be silently dropped.

Every signal is sent inside the service's transaction with ``session=`` among its
keyword arguments; a receiver that writes through that session commits (or rolls
back) together with the state change that caused it.
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
