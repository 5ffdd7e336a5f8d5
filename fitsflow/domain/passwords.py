"""The one password rule, for everyone: long enough, hard enough to guess (zxcvbn), and
not among the 30,000 most common passwords that zxcvbn ships (checked offline)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from .text import refused_in_text

MIN_LENGTH = 12
MAX_LENGTH = 1024  # room for any passphrase or password manager; README says so
# zxcvbn 4.5 raises on anything longer than 72 characters, so it judges the first 72: a
# password that starts hard to guess stays hard to guess. Length counts the whole password.
ZXCVBN_LENGTH = 72
MIN_SCORE = 3  # zxcvbn: 0 (too guessable) … 4 (very unguessable)


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


@cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def problem(password: str, *, about: Iterable[str] = ()) -> str | None:
    """Why this password will not do, in words a person can act on; None if it will.
    ``about``: the person's name and email, which a password must not lean on."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters (a few unrelated words make a good one)"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if any(c in "\t\n" or refused_in_text(c) for c in password):
        return "must not contain control characters such as tabs or line breaks"
    if password.lower() in _common():
        return "is one of the most common passwords: choose another"
    bare = _letters(password)
    for text in about:
        own = _letters(text.split("@")[0])
        if len(own) >= 4 and own in bare:
            return "must not contain your name or email address"
    from zxcvbn import zxcvbn

    words = [w for text in about for w in text.replace("@", " ").replace(".", " ").split() if len(w) > 2]
    result = zxcvbn(password[:ZXCVBN_LENGTH], user_inputs=words)
    if result["score"] < MIN_SCORE:
        hint = result["feedback"]["warning"] or "it would be guessed quickly"
        return f"is too easy to guess: {hint.rstrip('.').lower()}; add another unusual word or two"
    return None
