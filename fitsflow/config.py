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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .domain import evidence as evidence_rules
from .domain import filtering as filtering_rules
from .domain import sso as sso_rules
from .domain.errors import ConfigError
from .domain.financial_years import financial_year_start
from .domain.notices import TIERS
from .domain.policy import POLICY_KEYS, ApprovalPolicy, PolicyError, parse_policy, parse_school_policy
from .domain.roles import (
    ADMIN,
    NAME_PATTERN,
    SHIPPED_AUDIENCES,
    SHIPPED_ROLES,
    SYSTEM_ROLES,
    Audience,
    RoleBook,
)
from .domain.schools import slug_problem
from .domain.vocabulary import CATEGORIES, FOLLOW_UP_CATEGORIES, SIGNAL_NAMES


class _Section(BaseModel):
    """A fixed section of the settings: each field's type and range beside it, checked when
    the settings are built (``_problem`` words what pydantic finds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _names(value: Any) -> Any:
    """A list of names: a TOML array, or text with the names separated by commas."""
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    return value


def _zone(value: str) -> str:
    """a time zone name, such as Europe/London"""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}'") from None
    return value


def _year_start(value: str) -> str:
    """a day of the year as MM-DD, such as 04-01"""
    try:
        financial_year_start(value)
    except ValueError:
        raise ValueError("must be a day of the year as MM-DD, such as 04-01 (1 April) or 09-01") from None
    return value


def _networks(value: str) -> str:
    """addresses or networks, separated by commas, or *"""
    for item in (i.strip() for i in value.split(",") if i.strip()):
        try:
            if item != "*":
                ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"'{item}' is not an address or network") from None
    return value


def _events(value: tuple[str, ...]) -> tuple[str, ...]:
    """names of workflow signals (fitsflow.domain.vocabulary)"""
    unknown = set(value) - set(SIGNAL_NAMES)
    if unknown:
        raise ValueError(f"unknown event {', '.join(sorted(unknown))} (known: {', '.join(SIGNAL_NAMES)})")
    return value


# Roles, audiences or events, as a list (comma-separated text is read as one).
Names = Annotated[tuple[str, ...], BeforeValidator(_names)]
Nation = Literal["england", "wales", "scotland", "northern_ireland"]
SyncLevel = Annotated[Literal["OFF", "NORMAL", "FULL", "EXTRA"],
                      BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)]


class DatabaseSettings(_Section):
    url: str = Field(default="sqlite:///fitsflow.db", min_length=1)
    sqlite_synchronous: SyncLevel = "FULL"
    busy_timeout_ms: int = Field(default=30000, ge=1, description="0 would turn load into errors")
    # Each pooled connection's own page cache; the operating system's file cache holds the
    # file once for them all.
    sqlite_cache_kib: int = Field(default=512, ge=64, le=1_048_576)
    echo: bool = False


class WorkflowSettings(_Section):
    dir: str = ""


class SchoolSettings(_Section):
    name: str = "Demo School"
    timezone: Annotated[str, AfterValidator(_zone)] = "Europe/London"
    # Whose bank holidays count.
    nation: Nation = "england"
    # Who parents and students are told to ask about a release (their notices name it).
    public_contact: str = Field(default="the school office", min_length=1, max_length=200)


class PlanningSettings(_Section):
    horizon_years: int = Field(default=5, ge=1, le=10)
    currency: str = "GBP"
    # The day (MM-DD) the school's financial year starts: plan years are shown as
    # financial years ("2026–27"), year 1 being the one the change was raised in.
    financial_year_start: Annotated[str, AfterValidator(_year_start)] = "04-01"


class WebSettings(_Section):
    secret_key: str = ""
    secret_key_file: str = "fitsflow-secret.key"
    secure_cookies: bool = True
    max_request_kb: int = Field(default=2048, ge=16)
    page_size: int = Field(default=25, ge=5, le=500)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    token_days: int = Field(default=90, ge=1, le=365)
    api_writes_per_minute: int = Field(default=120, ge=1, le=100_000)
    # An API write sent with an Idempotency-Key is answered again, not run again, when it
    # is retried with the same key within this many hours.
    idempotency_hours: int = Field(default=24, ge=1, le=24 * 30)


class ServerSettings(_Section):
    bind: str = "127.0.0.1:8000"
    workers: int = Field(default=2, ge=1)
    threads: int = Field(default=4, ge=1)
    forwarded_allow_ips: Annotated[str, AfterValidator(_networks)] = "127.0.0.1"
    # Seconds a stopping worker (SIGTERM, or the old workers after a SIGHUP reload) has to
    # finish the requests it holds before it is killed.
    graceful_timeout: int = Field(default=30, ge=1, le=600)


class SmtpSettings(_Section):
    enabled: bool = False
    host: str = "localhost"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = "fitsflow@localhost"
    timeout_seconds: int = Field(default=20, ge=1, le=600)


class WebhookSettings(_Section):
    url: str = ""
    events: Annotated[Names, AfterValidator(_events)] = ()
    timeout_seconds: int = Field(default=10, ge=1, le=600)
    secret: str = ""

    @property
    def event_set(self) -> frozenset[str]:
        """The events posted to the hook (none when no URL is set; all when none are named)."""
        if not self.url:
            return frozenset()
        return frozenset(self.events or SIGNAL_NAMES)


class DeliverySettings(_Section):
    base_url: str = "http://127.0.0.1:8000"
    in_process: bool = True
    batch_size: int = Field(default=50, ge=1)
    lease_seconds: int = Field(default=120, ge=1)
    # How many processes deliver at once, however many serve (1: one delivery worker per
    # installation; more only for a very large outbox).
    workers: int = Field(default=1, ge=1, le=16)
    max_attempts: int = Field(default=8, ge=1)
    backoff_seconds: int = Field(default=30, ge=1)
    backoff_max_seconds: int = Field(default=3600, ge=1)
    poll_seconds: int = Field(default=5, ge=1)


class NotifySettings(_Section):
    """Who hears of each event: rule names (see fitsflow.services.notifications)."""

    raised: str = "requester"
    submitted: str = "gate_approvers"
    decided: str = "requester, waiting_approvers_when_gate_done"
    scheduled: str = "audience:support, requester"
    released: str = "requester, audience:support"
    backed_out: str = "requester, audience:support, cab"
    review_opened: str = "requester, audience:support, deciders, slt, head"
    closed: str = "requester"
    withdrawn: str = "requester, deciders, gate_approvers"
    window_clash: str = "cab, requester"
    # An edit within the policy's tolerance after approval (needs an acknowledgement).
    approval_changed: str = "cab, requester"
    # A scheduled release moved or unscheduled (those who had notices get a correction).
    rescheduled: str = "cab, requester"
    # A release plan approved or returned by its technical peer review.
    peer_reviewed: str = "requester"
    # A release plan saved that needs its technical peer review (the change's owners are
    # never asked to review their own).
    peer_review_wanted: str = "audience:support"
    review_due: str = "requester"


class NoticeSettings(_Section):
    template_dir: str = ""
    review_due_days: int = Field(default=10, ge=1, le=200)
    # Notices are published at this time (school timezone) on a school day.
    publish_time: str = Field(default="08:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
                              description="a time of day as HH:MM")
    acknowledgement_viewers: Names = ("slt", "head", "auditor")
    # A notice that scheduling would publish within this many school days is held for the
    # requester's word (send now, send at a time, or not relevant); emergencies' are not.
    hold_within_school_days: int = Field(default=1, ge=0, le=20)

    @property
    def viewer_roles(self) -> frozenset[str]:
        """Roles that see who has acknowledged a notice (the requester always does)."""
        return frozenset(self.acknowledgement_viewers)


class AccountSettings(_Section):
    # When the school has two or more active administrators, giving someone an approver
    # role or the admin role waits for a second administrator to confirm it.
    confirm_privileged_grants: bool = True
    # Days a browser that passed the second factor is not asked again (0: every sign-in).
    mfa_remember_days: int = Field(default=30, ge=0, le=365)
    # Days an emailed invitation to choose a first password works (once).
    invitation_days: int = Field(default=7, ge=1, le=60)
    # Minutes an emailed password-reset link works (once).
    password_reset_minutes: int = Field(default=60, ge=5, le=1440)
    # Who, besides its requester, may hand a change to another requester or name co-owners.
    change_transfer: Names = ("head", "admin")
    # A substitute deciding in these roles acts within this planned five-year cost.
    substitute_limit: int = Field(default=5000, ge=0, le=10**9)
    substitute_limit_roles: Names = ("finance",)

    @property
    def transfer_roles(self) -> frozenset[str]:
        return frozenset(self.change_transfer)


class ReminderSettings(_Section):
    # Approvers still to decide are reminded after this many school days of waiting …
    after_school_days: int = Field(default=2, ge=1, le=60)
    # … and this many school days later the escalation role is told.
    escalate_after_school_days: int = Field(default=5, ge=1, le=60)
    escalation_role: str = "head"
    # An emergency's approvers are reminded after this many hours (escalated at twice it).
    emergency_after_hours: int = Field(default=2, ge=1, le=72)


class HealthSettings(_Section):
    # /healthz is ok only if a small write commits within this many milliseconds …
    write_deadline_ms: int = Field(default=2000, ge=100, le=60_000)
    # … and, for SQLite, the database's disk has at least this many MiB free.
    min_free_mb: int = Field(default=200, ge=0, le=10**7)
    # A monitor's secret for /healthz?full (Authorization: Bearer …); empty: only signed-in
    # auditors and administrators see the full detail.
    monitoring_token: str = ""


class AuditSettings(_Section):
    # The worker walks the whole chain from its start this often (hours); the audit page
    # checks only what came after the last check.
    full_check_hours: int = Field(default=24, ge=1, le=24 * 31)


class CalendarSettings(_Section):
    # Who may subscribe to the whole forward schedule (every release and freeze) rather
    # than only the changes they are involved in: roles, and audiences.
    schedule_feed_roles: Names = ("cab", "slt", "head", "admin")
    schedule_feed_audiences: Names = ("support",)
    # How far back a feed reaches (days); it reaches a year ahead.
    feed_past_days: int = Field(default=90, ge=0, le=3650)


def _measured(value: tuple[str, ...]) -> tuple[str, ...]:
    """change categories (standard changes never need success measures)"""
    unknown = set(value) - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown category {', '.join(sorted(unknown))} (known: {', '.join(CATEGORIES)})")
    if "standard" in value:
        raise ValueError("standard changes are pre-approved and need no success measures: remove 'standard'")
    return value


class ReviewSettings(_Section):
    # Changes of these categories cannot leave needs analysis without at least one success
    # measure (what success looks like, how and by when it will be checked).
    success_measures_for: Annotated[Names, AfterValidator(_measured)] = ("minor", "significant", "major")
    # Who is asked for 360-degree feedback when a review opens, as notify rules name people
    # (requester, deciders, a role, audience:NAME), and how many of each audience that
    # received a release notice of the change are sampled as well (0: none).
    feedback_from: str = "requester, audience:support, deciders, slt, head"
    feedback_sample: int = Field(default=10, ge=0, le=1000)
    # The review closes once this many groups have answered, or this many school days after
    # it opened, whichever comes first.
    feedback_quorum_groups: int = Field(default=2, ge=0, le=20)
    feedback_school_days: int = Field(default=10, ge=1, le=100)
    # Besides a change's requester and co-owners, these roles read its feedback by group.
    feedback_readers: Names = ("slt", "head", "auditor")
    # This many months after a release the requester is asked whether what was bought is
    # used as intended (0: never); a check not recorded by then is listed as overdue.
    usage_check_months: int = Field(default=6, ge=0, le=60)


def _extensions(value: tuple[str, ...]) -> tuple[str, ...]:
    """file name extensions, such as pdf, docx, png"""
    bad = [v for v in value if not re.fullmatch(r"[a-z0-9]{1,10}", v)]
    if bad:
        raise ValueError(f"not a file name extension: {', '.join(bad)} (write them as pdf, docx, png)")
    return value


class AttachmentSettings(_Section):
    # The kinds of file a change may carry (supplier quotes, DPIAs, proposals, photos), by
    # extension; each is served back as a download, never shown in the browser.
    types: Annotated[Names, AfterValidator(_extensions)] = (
        "pdf", "docx", "xlsx", "pptx", "odt", "ods", "txt", "csv", "png", "jpg", "jpeg")
    # The largest file, in KB (and 16 KB less than web.max_request_kb, whichever is smaller:
    # a file and its form travel in one request).
    max_kb: int = Field(default=2000, ge=1, le=10**6)
    # How many files one change may carry.
    per_change: int = Field(default=50, ge=1, le=1000)


class ReportSettings(_Section):
    # Who reads the reports for SLT and governors (and downloads the governors' PDF).
    readers: Names = ("slt", "head", "finance", "governors", "auditor", "admin")


class DemoSettings(_Section):
    password: str = "fitsflow-demo"


class EvidenceSettings(_Section):
    # A TOML file of evidence tags replacing the shipped catalogue (fitsflow/evidence.toml);
    # empty: the shipped one.
    catalogue: str = ""


class AssetSettings(_Section):
    # A need (a change at needs analysis, of renewal_category) is raised this many school days
    # before an asset's warranty, licence or subscription ends or its refresh falls due.
    renewal_school_days: int = 20
    renewal_category: str = "minor"


class FilteringSettings(_Section):
    # A TOML file of the web-filtering decision's lifecycle replacing the shipped one
    # (fitsflow/filtering.toml), whose shape it copies; empty: the shipped one.
    workflow: str = ""


@dataclass(frozen=True)
class RoleSetting:
    """A role people hold. ``approves``: it may be named in a gate's quorum. ``mfa``: its
    holders sign in with a second factor (a new role's default: whether it approves).
    ``trust``: it acts across every school of the trust (its holders see every school)."""

    label: str
    approves: bool = False
    mfa: bool = False
    trust: bool = False


@dataclass(frozen=True)
class AudienceSetting:
    """People who receive release notices: the tier of detail and how many school
    days before the window their notice is published."""

    label: str
    tier: str
    lead_days: int


@dataclass(frozen=True)
class SsoProvider:
    """A provider people sign in with (``[sso.NAME]``): Google Workspace, Microsoft Entra ID
    or any OpenID Connect provider, found from its issuer URL. ``domains``: the email
    domains it may vouch for; ``roles``/``audiences``: rules CLAIM:VALUE=NAME (domain.sso);
    ``require_mfa``: mfa_roles (when the person holds a role that needs a second factor, or
    has one here) or always — shown by the ID token's ``amr``, or an ``acr`` in ``mfa_acr``."""

    label: str
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    domains: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    create_users: bool = True
    require_mfa: str = "mfa_roles"
    mfa_acr: tuple[str, ...] = ()
    # Microsoft Entra ID's tokens carry no email_verified: true accepts an email without it
    # (only for domains the provider itself owns and verifies).
    trust_email_without_verified: bool = False
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # The schools whose accounts it holds (short names): a person it makes joins them, and
    # someone of other schools alone is not signed in through it. Empty: the trust's own
    # provider (a new person joins the only school, or waits for an administrator to place them).
    schools: tuple[str, ...] = ()


# mfa_roles: whoever holds a role that needs a second factor, or has one here, must have
# used one at the provider; always: everyone. There is no "never": an approver signs in with
# a second factor on every route.
SSO_MFA = ("mfa_roles", "always")


DEFAULT_ROLES = {name: RoleSetting(*spec) for name, spec in SHIPPED_ROLES.items()}
with (Path(__file__).parent / "policy.toml").open("rb") as _shipped:
    SHIPPED_POLICY: dict[str, Any] = tomllib.load(_shipped)


def _shipped_policy() -> ApprovalPolicy:
    return parse_policy(SHIPPED_POLICY, roles={n for n, spec in SHIPPED_ROLES.items() if spec[1]})


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
    review: ReviewSettings = ReviewSettings()
    attachments: AttachmentSettings = AttachmentSettings()
    reports: ReportSettings = ReportSettings()
    demo: DemoSettings = DemoSettings()
    evidence: EvidenceSettings = EvidenceSettings()
    filtering: FilteringSettings = FilteringSettings()
    assets: AssetSettings = AssetSettings()
    roles: Mapping[str, RoleSetting] = field(default_factory=lambda: _frozen(DEFAULT_ROLES))
    audiences: Mapping[str, AudienceSetting] = field(default_factory=lambda: _frozen(DEFAULT_AUDIENCES))
    sso: Mapping[str, SsoProvider] = field(default_factory=lambda: _frozen({}))
    # The approval policy as written (the shipped policy.toml with the file's [policy] keys
    # over it), and as the engine reads it.
    policy_raw: Mapping[str, Any] = field(default_factory=lambda: _frozen(SHIPPED_POLICY))
    policy: ApprovalPolicy = field(default_factory=lambda: _shipped_policy())
    # A school's own policy, by the school's short name ([school_policy.SLUG]: the keys it
    # sets over the trust's), as written and as read.
    school_policies_raw: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: _frozen({}))
    school_policies: Mapping[str, ApprovalPolicy] = field(default_factory=lambda: _frozen({}))
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
            trust_roles=tuple(name for name, r in self.roles.items() if r.trust),
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
_NAMED_SECTIONS: dict[str, type] = {"roles": RoleSetting, "audiences": AudienceSetting, "sso": SsoProvider}
_NOT_FIXED = {"source", "policy", "policy_raw", "school_policies", "school_policies_raw"}


