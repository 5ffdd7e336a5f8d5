"""Assets and the register (issue 25.4; FITS step 9, "update the CMDB"): assets imported from
CSV or added by hand, linked to the changes that touch them; closing a change that touches
assets asks for the register's update — what it added, retired or replaced (with serials), or
that the register is unchanged — and a retired device records its disposal evidence (data
wiped, by whom, certificate, WEEE). Warranty, licence and subscription end dates and a refresh
date per asset raise a need ahead of time (services.renewals)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from ..domain import assets as rules
from ..domain import limits
from ..domain.actor import Actor
from ..domain.errors import InvalidInput, NotFound, NotPermitted
from ..domain.roles import ADMIN, REQUESTER, may_view_changes
from ..domain.text import text_field
from ..domain.vocabulary import IN_REVIEW, RELEASED
from ..persistence import asset_store, audit_store, school_store
from ..persistence.change_store import ChangeRecord
from . import common, schools
from .common import unit_of_work
from .ownership import owns
from .queues import Page
from .runtime import Runtime

log = logging.getLogger(__name__)
EDITORS = frozenset({REQUESTER, ADMIN})
ADD, RETIRE, REPLACE, UNCHANGED = "add", "retire", "replace", "unchanged"
REGISTER_ACTIONS: dict[str, str] = {
    ADD: "It added an asset",
    RETIRE: "It retired an asset",
    REPLACE: "It replaced an asset with a new one",
    UNCHANGED: "The register is unchanged",
}


@dataclass(frozen=True)
class AssetView:
    id: int
    school_id: int
    tag: str
    name: str
    kind: str
    serial: str
    location: str
    status: str
    warranty_ends: date | None
    licence_ends: date | None
    subscription_ends: date | None
    refresh_on: date | None
    retired_at: datetime | None
    wiped_on: date | None
    wiped_by: str
    certificate: str
    weee: str
    link: str = ""  # how a change touches it, where listed with a change

    @property
    def label(self) -> str:
        return f"{self.tag} {self.name}".strip() if self.tag else self.name

    @property
    def status_title(self) -> str:
        return rules.STATUSES.get(self.status, self.status)

    @property
    def disposal(self) -> rules.Disposal:
        return rules.Disposal(self.wiped_on, self.wiped_by, self.certificate, self.weee)

    @property
    def link_title(self) -> str:
        return rules.LINKS.get(self.link, self.link)


@dataclass(frozen=True)
class AssetDetail:
    asset: AssetView
    changes: tuple[tuple[str, str, str, str], ...]  # (ref, title, state title, link title)
    may_edit: bool


@dataclass(frozen=True)
class ChangeAssets:
    """A change's assets and its register's update, as its page shows them."""

    assets: tuple[AssetView, ...]
    updated: bool
    unchanged: bool
    may_edit: bool
    may_record: bool = False  # the register's update may be recorded now (released, or in review)


def _view(row: Any, link: str = "") -> AssetView:
    return AssetView(
        row.id,
        row.school_id,
        row.tag,
        row.name,
        row.kind,
        row.serial,
        row.location,
        row.status,
        row.warranty_ends,
        row.licence_ends,
        row.subscription_ends,
        row.refresh_on,
        row.retired_at,
        row.wiped_on,
        row.wiped_by,
        row.certificate,
        row.weee,
        link,
    )


def _reader(actor: Actor) -> None:
    if not may_view_changes(actor.roles):
        raise NotPermitted("the asset register is for people who work on changes")


def _editor(actor: Actor) -> None:
    if not actor.roles & EDITORS:
        raise NotPermitted("the asset register is kept by requesters (the ICT team) and administrators")


def _tag_problem(session: Session, school_id: int, tag: str) -> str:
    if tag and asset_store.tags_taken(session, school_id, [tag]):
        return f"another asset of the school has the tag {tag[:60]}"
    return ""


def add(rt: Runtime, *, actor_id: int, data: Mapping[str, Any]) -> AssetView:
    """Add an asset to the register (of one of the editor's schools)."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        _editor(actor)
        fields = rules.parse_asset(data)
        school_id = schools.for_new_change(
            rt, session, actor, str(data.get("school") or "") or None, several=False
        )
        if problem := _tag_problem(session, school_id, fields.tag):
            raise InvalidInput({"tag": problem})
        new_id = asset_store.add(session, school_id=school_id, fields=fields, now=rt.now())
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="asset.added",
            payload={"asset": new_id, "name": fields.name, "serial": fields.serial},
        )
        return _view(asset_store.one(session, new_id, schools=None))


