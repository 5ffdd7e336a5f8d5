"""Assets and the register (issue 25.4): what the school owns that changes touch, their
warranty, licence and subscription end dates and refresh date (each raises a need ahead of
time), and a retired device's disposal evidence (data wiped, by whom, certificate, WEEE).
Pure: the rules for an asset's fields, a CSV import's rows and disposal evidence."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .errors import InvalidInput
from .text import text_field

IN_USE, RETIRED = "in_use", "retired"
STATUSES: dict[str, str] = {IN_USE: "In use", RETIRED: "Retired"}
# The dates that raise a need ahead of time: field → what ends (or falls due).
RENEWALS: dict[str, str] = {"warranty_ends": "warranty", "licence_ends": "licence",
                            "subscription_ends": "subscription", "refresh_on": "five-year refresh"}
# How a change touches an asset: linked while planned; at close, the register's update.
TOUCHES, ADDED, RETIRED_BY, REPLACED = "touches", "added", "retired", "replaced"
LINKS: dict[str, str] = {TOUCHES: "Touches", ADDED: "Added", RETIRED_BY: "Retired", REPLACED: "Replaced"}
NAME_MAX, TAG_MAX, KIND_MAX, SERIAL_MAX, LOCATION_MAX = 200, 60, 60, 100, 200
DISPOSAL_TEXT_MAX = 300
IMPORT_ROWS = 5_000
COLUMNS = ("tag", "name", "kind", "serial", "location", *RENEWALS)


@dataclass(frozen=True)
class AssetFields:
    name: str
    tag: str = ""
    kind: str = ""
    serial: str = ""
    location: str = ""
    warranty_ends: date | None = None
    licence_ends: date | None = None
    subscription_ends: date | None = None
    refresh_on: date | None = None

    def renewals(self) -> dict[str, date]:
        return {f: d for f in RENEWALS if (d := getattr(self, f)) is not None}


@dataclass(frozen=True)
class Disposal:
    """A retired device's disposal: data wiped (when, by whom), the certificate of destruction
    or wiping, the WEEE transfer note (who took it, for recycling)."""

    wiped_on: date | None
    wiped_by: str
    certificate: str
    weee: str

    @property
    def complete(self) -> bool:
        return bool(self.wiped_on and self.wiped_by and self.certificate and self.weee)

    def missing(self) -> list[str]:
        return [said for said, given in (("the day its data was wiped", self.wiped_on),
                                         ("who wiped it", self.wiped_by),
                                         ("the wiping or destruction certificate", self.certificate),
                                         ("the WEEE transfer note", self.weee)) if not given]


def _day(data: Mapping[str, Any], key: str, problems: dict[str, str], label: str = "") -> date | None:
    raw = data.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    problems[label or key] = "must be a date (YYYY-MM-DD)"
    return None


def parse_asset(data: Mapping[str, Any], *, prefix: str = "") -> AssetFields:
    """An asset's fields; every problem named at once (under ``prefix`` + the field)."""
    problems: dict[str, str] = {}
    said: dict[str, str] = {}
    name = text_field(data, "name", said, required=True, maximum=NAME_MAX)
    tag = text_field(data, "tag", said, required=False, maximum=TAG_MAX)
    kind = text_field(data, "kind", said, required=False, maximum=KIND_MAX)
    serial = text_field(data, "serial", said, required=False, maximum=SERIAL_MAX)
    location = text_field(data, "location", said, required=False, maximum=LOCATION_MAX)
    days = {f: _day(data, f, said) for f in RENEWALS}
    problems.update({prefix + k: v for k, v in said.items()})
    if problems:
        raise InvalidInput(problems)
    return AssetFields(name, tag, kind, serial, location, **days)


def parse_import(text: str) -> list[AssetFields]:
    """A CSV of assets (a header row naming COLUMNS, ``name`` required; others optional, in
    any order): all rows or none, each problem named by row and column."""
    try:
        return _read_import(text)
    except csv.Error as err:  # a cell past the csv module's limit, a NUL, a broken quote
        raise InvalidInput({"file": f"is not a CSV file this can read: {str(err)[:200]}"}) from None


def _read_import(text: str) -> list[AssetFields]:
    if len(text) > 5_000_000:
        raise InvalidInput({"file": "is larger than 5 MB: split it"})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in header:
        raise InvalidInput({"file": f"the first row must name the columns, with name among them "
                                    f"(columns: {', '.join(COLUMNS)})"})
    unknown = [h for h in header if h and h not in COLUMNS]
    if unknown:
        raise InvalidInput({"file": f"unknown column {unknown[0][:40]!r} (columns: {', '.join(COLUMNS)})"})
    reader.fieldnames = header
    out: list[AssetFields] = []
    problems: dict[str, str] = {}
    tags: dict[str, int] = {}
    for number, row in enumerate(reader, start=2):
        if len(out) >= IMPORT_ROWS:
            raise InvalidInput({"file": f"more than {IMPORT_ROWS} assets: split it"})
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        if None in row:
            problems[f"row {number}"] = "has more cells than the header"
            continue
        tag = str(row.get("tag") or "").strip().casefold()
        if tag:
            if tag in tags:
                problems[f"row {number}: tag"] = f"repeats row {tags[tag]}'s"
            tags.setdefault(tag, number)
        try:
            out.append(parse_asset({k: v for k, v in row.items() if k}, prefix=f"row {number}: "))
        except InvalidInput as err:
            problems.update(err.problems)
        if len(problems) >= 50:
            break
    if problems:
        raise InvalidInput(problems)
    if not out:
        raise InvalidInput({"file": "holds no assets"})
    return out


def parse_disposal(data: Mapping[str, Any]) -> Disposal:
    """Disposal evidence as given (any part may be recorded later; ``complete`` says whether all is)."""
    problems: dict[str, str] = {}
    wiped_on = _day(data, "wiped_on", problems)
    wiped_by = text_field(data, "wiped_by", problems, required=False, maximum=DISPOSAL_TEXT_MAX)
    certificate = text_field(data, "certificate", problems, required=False, maximum=DISPOSAL_TEXT_MAX)
    weee = text_field(data, "weee", problems, required=False, maximum=DISPOSAL_TEXT_MAX)
    if problems:
        raise InvalidInput(problems)
    return Disposal(wiped_on, wiped_by, certificate, weee)