def _fixed_sections() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)
            if f.name not in _NAMED_SECTIONS and f.name not in _NOT_FIXED}


def _hints(cls: type) -> dict[str, Any]:
    """Each key of a section (a pydantic model or a named entry's dataclass) and its type."""
    if isinstance(cls, type) and issubclass(cls, BaseModel):
        return {name: f.annotation for name, f in cls.model_fields.items()}
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
    if typing.get_origin(kind) is tuple:  # a list of names: an array, or comma-separated text
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        raise ConfigError(f"{where}: must be a list of names (an array, or text separated by commas), "
                          f"got {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be text, got {value!r}")
    return value


def _raw(settings: Settings) -> dict[str, dict[str, Any]]:
    raw: dict[str, dict[str, Any]] = {name: getattr(settings, name).model_dump()
                                      for name in _fixed_sections()}
    for name in _NAMED_SECTIONS:
        raw[name] = {key: dataclasses.asdict(entry) for key, entry in getattr(settings, name).items()}
    raw["policy"] = dict(settings.policy_raw)
    raw["school_policy"] = {slug: dict(own) for slug, own in settings.school_policies_raw.items()}
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
            if typing.get_origin(hints[attr]) is tuple:
                entry[attr] = tuple(_names(entry[attr]))
        label = name.replace("_", " ")
        entry.setdefault("label", label.title() if section == "sso" else label)
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
        if section == "school_policy":
            if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
                raise ConfigError(f"{path}: school_policy: must be [school_policy.SLUG] tables")
            for slug, own in values.items():
                raw["school_policy"][slug] = {**raw["school_policy"].get(slug, {}), **own}
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
        if rest.startswith(("policy_", "school_policy_")):
            raise ConfigError(f"{name}: the approval policy is set in the settings file only ([policy])")
        for section, entries in raw.items():
            if section in ("policy", "school_policy"):
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
                        if typing.get_origin(hints[attr]) is tuple:
                            entries[entry][attr] = tuple(_names(entries[entry][attr]))
                        break
                else:
                    continue
                break
            if tail in entries:
                _set(raw, section, tail, value, name)
                break
        else:
            raise ConfigError(f"{name}: no such setting (expected FITSFLOW_<SECTION>_<KEY>)")