def import_csv(rt: Runtime, *, actor_id: int, text: str, school: str = "") -> int:
    """Import assets from CSV (domain.assets.parse_import): every row or none; a tag the school
    has already is refused, naming the row."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        _editor(actor)
        rows = rules.parse_import(text)
        school_id = schools.for_new_change(rt, session, actor, school or None, several=False)
        taken = set(asset_store.tags_taken(session, school_id, [r.tag for r in rows]))
        clash = [(n, r.tag) for n, r in enumerate(rows, start=2) if asset_store.tag_key(r.tag) in taken]
        if clash:
            raise InvalidInput(
                {
                    f"row {n}: tag": f"the school already has an asset tagged {tag[:60]}"
                    for n, tag in clash[:20]
                }
            )
        added = asset_store.add_many(session, school_id=school_id, rows=rows, now=rt.now())
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="asset.imported",
            payload={"count": added, "school": school_id},
        )
        return added


def _visible(rt: Runtime, session: Session, actor: Actor, asset_id: int) -> Any:
    _reader(actor)
    row = asset_store.one(session, asset_id, schools=actor.schools) if 0 < asset_id <= limits.ID_MAX else None
    if row is None:
        raise NotFound(f"no asset {asset_id} for you")
    return row


def get(rt: Runtime, *, actor_id: int, asset_id: int) -> AssetDetail:
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        row = _visible(rt, session, actor, asset_id)
        changes = tuple(
            (
                c.ref,
                c.title,
                rt.workflows.of(c.workflow, c.workflow_version).definition.state_title(c.state),
                rules.LINKS.get(c.link, c.link),
            )
            for c in asset_store.changes_of(session, asset_id)
        )
        return AssetDetail(_view(row), changes, bool(actor.roles & EDITORS))


def listing(
    rt: Runtime, *, actor_id: int, status: str = "", q: str = "", limit: int = 25, offset: int = 0
) -> Page:
    problems: dict[str, str] = {}
    if status and status not in rules.STATUSES:
        problems["status"] = f"must be one of: {', '.join(rules.STATUSES)}"
    q = text_field({"q": q}, "q", problems, required=False, maximum=limits.SEARCH)
    if problems:
        raise InvalidInput(problems)
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        _reader(actor)
        rows, total = asset_store.page(
            session, schools=actor.schools, status=status, q=q, limit=limit, offset=offset
        )
        return Page([_view(r) for r in rows], total, limit, offset)


def edit(rt: Runtime, *, actor_id: int, asset_id: int, data: Mapping[str, Any]) -> AssetView:
    """Change an asset's entry: its name, tag, kind, serial, location and renewal dates."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = _visible(rt, session, actor, asset_id)
        _editor(actor)
        fields = rules.parse_asset(data)
        if (
            fields.tag
            and asset_store.tag_key(fields.tag) != asset_store.tag_key(row.tag)
            and (problem := _tag_problem(session, row.school_id, fields.tag))
        ):
            raise InvalidInput({"tag": problem})
        before = {k: str(getattr(row, k) or "") for k in asdict(fields)}
        asset_store.save(session, asset_id, rt.now(), **asdict(fields))
        after = {k: str(v or "") for k, v in asdict(fields).items()}
        audit_store.append(
            session,
            actor=actor.label,
            change_ref="",
            event_type="asset.edited",
            payload={
                "asset": asset_id,
                "before": {k: v for k, v in before.items() if after[k] != v},
                "after": {k: v for k, v in after.items() if before[k] != v},
            },
        )
        return _view(asset_store.one(session, asset_id, schools=None))


