"""Settings: built-in defaults → a TOML file (FITSFLOW_CONFIG) → FITSFLOW_<SECTION>_<KEY>."""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .domain.errors import ConfigError

DEFAULTS: dict[str, dict[str, Any]] = {
    "database": {
        "url": "sqlite:///fitsflow.db",
        "sqlite_synchronous": "FULL",
        "busy_timeout_ms": 30000,
        "echo": False,
    },
    "workflows": {
        "dir": "",
    },
    "school": {
        "name": "Demo School",
        "timezone": "Europe/London",
    },
    "planning": {
        "horizon_years": 5,
        "currency": "GBP",
    },
    "web": {
        "secret_key": "",
        "secret_key_file": "fitsflow-secret.key",
        "secure_cookies": True,
        "max_request_kb": 2048,
        "page_size": 25,
    },
    "server": {
        "bind": "127.0.0.1:8000",
        "workers": 2,
        "threads": 4,
        "forwarded_allow_ips": "127.0.0.1",
    },
    "smtp": {
        "enabled": False,
        "host": "localhost",
        "port": 25,
        "security": "starttls",
        "username": "",
        "password": "",
        "from_address": "fitsflow@localhost",
        "timeout_seconds": 20,
    },
    "webhook": {
        "url": "",
        "events": "",
        "timeout_seconds": 10,
    },
    "delivery": {
        "base_url": "http://127.0.0.1:8000",
        "in_process": True,
        "batch_size": 50,
        "lease_seconds": 120,
        "max_attempts": 8,
        "backoff_seconds": 30,
        "backoff_max_seconds": 3600,
        "poll_seconds": 5,
    },
    "audiences": {
        "slt": "full",
        "support": "technical",
        "staff": "staff",
        "students": "brief",
        "parents": "brief",
    },
    "lead_days": {
        "slt": 10,
        "support": 5,
        "staff": 5,
        "students": 0,
        "parents": 2,
    },
    "notify": {
        "raised": "requester",
        "submitted": "gate_approvers",
        "decided": "requester, waiting_approvers_when_gate_done",
        "scheduled": "support_team, requester",
        "released": "requester, support_team",
        "backed_out": "requester, support_team, cab",
        "review_opened": "requester, support_team, deciders, slt",
        "closed": "requester",
        "withdrawn": "requester, deciders",
        "window_clash": "cab, requester",
        "review_due": "requester",
    },
    "notices": {
        "template_dir": "",
        "review_due_days": 10,
    },
    "demo": {
        "password": "fitsflow-demo",
    },
}


def _coerce(value: Any, default: Any, where: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{where}: must be true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{where}: must be a whole number, got {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be text, got {value!r}")
    return value


def _validate(settings: dict[str, dict[str, Any]]) -> None:
    horizon = settings["planning"]["horizon_years"]
    if not 1 <= horizon <= 10:
        raise ConfigError(f"planning.horizon_years: must be from 1 to 10, got {horizon}")
    if settings["database"]["sqlite_synchronous"].upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ConfigError("database.sqlite_synchronous: must be one of OFF, NORMAL, FULL, EXTRA")
    try:
        ZoneInfo(settings["school"]["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"school.timezone: unknown time zone '{settings['school']['timezone']}'") from None
    if settings["web"]["max_request_kb"] < 16:
        raise ConfigError("web.max_request_kb: must be at least 16")
    if not 5 <= settings["web"]["page_size"] <= 500:
        raise ConfigError("web.page_size: must be from 5 to 500")
    if settings["server"]["workers"] < 1 or settings["server"]["threads"] < 1:
        raise ConfigError("server.workers and server.threads: must be 1 or more")
    from .domain.vocabulary import SIGNAL_NAMES

    unknown = {e.strip() for e in settings["webhook"]["events"].split(",") if e.strip()} - set(SIGNAL_NAMES)
    if unknown:
        raise ConfigError(f"webhook.events: unknown event {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(SIGNAL_NAMES)})")
    from .domain.notices import TIERS
    from .domain.vocabulary import AUDIENCES

    for audience, tier in settings["audiences"].items():
        if tier not in TIERS:
            raise ConfigError(f"audiences.{audience}: tier must be one of {', '.join(TIERS)}")
    for audience, days in settings["lead_days"].items():
        if not 0 <= days <= 60:
            raise ConfigError(f"lead_days.{audience}: must be from 0 to 60 school days")
    if set(settings["audiences"]) != set(AUDIENCES) or set(settings["lead_days"]) != set(AUDIENCES):
        raise ConfigError("audiences and lead_days: give every audience: " + ", ".join(AUDIENCES))
    if settings["smtp"]["security"] not in {"none", "starttls", "ssl"}:
        raise ConfigError("smtp.security: must be one of none, starttls, ssl")
    for key in ("batch_size", "lease_seconds", "max_attempts", "backoff_seconds", "poll_seconds"):
        if settings["delivery"][key] < 1:
            raise ConfigError(f"delivery.{key}: must be 1 or more")
    if not settings["database"]["url"]:
        raise ConfigError("database.url: must not be empty")


def load_config(path: str | Path | None = None,
                environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Read the settings; raise ConfigError naming the file, key or variable at fault."""
    environ = os.environ if environ is None else environ
    settings = copy.deepcopy(DEFAULTS)
    path = path or environ.get("FITSFLOW_CONFIG") or None
    if path:
        file = Path(path)
        try:
            with file.open("rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"{file}: configuration file not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{file}: not valid TOML: {err}") from None
        for section, values in data.items():
            if section not in settings:
                raise ConfigError(f"{file}: [{section}]: unknown section")
            if not isinstance(values, dict):
                raise ConfigError(f"{file}: {section}: must be a [section] table")
            for key, value in values.items():
                if key not in settings[section]:
                    raise ConfigError(f"{file}: {section}.{key}: unknown setting")
                default = DEFAULTS[section][key]
                settings[section][key] = _coerce(value, default, f"{file}: {section}.{key}")
    for name, value in environ.items():
        if not name.startswith("FITSFLOW_") or name == "FITSFLOW_CONFIG":
            continue
        if name.startswith("FITSFLOW_TEST_"):
            continue
        rest = name[len("FITSFLOW_"):].lower()
        for section in settings:
            if rest.startswith(section + "_") and rest[len(section) + 1:] in settings[section]:
                key = rest[len(section) + 1:]
                settings[section][key] = _coerce(value, DEFAULTS[section][key], name)
                break
        else:
            raise ConfigError(f"{name}: no such setting (expected FITSFLOW_<SECTION>_<KEY>)")
    _validate(settings)
    return settings