def _check(sections: Mapping[str, Any], raw: dict[str, dict[str, Any]]) -> None:
    """Rules between values (each key's own type and range are on its field), each naming
    the key at fault."""
    smtp, webhook, delivery = sections["smtp"], sections["webhook"], sections["delivery"]
    if webhook.url and len(webhook.secret) < 16:
        raise ConfigError("webhook.secret: required (16 characters or more) when webhook.url is set: "
                          "every POST is signed with it (X-Fitsflow-Signature)")
    sends = [smtp.timeout_seconds] if smtp.enabled else []
    sends += [webhook.timeout_seconds] if webhook.url else []
    slowest = max(sends, default=0)
    if delivery.lease_seconds < 2 * slowest:
        raise ConfigError(f"delivery.lease_seconds: must be at least twice the slowest send's time-out "
                          f"({slowest} s), or a row still being sent could be taken by another worker")
    if delivery.poll_seconds >= delivery.lease_seconds:
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
    roles, audiences = set(raw["roles"]), set(raw["audiences"])
    for key, named, known, what in (
            ("notices.acknowledgement_viewers", sections["notices"].acknowledgement_viewers, roles, "role"),
            ("accounts.change_transfer", sections["accounts"].change_transfer, roles, "role"),
            ("calendar.schedule_feed_roles", sections["calendar"].schedule_feed_roles, roles, "role"),
            ("calendar.schedule_feed_audiences", sections["calendar"].schedule_feed_audiences, audiences,
             "audience"),
            ("reminders.escalation_role", (sections["reminders"].escalation_role,), roles, "role")):
        unknown = set(named) - known
        if unknown:
            raise ConfigError(f"{key}: unknown {what} {', '.join(sorted(unknown))} "
                              f"(known: {', '.join(sorted(known))})")
    if not raw["audiences"]:
        raise ConfigError("audiences: define at least one audience")
    for name, entry in raw["sso"].items():
        _check_sso(f"sso.{name}", entry, roles, set(audiences))
    for name, entry in raw["audiences"].items():
        if entry["tier"] not in TIERS:
            raise ConfigError(f"audiences.{name}.tier: must be one of {', '.join(TIERS)}")
        if not 0 <= entry["lead_days"] <= 60:
            raise ConfigError(f"audiences.{name}.lead_days: must be from 0 to 60 school days")