def _save_disposal(
    session: Session, rt: Runtime, actor: Actor, asset_id: int, disposal: rules.Disposal, ref: str = ""
) -> None:
    asset_store.save(
        session,
        asset_id,
        rt.now(),
        wiped_on=disposal.wiped_on,
        wiped_by=disposal.wiped_by,
        certificate=disposal.certificate,
        weee=disposal.weee,
    )
    audit_store.append(
        session,
        actor=actor.label,
        change_ref=ref,
        event_type="asset.disposal",
        payload={
            "asset": asset_id,
            "complete": disposal.complete,
            "wiped_on": disposal.wiped_on.isoformat() if disposal.wiped_on else "",
            "wiped_by": disposal.wiped_by,
            "certificate": disposal.certificate,
            "weee": disposal.weee,
        },
    )


def record_disposal(rt: Runtime, *, actor_id: int, asset_id: int, data: Mapping[str, Any]) -> AssetView:
    """A retired asset's disposal evidence, recorded or completed after its retirement."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        row = _visible(rt, session, actor, asset_id)
        _editor(actor)
        disposal = rules.parse_disposal(data)
        if row.status != rules.RETIRED:
            raise InvalidInput(
                {
                    "asset": "disposal evidence is for a retired asset: retire it with the change "
                    "that takes it out of use"
                }
            )
        _save_disposal(session, rt, actor, asset_id, disposal)
        return _view(asset_store.one(session, asset_id, schools=None))


# --- a change's assets ------------------------------------------------------------------


def _owned_change(
    rt: Runtime, session: Session, actor: Actor, ref: str, *, done: bool = False
) -> ChangeRecord:
    change = common.load_change(session, ref, actor, lock=True)
    if not owns(session, change, actor.id):
        raise NotPermitted("a change's assets are recorded by its requester and co-owners")
    definition = rt.workflows.of(change.workflow, change.workflow_version).definition
    spec = definition.states.get(change.state)
    if spec is not None and spec.final:
        raise InvalidInput(
            {
                "change": f"{change.ref} is at “{definition.state_title(change.state)}”: its "
                "register update is settled"
            }
        )
    if done and definition.kind_of(change.state) not in (RELEASED, IN_REVIEW):
        # Retired now and then never released (rejected, withdrawn), an asset would stay retired.
        raise InvalidInput(
            {"change": "the register's update is recorded once the change is released (or in review)"}
        )
    return change


def _asset_of(session: Session, change: ChangeRecord, value: Any) -> Any:
    """An asset of the change's schools, by its tag, else by its number (a tag of digits is the
    tag's asset, never another asset of that number)."""
    reach = frozenset(school_store.reach(session, change.school_id))
    text = str(value or "").strip()
    row = None
    if text:
        exact = asset_store.by_tag(session, text, schools=reach)
        row = exact[0] if len(exact) == 1 else None
    if row is None and text.isdigit() and len(text) < 10:
        row = asset_store.one(session, int(text), schools=reach)
    if row is None:
        raise InvalidInput({"asset": f"no asset {text[:60]} of the change's school (its number or its tag)"})
    return row


def link(rt: Runtime, *, actor_id: int, ref: str, asset: Any, remove: bool = False) -> ChangeAssets:
    """Link an asset the change touches (or take a link away again)."""
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = _owned_change(rt, session, actor, ref)
        row = _asset_of(session, change, asset)
        if remove:
            if not asset_store.unlink(session, change_id=change.id, asset_id=row.id):
                raise InvalidInput(
                    {
                        "asset": "only an asset the change touches may be unlinked; the register's "
                        "update stands"
                    }
                )
        else:
            if row.status != rules.IN_USE:
                raise InvalidInput({"asset": f"{row.name} is retired"})
            asset_store.link(session, change_id=change.id, asset_id=row.id, how=rules.TOUCHES, now=rt.now())
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type="asset.unlinked" if remove else "asset.linked",
            payload={"asset": row.id, "name": row.name},
        )
        return _of_change(rt, session, change, True)


def _of_change(rt: Runtime, session: Session, change: ChangeRecord, may_edit: bool) -> ChangeAssets:
    rows = asset_store.of_change(session, change.id)
    update = asset_store.register_update(session, change.id)
    kind = rt.workflows.of(change.workflow, change.workflow_version).definition.kind_of(change.state)
    return ChangeAssets(
        tuple(_view(r, r.link) for r in rows),
        update is not None,
        bool(update and update.unchanged),
        may_edit,
        may_edit and kind in (RELEASED, IN_REVIEW),
    )


