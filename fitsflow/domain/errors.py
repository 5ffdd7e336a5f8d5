"""Typed errors the services raise; each message is meant for the person acting."""

from collections.abc import Iterable


class FitsflowError(Exception):
    """Base of every error fitsflow reports to a user."""


class NotFound(FitsflowError):
    """The change, user or workflow does not exist (or may not be seen)."""


class InvalidInput(FitsflowError):
    """Input failed validation; ``problems`` maps a field to its message."""

    def __init__(self, problems: dict[str, str]):
        self.problems = dict(problems)
        detail = "; ".join(f"{field}: {msg}" for field, msg in self.problems.items())
        super().__init__(f"invalid input: {detail}")


class NotAllowed(FitsflowError):
    """The action cannot be taken from the change's current state."""

    def __init__(self, action: str, state: str, allowed: Iterable[str], *, words: str = ""):
        # action, state and allowed are the machine's names (the API returns ``allowed``);
        # ``words`` is the same refusal as a person reads it (titles, not names).
        self.action = action
        self.state = state
        self.allowed = sorted(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(words or f"'{action}' is not allowed from state '{state}'; allowed: {allowed_text}")


class NotPermitted(FitsflowError):
    """The actor lacks the role, or is deciding their own change."""


class GateNotSatisfied(FitsflowError):
    """A guard failed; ``missing`` lists what is still needed. ``action`` is what was asked
    for, as its button reads ("Submit for approval to proceed", "Needs analysis complete"):
    quoted in a sentence that reads whatever its grammar."""

    def __init__(self, action: str, missing: Iterable[str]):
        self.action = action
        self.missing = list(missing)
        super().__init__(f"{self.sentence} Still missing: " + "; ".join(self.missing))

    @property
    def sentence(self) -> str:
        return f"“{self.action}” is not possible yet."


class Stale(FitsflowError):
    """Someone else changed the record first; reload and try again."""

    def __init__(self, ref: str):
        self.ref = ref
        super().__init__(f"{ref} was changed by someone else first; reload it and try again")


class WorkflowError(FitsflowError):
    """A workflow definition is invalid; ``problems`` are 'file: key: message' lines."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid workflow definition:\n  " + "\n  ".join(problems))


class ConfigError(FitsflowError):
    """The configuration file or an environment override is invalid."""