def _check_sso(key: str, given: Mapping[str, Any], roles: set[str], audiences: set[str]) -> None:
    entry = {f.name: f.default for f in dataclasses.fields(SsoProvider)
             if f.default is not dataclasses.MISSING} | dict(given)
    issuer = urlsplit(entry["issuer"])
    local = issuer.scheme == "http" and issuer.hostname in ("127.0.0.1", "localhost", "::1")
    if not issuer.netloc or not (issuer.scheme == "https" or local) or issuer.query or issuer.fragment:
        raise ConfigError(f"{key}.issuer: must be the provider's https:// issuer URL, such as "
                          "https://accounts.google.com or https://login.microsoftonline.com/TENANT/v2.0")
    if not entry["client_id"].strip():
        raise ConfigError(f"{key}.client_id: required (the id the provider gave this application)")
    if not entry["client_secret"]:
        raise ConfigError(f"{key}.client_secret: required; keep it out of the file with "
                          f"FITSFLOW_{key.replace('.', '_').upper()}_CLIENT_SECRET")
    if not entry["domains"]:
        raise ConfigError(f"{key}.domains: name the email domains this provider may vouch for")
    if entry["require_mfa"] not in SSO_MFA:
        raise ConfigError(f"{key}.require_mfa: must be one of {', '.join(SSO_MFA)}, "
                          f"got {entry['require_mfa']!r}")
    if "openid" not in entry["scopes"] or "email" not in entry["scopes"]:
        raise ConfigError(f"{key}.scopes: must include openid and email")
    for slug in _names(entry["schools"]):
        if problem := slug_problem(slug):
            raise ConfigError(f"{key}.schools: '{slug[:40]}': {problem}")
    try:
        for domain in entry["domains"]:
            sso_rules.check_domain(domain)
        for field_name, known in (("roles", roles), ("audiences", audiences)):
            for rule in sso_rules.parse_rules(entry[field_name]):
                if rule.name not in known:
                    raise ConfigError(f"{key}.{field_name}: '{rule.name}' is not a {field_name[:-1]} "
                                      f"(known: {', '.join(sorted(known))})")
                if field_name == "roles" and rule.name == ADMIN:
                    raise ConfigError(f"{key}.roles: admin is never given by a provider's group; an "
                                      "administrator gives it here (a second one confirms)")
    except sso_rules.RuleError as err:
        raise ConfigError(f"{key}: {err}") from None