def of_change(rt: Runtime, session: Session, actor: Actor, change: ChangeRecord) -> ChangeAssets:
    """For the change's page, in the caller's read."""
    return _of_change(rt, session, change, REQUESTER in actor.roles and owns(session, change, actor.id))


def change_assets(rt: Runtime, *, actor_id: int, ref: str) -> ChangeAssets:
    with rt.db.read() as session:
        actor = common.load_actor(rt, session, actor_id)
        change = common.load_change(session, ref, actor)
        return of_change(rt, session, actor, change)


def update_register(
    rt: Runtime, *, actor_id: int, ref: str, action: str, data: Mapping[str, Any]
) -> ChangeAssets:
    """Record the register's update for a change: it added an asset (created now, linked), retired
    one it touches (with its disposal evidence), replaced one (retired, and the new one added),
    or left the register as it was."""
    if action not in REGISTER_ACTIONS:
        raise InvalidInput({"action": f"must be one of: {', '.join(REGISTER_ACTIONS)}"})
    problems: dict[str, str] = {}
    new: rules.AssetFields | None = None
    disposal: rules.Disposal | None = None
    if action in (ADD, REPLACE):
        try:
            new = rules.parse_asset(
                {k[4:]: v for k, v in data.items() if k.startswith("new_")}, prefix="new_"
            )
        except InvalidInput as err:
            problems.update(err.problems)
    if action in (RETIRE, REPLACE):
        try:
            disposal = rules.parse_disposal(data)
        except InvalidInput as err:
            problems.update(err.problems)
    if problems:  # every problem of the form at once
        raise InvalidInput(problems)
    with unit_of_work(rt) as session:
        actor = common.load_actor(rt, session, actor_id)
        change = _owned_change(rt, session, actor, ref, done=True)
        now = rt.now()
        if action == UNCHANGED and any(
            r.link != rules.TOUCHES for r in asset_store.of_change(session, change.id)
        ):
            raise InvalidInput(
                {
                    "action": "the change has added, retired or replaced assets already: the "
                    "register is not unchanged"
                }
            )
        old = None
        if action in (RETIRE, REPLACE):
            old = _asset_of(session, change, data.get("asset"))
            linked = {r.id: r.link for r in asset_store.of_change(session, change.id)}
            if linked.get(old.id) != rules.TOUCHES or old.status != rules.IN_USE:
                raise InvalidInput(
                    {
                        "asset": "link the asset to the change first: only an asset in use that it "
                        "touches is retired or replaced by it"
                    }
                )
            asset_store.save(session, old.id, now, status=rules.RETIRED, retired_at=now)
            asset_store.link(
                session,
                change_id=change.id,
                asset_id=old.id,
                how=rules.REPLACED if action == REPLACE else rules.RETIRED_BY,
                now=now,
            )
            audit_store.append(
                session,
                actor=actor.label,
                change_ref=change.ref,
                event_type="asset.retired",
                payload={"asset": old.id, "name": old.name, "serial": old.serial},
            )
            assert disposal is not None
            _save_disposal(session, rt, actor, old.id, disposal, change.ref)
        if new is not None:
            school_id = old.school_id if old is not None else school_store.reach(session, change.school_id)[0]
            if problem := _tag_problem(session, school_id, new.tag):
                raise InvalidInput({"new_tag": problem})
            new_id = asset_store.add(session, school_id=school_id, fields=new, now=now)
            asset_store.link(session, change_id=change.id, asset_id=new_id, how=rules.ADDED, now=now)
            audit_store.append(
                session,
                actor=actor.label,
                change_ref=change.ref,
                event_type="asset.added",
                payload={"asset": new_id, "name": new.name, "serial": new.serial},
            )
        asset_store.record_update(
            session, change_id=change.id, by=actor.id, now=now, unchanged=action == UNCHANGED
        )
        audit_store.append(
            session,
            actor=actor.label,
            change_ref=change.ref,
            event_type="register.updated",
            payload={"action": action},
        )
        return _of_change(rt, session, change, True)
