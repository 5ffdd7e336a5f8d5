"""Single sign-on rules, pure: which email addresses a provider may vouch for, which roles
and audiences a provider's claims give, and whether an ID token shows a second factor.

A rule is written ``CLAIM:VALUE=NAME`` — "whoever's ``groups`` claim holds ``ict-team`` is
given ``cab``" is ``groups:ict-team=cab``. A claim may be a list (groups) or one value (a
department); values are compared exactly, as providers send group ids or names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_RULE = re.compile(r"^(?P<claim>[A-Za-z_][A-Za-z0-9_./-]{0,99}):(?P<value>[^=]{1,200})"
                   r"=(?P<name>[a-z][a-z0-9_]{0,19})$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")

# What an ID token's ``amr`` (RFC 8176) says when more than a password was used.
MFA_AMR = ("mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina", "vbm", "pop")


class RuleError(ValueError):
    """A rule or domain written wrongly; the message says how it should read."""


@dataclass(frozen=True)
class Rule:
    claim: str
    value: str
    name: str

    def matches(self, claims: Mapping[str, Any]) -> bool:
        held = claims.get(self.claim)
        if isinstance(held, list | tuple):
            return any(isinstance(v, str | int) and str(v) == self.value for v in held)
        return isinstance(held, str | int) and not isinstance(held, bool) and str(held) == self.value


def parse_rule(text: str) -> Rule:
    found = _RULE.match(text.strip())
    if not found:
        raise RuleError(f"'{text}' is not a rule: write CLAIM:VALUE=NAME, such as groups:ict-team=cab")
    return Rule(found["claim"], found["value"].strip(), found["name"])


def parse_rules(texts: Iterable[str]) -> tuple[Rule, ...]:
    return tuple(parse_rule(t) for t in texts)


def check_domain(text: str) -> str:
    domain = text.strip().lower()
    if not _DOMAIN.match(domain):
        raise RuleError(f"'{text}' is not an email domain such as school.example.org")
    return domain


def mapped(rules: Iterable[Rule], claims: Mapping[str, Any]) -> frozenset[str]:
    """The names the rules give for these claims."""
    return frozenset(rule.name for rule in rules if rule.matches(claims))


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def showed_second_factor(claims: Mapping[str, Any], acr_values: Iterable[str]) -> bool:
    """Whether the provider says it asked for more than one factor: ``amr`` (RFC 8176)
    holding ``mfa``, or two different methods at least one of which is a second factor's
    (a one-time code alone, as a passwordless email code is, is one factor); or an ``acr``
    the trust counts as multi-factor."""
    amr = claims.get("amr")
    methods = {v for v in amr if isinstance(v, str)} if isinstance(amr, list) else set()
    if "mfa" in methods or (len(methods) >= 2 and methods & set(MFA_AMR)):
        return True
    acr = claims.get("acr")
    return isinstance(acr, str) and acr in set(acr_values)


def next_roles(current: Iterable[str], given_before: Iterable[str], given_now: Iterable[str]) -> list[str]:
    """A person's roles after a sign-in: what the provider gave last time and no longer
    gives is taken away; what it gives now is added; what an administrator gave stays."""
    return sorted((set(current) - set(given_before)) | set(given_now))