def _bounds(field: Any) -> tuple[Any, Any]:
    lower = upper = None
    for rule in field.metadata:
        lower = getattr(rule, "ge", lower)
        upper = getattr(rule, "le", upper)
    return lower, upper


def _problem(section: str, cls: type[BaseModel], err: ValidationError) -> str:
    """One line for what pydantic found: the key, what it must be (its range or the values
    allowed) and what it got."""
    first = err.errors(include_url=False)[0]
    key = str(first["loc"][0]) if first["loc"] else ""
    got = first.get("input")
    kind = first["type"]
    field = cls.model_fields.get(key)
    if kind in ("greater_than_equal", "less_than_equal") and field is not None:
        lower, upper = _bounds(field)
        if lower is not None and upper is not None:
            text = f"must be from {lower} to {upper}, got {got}"
        elif lower is not None:
            text = f"must be {lower} or more, got {got}"
        else:
            text = f"must be {upper} or less, got {got}"
    elif kind == "literal_error":
        allowed = typing.get_args(field.annotation) if field is not None else ()
        while allowed and typing.get_origin(allowed[0]) is Literal:  # Annotated[Literal[…], …]
            allowed = typing.get_args(allowed[0])
        text = f"must be one of {', '.join(map(str, allowed))}, got {got!r}"
    elif kind == "string_too_short":
        text = "must not be empty"
    elif kind == "string_pattern_mismatch" and field is not None and field.description:
        text = f"must be {field.description}, got {got!r}"
    else:
        text = str(first["msg"]).removeprefix("Value error, ")
    return f"{section}.{key}: {text}"


