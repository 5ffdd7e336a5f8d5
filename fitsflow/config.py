"""Settings: built-in defaults → a TOML file (``--config`` or FITSFLOW_CONFIG) →
FITSFLOW_<SECTION>_<KEY>. Loaded once, by ``load_settings``, into immutable typed
values that the runtime hands to everything else."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.calendar import NATIONS
from .domain.errors import ConfigError
from .domain.financial_years import financial_year_start
from .domain.notices import TIERS
from .domain.policy import POLICY_KEYS, ApprovalPolicy, PolicyError, parse_policy
from .domain.roles import (
    NAME_PATTERN,
    SHIPPED_AUDIENCES,
    SHIPPED_ROLES,
    SYSTEM_ROLES,
    Audience,
    RoleBook,
)
from .domain.vocabulary import SIGNAL_NAMES


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///fitsflow.db"
    sqlite_synchronous: str = "FULL"
    busy_timeout_ms: int = 30000
    echo: bool = False


@dataclass(frozen=True)
class WorkflowSettings:
    dir: str = ""


@dataclass(frozen=True)
class SchoolSettings:
    name: str = "Demo School"
    timezone: str = "Europe/London"
    # Whose bank holidays count: england, wales, scotland or northern_ireland.
    nation: str = "england"


@dataclass(frozen=True)
class PlanningSettings:
    horizon_years: int = 5
    currency: str = "GBP"
    # The day (MM-DD) the school's financial year starts: plan years are shown as
    # financial years ("2026–27"), year 1 being the one the change was raised in.
    financial_year_start: str = "04-01"


@dataclass(frozen=True)
class WebSettings:
    secret_key: str = ""
    secret_key_file: str = "fitsflow-secret.key"
    secure_cookies: bool = True
    max_request_kb: int = 2048
    page_size: int = 25
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    token_days: int = 90
    api_writes_per_minute: int = 120
    # An API write sent with an Idempotency-Key is answered again, not run again, when it
    # is retried with the same key within this many hours.
    idempotency_hours: int = 24


@dataclass(frozen=True)
class ServerSettings:
    bind: str = "127.0.0.1:8000"
    workers: int = 2
    threads: int = 4
    forwarded_allow_ips: str = "127.0.0.1"
    # Seconds a stopping worker (SIGTERM, or the old workers after a SIGHUP reload) has to
    # finish the requests it holds before it is killed.
    graceful_timeout: int = 30


@dataclass(frozen=True)
class SmtpSettings:
    enabled: bool = False
    host: str = "localhost"
    port: int = 25
    security: str = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = "fitsflow@localhost"
    timeout_seconds: int = 20


@dataclass(frozen=True)
class WebhookSettings:
    url: str = ""
    events: str = ""
    timeout_seconds: int = 10
    secret: str = ""

    @property
    def event_set(self) -> frozenset[str]:
        """The events posted to the hook (none when no URL is set; all when none are named)."""
        if not self.url:
            return frozenset()
        named = {e.strip() for e in self.events.split(",") if e.strip()}
        return frozenset(named or SIGNAL_NAMES)


@dataclass(frozen=True)
class DeliverySettings:
    base_url: str = "http://127.0.0.1:8000"
    in_process: bool = True
    batch_size: int = 50
    lease_seconds: int = 120
    # How many processes deliver at once, however many serve (1: one delivery worker per
    # installation; more only for a very large outbox).
    workers: int = 1
    max_attempts: int = 8
    backoff_seconds: int = 30
    backoff_max_seconds: int = 3600
    poll_seconds: int = 5


@dataclass(frozen=True)
class NotifySettings:
    """Who hears of each event: rule names (see fitsflow.notifications)."""

    raised: str = "requester"
    submitted: str = "gate_approvers"
    decided: str = "requester, waiting_approvers_when_gate_done"
    scheduled: str = "audience:support, requester"
    released: str = "requester, audience:support"
    backed_out: str = "requester, audience:support, cab"
    review_opened: str = "requester, audience:support, deciders, slt, head"
    closed: str = "requester"
    withdrawn: str = "requester, deciders"
    window_clash: str = "cab, requester"
    # An edit within the policy's tolerance after approval (needs an acknowledgement).
    approval_changed: str = "cab, requester"
    # A scheduled release moved or unscheduled (those who had notices get a correction).
    rescheduled: str = "cab, requester"
    # A release plan approved or returned by its technical peer review.
    peer_reviewed: str = "requester"
    review_due: str = "requester"


@dataclass(frozen=True)
class NoticeSettings:
    template_dir: str = ""
    review_due_days: int = 10
    # Notices are published at this time (school timezone) on a school day.
    publish_time: str = "08:00"
    acknowledgement_viewers: str = "slt, head, auditor"
    # A notice that scheduling would publish within this many school days is held for the
    # requester's word (send now, send at a time, or not relevant); emergencies' are not.
    hold_within_school_days: int = 1

    @property
    def viewer_roles(self) -> frozenset[str]:
        """Roles that see who has acknowledged a notice (the requester always does)."""
        return frozenset(r.strip() for r in self.acknowledgement_viewers.split(",") if r.strip())


@dataclass(frozen=True)
class AccountSettings:
    # When the school has two or more active administrators, giving someone an approver
    # role or the admin role waits for a second administrator to confirm it.
    confirm_privileged_grants: bool = True
    # Days a browser that passed the second factor is not asked again (0: every sign-in).
    mfa_remember_days: int = 30
    # Who, besides its requester, may hand a change to another requester or name co-owners.
    change_transfer: str = "head, admin"

    @property
    def transfer_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.change_transfer.split(",") if r.strip())


@dataclass(frozen=True)
class ReminderSettings:
    # Approvers still to decide are reminded after this many school days of waiting …
    after_school_days: int = 2
    # … and this many school days later the escalation role is told.
    escalate_after_school_days: int = 5
    escalation_role: str = "head"
    # An emergency's approvers are reminded after this many hours (escalated at twice it).
    emergency_after_hours: int = 2


@dataclass(frozen=True)
class HealthSettings:
    # /healthz is ok only if a small write commits within this many milliseconds …
    write_deadline_ms: int = 2000
    # … and, for SQLite, the database's disk has at least this many MiB free.
    min_free_mb: int = 200


@dataclass(frozen=True)
class AuditSettings:
    # The worker walks the whole chain from its start this often (hours); the audit page
    # checks only what came after the last check.
    full_check_hours: int = 24


@dataclass(frozen=True)
class CalendarSettings:
    # Who may subscribe to the whole forward schedule (every release and freeze) rather
    # than only the changes they are involved in: roles, and audiences.
    schedule_feed_roles: str = "cab, slt, head, admin"
    schedule_feed_audiences: str = "support"
    # How far back a feed reaches (days); it reaches a year ahead.
    feed_past_days: int = 90


@dataclass(frozen=True)
class DemoSettings:
    password: str = "fitsflow-demo"


@dataclass(frozen=True)
class RoleSetting:
    """A role people hold. ``approves``: it may be named in a gate's quorum. ``mfa``: its
    holders sign in with a second factor (a new role's default: whether it approves)."""

    label: str
    approves: bool = False
    mfa: bool = False


@dataclass(frozen=True)
class AudienceSetting:
    """People who receive release notices: the tier of detail and how many school
    days before the window their notice is published."""

    label: str
    tier: str
    lead_days: int


DEFAULT_ROLES = {name: RoleSetting(*spec) for name, spec in SHIPPED_ROLES.items()}
with (Path(__file__).parent / "policy.toml").open("rb") as _shipped:
    SHIPPED_POLICY: dict[str, Any] = tomllib.load(_shipped)


def _shipped_policy() -> ApprovalPolicy:
    return parse_policy(SHIPPED_POLICY, roles={n for n, (_, approves, _) in SHIPPED_ROLES.items()
                                               if approves})


DEFAULT_AUDIENCES = {name: AudienceSetting(*spec) for name, spec in SHIPPED_AUDIENCES.items()}


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Settings:
    """Every setting, typed and immutable. Sections mirror config.example.toml."""

    database: DatabaseSettings = DatabaseSettings()
    workflows: WorkflowSettings = WorkflowSettings()
    school: SchoolSettings = SchoolSettings()
    planning: PlanningSettings = PlanningSettings()
    web: WebSettings = WebSettings()
    server: ServerSettings = ServerSettings()
    smtp: SmtpSettings = SmtpSettings()
    webhook: WebhookSettings = WebhookSettings()
    delivery: DeliverySettings = DeliverySettings()
    notify: NotifySettings = NotifySettings()
    notices: NoticeSettings = NoticeSettings()
    accounts: AccountSettings = AccountSettings()
    calendar: CalendarSettings = CalendarSettings()
    reminders: ReminderSettings = ReminderSettings()
    audit: AuditSettings = AuditSettings()
    health: HealthSettings = HealthSettings()
    demo: DemoSettings = DemoSettings()
    roles: Mapping[str, RoleSetting] = field(default_factory=lambda: _frozen(DEFAULT_ROLES))
    audiences: Mapping[str, AudienceSetting] = field(default_factory=lambda: _frozen(DEFAULT_AUDIENCES))
    # The approval policy as written (the shipped policy.toml with the file's [policy] keys
    # over it), and as the engine reads it.
    policy_raw: Mapping[str, Any] = field(default_factory=lambda: _frozen(SHIPPED_POLICY))
    policy: ApprovalPolicy = field(default_factory=lambda: _shipped_policy())
    source: str = "built-in defaults"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.school.timezone)

    def role_book(self) -> RoleBook:
        """The school's roles and audiences, as the engine reads them."""
        return RoleBook(
            labels=_frozen({name: r.label for name, r in self.roles.items()}),
            approvers=tuple(name for name, r in self.roles.items() if r.approves),
            mfa_roles=tuple(name for name, r in self.roles.items() if r.mfa),
            audiences=_frozen({name: Audience(name, a.label, a.tier, a.lead_days)
                               for name, a in self.audiences.items()}),
        )

    def replace(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some keys of some fixed sections changed (tests, benches),
        validated like a file: ``settings.replace(web={"page_size": 10})``."""
        raw = _raw(self)
        for section, values in sections.items():
            for key, value in values.items():
                _set(raw, section, key, value, f"{section}.{key}")
        return _build(raw, self.source)


# Sections whose keys are names the school chooses (each a table of fields).
_NAMED_SECTIONS: dict[str, type] = {"roles": RoleSetting, "audiences": AudienceSetting}
_NOT_FIXED = {"source", "policy", "policy_raw"}


def _fixed_sections() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)
            if f.name not in _NAMED_SECTIONS and f.name not in _NOT_FIXED}


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, kind: Any, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,12}\s*", value):
            return int(value)
        raise ConfigError(f"{where}: must be a whole number, got {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be text, got {value!r}")
    return value


def _raw(settings: Settings) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {name: dataclasses.asdict(getattr(settings, name))
                                      for name in _fixed_sections()}
    for name in _NAMED_SECTIONS:
        raw[name] = {key: dataclasses.asdict(entry) for key, entry in getattr(settings, name).items()}
    raw["policy"] = dict(settings.policy_raw)
    return raw


def _set(raw: dict[str, dict[str, Any]], section: str, key: str, value: Any, where: str) -> None:
    fixed = _fixed_sections()
    if section not in fixed:
        raise ConfigError(f"{where}: unknown section")
    hints = _hints(fixed[section])
    if key not in hints:
        raise ConfigError(f"{where}: unknown setting")
    raw[section][key] = _coerce(value, hints[key], where)


def _merge_named(raw: dict[str, dict[str, Any]], section: str, values: Any, where: str) -> None:
    """[roles.NAME] / [audiences.NAME] tables: add an entry, or change fields of one."""
    cls = _NAMED_SECTIONS[section]
    hints = _hints(cls)
    if not isinstance(values, dict):
        raise ConfigError(f"{where}{section}: must be a table of [{section}.NAME] tables")
    for name, body in values.items():
        key = f"{where}{section}.{name}"
        if not isinstance(body, dict):
            raise ConfigError(f"{key}: must be a table ({', '.join(hints)})")
        entry = dict(raw[section].get(name, {}))
        for attr, value in body.items():
            if attr not in hints:
                raise ConfigError(f"{key}.{attr}: unknown setting (known: {', '.join(hints)})")
            entry[attr] = _coerce(value, hints[attr], f"{key}.{attr}")
        entry.setdefault("label", name.replace("_", " "))
        if section == "roles" and name not in raw[section] and "mfa" not in body:
            entry["mfa"] = entry.get("approves", False)  # approvers use MFA unless told otherwise
        missing = [f.name for f in dataclasses.fields(cls)
                   if f.name not in entry and f.default is dataclasses.MISSING]
        if missing:
            raise ConfigError(f"{key}: missing {', '.join(missing)}")
        raw[section][name] = entry


def _from_file(raw: dict[str, dict[str, Any]], path: Path) -> None:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a configuration file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    for section, values in data.items():
        if section in _NAMED_SECTIONS:
            _merge_named(raw, section, values, f"{path}: ")
            continue
        if section == "policy":
            if not isinstance(values, dict):
                raise ConfigError(f"{path}: policy: must be a [policy] table")
            for key, value in values.items():
                if key not in POLICY_KEYS:
                    raise ConfigError(f"{path}: policy.{key}: unknown key "
                                      f"(known: {', '.join(sorted(POLICY_KEYS))})")
                raw["policy"][key] = value  # a key given replaces the shipped one whole
            continue
        if section not in raw:
            raise ConfigError(f"{path}: [{section}]: unknown section")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section}: must be a [section] table")
        for key, value in values.items():
            _set(raw, section, key, value, f"{path}: {section}.{key}")


def _from_environment(raw: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> None:
    for name, value in sorted(environ.items()):
        if not name.startswith("FITSFLOW_") or name == "FITSFLOW_CONFIG" or name.startswith("FITSFLOW_TEST_"):
            continue
        rest = name[len("FITSFLOW_"):].lower()
        if rest.startswith("policy_"):
            raise ConfigError(f"{name}: the approval policy is set in the settings file only ([policy])")
        for section, entries in raw.items():
            if section == "policy":
                continue
            if not rest.startswith(section + "_"):
                continue
            tail = rest[len(section) + 1:]
            if section in _NAMED_SECTIONS:
                hints = _hints(_NAMED_SECTIONS[section])
                for entry in entries:
                    attr = tail[len(entry) + 1:]
                    if tail.startswith(entry + "_") and attr in hints:
                        entries[entry][attr] = _coerce(value, hints[attr], name)
                        break
                else:
                    continue
                break
            if tail in entries:
                _set(raw, section, tail, value, name)
                break
        else:
            raise ConfigError(f"{name}: no such setting (expected FITSFLOW_<SECTION>_<KEY>)")


def _check(raw: dict[str, dict[str, Any]]) -> None:
    """Rules between values, each naming the key at fault."""
    horizon = raw["planning"]["horizon_years"]
    if not 1 <= horizon <= 10:
        raise ConfigError(f"planning.horizon_years: must be from 1 to 10, got {horizon}")
    try:
        financial_year_start(raw["planning"]["financial_year_start"])
    except ValueError:
        raise ConfigError("planning.financial_year_start: must be a day of the year as MM-DD, such as 04-01 "
                          "(1 April) or 09-01") from None
    if raw["database"]["sqlite_synchronous"].upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError("database.sqlite_synchronous: must be one of OFF, NORMAL, FULL, EXTRA")
    if not raw["database"]["url"]:
        raise ConfigError("database.url: must not be empty")
    if raw["database"]["busy_timeout_ms"] < 1:
        raise ConfigError("database.busy_timeout_ms: must be 1 or more (0 turns load into errors)")
    try:
        ZoneInfo(raw["school"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"school.timezone: unknown time zone '{raw['school']['timezone']}'") from None
    if raw["school"]["nation"] not in NATIONS:
        raise ConfigError(f"school.nation: must be one of {', '.join(NATIONS)}, "
                          f"got '{raw['school']['nation']}'")
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", raw["notices"]["publish_time"]):
        raise ConfigError(f"notices.publish_time: must be a time of day as HH:MM, got "
                          f"'{raw['notices']['publish_time']}'")
    if not 0 <= raw["notices"]["hold_within_school_days"] <= 20:
        raise ConfigError("notices.hold_within_school_days: must be from 0 to 20 school days")
    if not 1 <= raw["notices"]["review_due_days"] <= 200:
        raise ConfigError("notices.review_due_days: must be from 1 to 200 school days")
    if raw["web"]["max_request_kb"] < 16:
        raise ConfigError("web.max_request_kb: must be at least 16")
    if not 1 <= raw["web"]["session_idle_minutes"] <= 24 * 60:
        raise ConfigError("web.session_idle_minutes: must be from 1 to 1440")
    if not 1 <= raw["web"]["session_max_hours"] <= 24 * 30:
        raise ConfigError("web.session_max_hours: must be from 1 to 720")
    if not 1 <= raw["web"]["api_writes_per_minute"] <= 100_000:
        raise ConfigError("web.api_writes_per_minute: must be from 1 to 100000")
    if not 1 <= raw["web"]["token_days"] <= 365:
        raise ConfigError("web.token_days: must be from 1 to 365")
    if not 0 <= raw["accounts"]["mfa_remember_days"] <= 365:
        raise ConfigError("accounts.mfa_remember_days: must be from 0 to 365")
    if not 5 <= raw["web"]["page_size"] <= 500:
        raise ConfigError("web.page_size: must be from 5 to 500")
    for item in (i.strip() for i in raw["server"]["forwarded_allow_ips"].split(",") if i.strip()):
        try:
            if item != "*":
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"server.forwarded_allow_ips: '{item}' is not an address or network") from None
    if raw["server"]["workers"] < 1 or raw["server"]["threads"] < 1:
        raise ConfigError("server.workers and server.threads: must be 1 or more")
    if not 1 <= raw["server"]["graceful_timeout"] <= 600:
        raise ConfigError("server.graceful_timeout: must be from 1 to 600 seconds")
    unknown = {e.strip() for e in raw["webhook"]["events"].split(",") if e.strip()} - set(SIGNAL_NAMES)
    if unknown:
        raise ConfigError(f"webhook.events: unknown event {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(SIGNAL_NAMES)})")
    if raw["webhook"]["url"] and len(raw["webhook"]["secret"]) < 16:
        raise ConfigError("webhook.secret: required (16 characters or more) when webhook.url is set: "
                          "every POST is signed with it (X-Fitsflow-Signature)")
    if raw["smtp"]["security"] not in {"none", "starttls", "ssl"}:
        raise ConfigError("smtp.security: must be one of none, starttls, ssl")
    for key in ("batch_size", "lease_seconds", "max_attempts", "backoff_seconds", "poll_seconds"):
        if raw["delivery"][key] < 1:
            raise ConfigError(f"delivery.{key}: must be 1 or more")
    delivery = raw["delivery"]
    if not 1 <= delivery["workers"] <= 16:
        raise ConfigError("delivery.workers: must be from 1 to 16")
    sends = [raw["smtp"]["timeout_seconds"]] if raw["smtp"]["enabled"] else []
    sends += [raw["webhook"]["timeout_seconds"]] if raw["webhook"]["url"] else []
    slowest = max(sends, default=0)
    if delivery["lease_seconds"] < 2 * slowest:
        raise ConfigError(f"delivery.lease_seconds: must be at least twice the slowest send's time-out "
                          f"({slowest} s), or a row still being sent could be taken by another worker")
    if delivery["poll_seconds"] >= delivery["lease_seconds"]:
        raise ConfigError("delivery.poll_seconds: must be shorter than delivery.lease_seconds (an idle "
                          "worker renews its turn each time it looks for work)")
    for section in _NAMED_SECTIONS:
        for name, entry in raw[section].items():
            if not NAME_PATTERN.match(name):
                raise ConfigError(f"{section}.{name}: names use lower-case letters, digits and '_' "
                                  "(up to 20 characters)")
            if not entry["label"].strip() or len(entry["label"]) > 100:
                raise ConfigError(f"{section}.{name}.label: must be 1 to 100 characters")
    for name in SYSTEM_ROLES:
        if name not in raw["roles"]:
            raise ConfigError(f"roles.{name}: is built in and cannot be removed")
        if raw["roles"][name]["approves"]:
            raise ConfigError(f"roles.{name}.approves: the built-in role '{name}' cannot approve")
    viewers = {r.strip() for r in raw["notices"]["acknowledgement_viewers"].split(",") if r.strip()}
    if viewers - set(raw["roles"]):
        raise ConfigError(f"notices.acknowledgement_viewers: unknown role "
                          f"{', '.join(sorted(viewers - set(raw['roles'])))}")
    limits_of = (("after_school_days", 60), ("escalate_after_school_days", 60), ("emergency_after_hours", 72))
    for key, most in limits_of:
        if not 1 <= raw["reminders"][key] <= most:
            raise ConfigError(f"reminders.{key}: must be from 1 to {most}")
    if not 1 <= raw["web"]["idempotency_hours"] <= 24 * 30:
        raise ConfigError("web.idempotency_hours: must be from 1 to 720")
    if not 100 <= raw["health"]["write_deadline_ms"] <= 60_000:
        raise ConfigError("health.write_deadline_ms: must be from 100 to 60000")
    if not 0 <= raw["health"]["min_free_mb"] <= 10**7:
        raise ConfigError("health.min_free_mb: must be from 0 to 10000000")
    if not 1 <= raw["audit"]["full_check_hours"] <= 24 * 31:
        raise ConfigError("audit.full_check_hours: must be from 1 to 744 (a month)")
    if raw["reminders"]["escalation_role"] not in raw["roles"]:
        raise ConfigError(f"reminders.escalation_role: unknown role '{raw['reminders']['escalation_role']}'")
    transfer = {r.strip() for r in raw["accounts"]["change_transfer"].split(",") if r.strip()}
    if transfer - set(raw["roles"]):
        raise ConfigError("accounts.change_transfer: unknown role "
                          + ", ".join(sorted(transfer - set(raw["roles"]))))
    feed_roles = {r.strip() for r in raw["calendar"]["schedule_feed_roles"].split(",") if r.strip()}
    if feed_roles - set(raw["roles"]):
        raise ConfigError(f"calendar.schedule_feed_roles: unknown role "
                          f"{', '.join(sorted(feed_roles - set(raw['roles'])))}")
    feed_audiences = {a.strip() for a in raw["calendar"]["schedule_feed_audiences"].split(",") if a.strip()}
    if feed_audiences - set(raw["audiences"]):
        raise ConfigError(f"calendar.schedule_feed_audiences: unknown audience "
                          f"{', '.join(sorted(feed_audiences - set(raw['audiences'])))}")
    if not 0 <= raw["calendar"]["feed_past_days"] <= 3650:
        raise ConfigError("calendar.feed_past_days: must be from 0 to 3650")
    if not raw["audiences"]:
        raise ConfigError("audiences: define at least one audience")
    for name, entry in raw["audiences"].items():
        if entry["tier"] not in TIERS:
            raise ConfigError(f"audiences.{name}.tier: must be one of {', '.join(TIERS)}")
        if not 0 <= entry["lead_days"] <= 60:
            raise ConfigError(f"audiences.{name}.lead_days: must be from 0 to 60 school days")


def _build(raw: dict[str, dict[str, Any]], source: str) -> Settings:
    _check(raw)
    sections: dict[str, Any] = {name: cls(**raw[name]) for name, cls in _fixed_sections().items()}
    for name, cls in _NAMED_SECTIONS.items():
        sections[name] = _frozen({key: cls(**entry) for key, entry in raw[name].items()})
    approvers = {name for name, entry in raw["roles"].items() if entry["approves"]}
    try:
        policy = parse_policy(raw["policy"], roles=approvers)
    except PolicyError as err:
        raise ConfigError(f"{source}: {err}" if source != "built-in defaults" else str(err)) from None
    if policy.peer_review_audience not in raw["audiences"]:
        raise ConfigError(f"policy.peer_review_audience: unknown audience '{policy.peer_review_audience}'")
    return Settings(**sections, policy_raw=_frozen(raw["policy"]), policy=policy, source=source)


def load_settings(path: str | Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings once; raise ConfigError naming the file, key or variable at fault."""
    environ = os.environ if environ is None else environ
    raw = _raw(Settings())
    path = path or environ.get("FITSFLOW_CONFIG") or None
    if path:
        _from_file(raw, Path(path))
    _from_environment(raw, environ)
    return _build(raw, str(Path(path).resolve()) if path else "built-in defaults")


def section_keys() -> dict[str, set[str]]:
    """Every fixed section and its keys (the example file documents exactly these)."""
    return {name: set(_hints(cls)) for name, cls in _fixed_sections().items()}