def _build(raw: dict[str, dict[str, Any]], source: str) -> Settings:
    where = "" if source == "built-in defaults" else f"{source}: "
    sections: dict[str, Any] = {}
    for name, cls in _fixed_sections().items():
        try:
            sections[name] = cast(type[_Section], cls).model_validate(raw[name])
        except ValidationError as err:
            raise ConfigError(where + _problem(name, cast(type[_Section], cls), err)) from None
    try:
        _check(sections, raw)
    except ConfigError as err:
        raise ConfigError(where + str(err)) from None
    for name, cls in _NAMED_SECTIONS.items():
        sections[name] = _frozen({key: cls(**entry) for key, entry in raw[name].items()})
    approvers = {name for name, entry in raw["roles"].items() if entry["approves"]}
    try:
        policy = parse_policy(raw["policy"], roles=approvers)
    except PolicyError as err:
        raise ConfigError(f"{source}: {err}" if source != "built-in defaults" else str(err)) from None
    if policy.peer_review_audience not in raw["audiences"]:
        raise ConfigError(f"policy.peer_review_audience: unknown audience '{policy.peer_review_audience}'")
    _check_evidence(sections["evidence"].catalogue, where)
    _check_filtering(sections["filtering"].workflow, set(raw["roles"]), where)
    if sections["assets"].renewal_category not in FOLLOW_UP_CATEGORIES:
        raise ConfigError(f"{where}assets.renewal_category: a need starts with a needs analysis: one of "
                          f"{', '.join(FOLLOW_UP_CATEGORIES)}")
    if not 1 <= sections["assets"].renewal_school_days <= 250:
        raise ConfigError(f"{where}assets.renewal_school_days: from 1 to 250 school days")
    schools: dict[str, ApprovalPolicy] = {}
    for slug, own in raw.get("school_policy", {}).items():
        try:
            schools[slug] = parse_school_policy(raw["policy"], own, slug, roles=approvers)
        except PolicyError as err:
            raise ConfigError(f"{where}{err}") from None
        if schools[slug].peer_review_audience not in raw["audiences"]:
            raise ConfigError(f"{where}school_policy.{slug}.peer_review_audience: unknown audience "
                              f"'{schools[slug].peer_review_audience}'")
    written = {slug: _frozen(own) for slug, own in raw.get("school_policy", {}).items()}
    return Settings(**sections, policy_raw=_frozen(raw["policy"]), policy=policy, source=source,
                    school_policies_raw=_frozen(written), school_policies=_frozen(schools))


SHIPPED_EVIDENCE = Path(__file__).parent / "evidence.toml"


def evidence_catalogue(path: str) -> dict[str, evidence_rules.Tag]:
    """The evidence tags: the shipped catalogue, or the file ``path`` names."""
    source = Path(path) if path else SHIPPED_EVIDENCE
    with source.open("rb") as handle:
        return evidence_rules.parse_catalogue(tomllib.load(handle), str(source))


def _check_evidence(path: str, where: str) -> None:
    if not path:
        return
    try:
        evidence_catalogue(path)
    except FileNotFoundError:
        raise ConfigError(f"{where}evidence.catalogue: no file {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}evidence.catalogue: {path} is not valid TOML: {err}") from None
    except evidence_rules.EvidenceError as err:
        raise ConfigError(f"{where}evidence.catalogue: {err}") from None


SHIPPED_FILTERING = Path(__file__).parent / "filtering.toml"


def filtering_lifecycle(path: str, roles: Iterable[str]) -> filtering_rules.Lifecycle:
    """The web-filtering decision's lifecycle: the shipped file, or the one ``path`` names."""
    source = Path(path) if path else SHIPPED_FILTERING
    with source.open("rb") as handle:
        return filtering_rules.parse_lifecycle(tomllib.load(handle), str(source), roles=roles)


def _check_filtering(path: str, roles: set[str], where: str) -> None:
    try:
        filtering_lifecycle(path, roles)
    except FileNotFoundError:
        raise ConfigError(f"{where}filtering.workflow: no file {path}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}filtering.workflow: {path or SHIPPED_FILTERING} is not valid TOML: "
                          f"{err}") from None
    except filtering_rules.FilteringFileError as err:
        raise ConfigError(f"{where}filtering.workflow: {err}") from None


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
