"""The asset register: assets, changes' links to them, the register's update at close and the
renewals raised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ..domain import assets as rules
from ..domain.errors import InvalidInput
from .counting import Count, bounded
from .models import Asset, Change, ChangeAsset, RegisterUpdate, RenewalRaised
from .queries import contains

_ASSETS = Asset.__table__  # type: ignore[attr-defined]
_LINKS = ChangeAsset.__table__  # type: ignore[attr-defined]
_UPDATES = RegisterUpdate.__table__  # type: ignore[attr-defined]
_RAISED = RenewalRaised.__table__  # type: ignore[attr-defined]
_CHANGES = Change.__table__  # type: ignore[attr-defined]


class AlreadyRaised(Exception):
    """Another sweep raised this renewal first."""


def tag_key(tag: str) -> str | None:
    """How tags are told apart: case aside (any script's), an empty tag none at all."""
    return tag.strip().casefold() or None


def _tag_taken(tag: str) -> InvalidInput:
    return InvalidInput({"tag": f"another asset of the school has the tag {tag[:60]}"})


def add(session: Session, *, school_id: int, fields: rules.AssetFields, now: datetime) -> int:
    """A new asset; InvalidInput when the school has its tag already (another's add won the race)."""
    try:
        with session.begin_nested():
            return int(
                session.connection()
                .execute(
                    insert(_ASSETS)
                    .values(
                        school_id=school_id,
                        status=rules.IN_USE,
                        created_at=now,
                        updated_at=now,
                        wiped_by="",
                        certificate="",
                        weee="",
                        tag_key=tag_key(fields.tag),
                        **asdict(fields),
                    )
                    .returning(_ASSETS.c.id)
                )
                .scalar_one()
            )
    except IntegrityError:
        raise _tag_taken(fields.tag) from None


def add_many(session: Session, *, school_id: int, rows: Sequence[rules.AssetFields], now: datetime) -> int:
    """New assets, all or none; InvalidInput when the school has one of their tags (an add beside
    this import won the race)."""
    if not rows:
        return 0
    try:
        with session.begin_nested():
            session.connection().execute(
                insert(_ASSETS),
                [
                    {
                        "school_id": school_id,
                        "status": rules.IN_USE,
                        "created_at": now,
                        "updated_at": now,
                        "wiped_by": "",
                        "certificate": "",
                        "weee": "",
                        "tag_key": tag_key(r.tag),
                        **asdict(r),
                    }
                    for r in rows
                ],
            )
    except IntegrityError:
        raise InvalidInput(
            {"file": "an asset with one of these tags was added meanwhile: import again"}
        ) from None
    return len(rows)


def _of(schools: frozenset[int] | None) -> list[Any]:
    return [] if schools is None else [_ASSETS.c.school_id.in_(schools)]


def one(session: Session, asset_id: int, *, schools: frozenset[int] | None) -> Any:
    return (
        session.connection().execute(select(_ASSETS).where(_ASSETS.c.id == asset_id, *_of(schools))).first()
    )


def by_tag(session: Session, tag: str, *, schools: frozenset[int] | None) -> list[Any]:
    """The assets of ``schools`` with this tag (case aside): one, or none."""
    return list(
        session.connection()
        .execute(select(_ASSETS).where(_ASSETS.c.tag_key == tag_key(tag), *_of(schools)).limit(2))
        .all()
    )


def tags_taken(session: Session, school_id: int, tags: Sequence[str]) -> list[str]:
    """Which of these tags (as ``tag_key`` has them) an asset of the school already has."""
    wanted = sorted({key for t in tags if (key := tag_key(t))})
    taken: list[str] = []
    for start in range(0, len(wanted), 1000):
        taken += (
            session.connection()
            .execute(
                select(_ASSETS.c.tag_key).where(
                    _ASSETS.c.school_id == school_id,
                    _ASSETS.c.tag_key.in_(wanted[start : start + 1000]),
                )
            )
            .scalars()
        )
    return taken


def page(
    session: Session,
    *,
    schools: frozenset[int] | None,
    status: str = "",
    q: str = "",
    limit: int,
    offset: int,
) -> tuple[Sequence[Any], Count]:
    """Assets newest first, by status and text (tag, name, kind, serial, location)."""
    where = _of(schools)
    if status:
        where.append(_ASSETS.c.status == status)
    if q:
        pattern = contains(q.lower())
        where.append(
            or_(
                *(
                    func.lower(c).like(pattern, escape="\\")
                    for c in (
                        _ASSETS.c.tag,
                        _ASSETS.c.name,
                        _ASSETS.c.kind,
                        _ASSETS.c.serial,
                        _ASSETS.c.location,
                    )
                )
            )
        )
    connection = session.connection()
    rows = connection.execute(
        select(_ASSETS).where(*where).order_by(_ASSETS.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, bounded(connection, select(_ASSETS.c.id).where(*where), offset=offset, limit=limit)


def save(session: Session, asset_id: int, now: datetime, **values: Any) -> None:
    if "tag" in values:
        values["tag_key"] = tag_key(values["tag"])
    try:
        with session.begin_nested():
            session.connection().execute(
                update(_ASSETS).where(_ASSETS.c.id == asset_id).values(updated_at=now, **values)
            )
    except IntegrityError:
        raise _tag_taken(values.get("tag", "")) from None


def link(session: Session, *, change_id: int, asset_id: int, how: str, now: datetime) -> None:
    """Link a change to an asset, or say how it now touches it (the register's update)."""
    connection = session.connection()
    moved = connection.execute(
        update(_LINKS).where(_LINKS.c.change_id == change_id, _LINKS.c.asset_id == asset_id).values(link=how)
    )
    if not moved.rowcount:
        connection.execute(
            insert(_LINKS).values(change_id=change_id, asset_id=asset_id, link=how, created_at=now)
        )


def unlink(session: Session, *, change_id: int, asset_id: int) -> bool:
    return bool(
        session.connection()
        .execute(
            _LINKS.delete().where(
                _LINKS.c.change_id == change_id, _LINKS.c.asset_id == asset_id, _LINKS.c.link == rules.TOUCHES
            )
        )
        .rowcount
    )


def of_change(session: Session, change_id: int) -> Sequence[Any]:
    """The change's assets with how it touches each, in the order linked."""
    return (
        session.connection()
        .execute(
            select(_ASSETS, _LINKS.c.link)
            .join(_LINKS, _LINKS.c.asset_id == _ASSETS.c.id)
            .where(_LINKS.c.change_id == change_id)
            .order_by(_LINKS.c.created_at, _ASSETS.c.id)
        )
        .all()
    )


def changes_of(session: Session, asset_id: int, limit: int = 100) -> Sequence[Any]:
    """(ref, title, workflow, state, link) of the changes that touched the asset, newest first."""
    return (
        session.connection()
        .execute(
            select(
                _CHANGES.c.ref,
                _CHANGES.c.title,
                _CHANGES.c.workflow,
                _CHANGES.c.workflow_version,
                _CHANGES.c.state,
                _LINKS.c.link,
            )
            .join(_LINKS, _LINKS.c.change_id == _CHANGES.c.id)
            .where(_LINKS.c.asset_id == asset_id)
            .order_by(_CHANGES.c.id.desc())
            .limit(limit)
        )
        .all()
    )


def register_update(session: Session, change_id: int) -> Any:
    return session.connection().execute(select(_UPDATES).where(_UPDATES.c.change_id == change_id)).first()


def record_update(session: Session, *, change_id: int, by: int, now: datetime, unchanged: bool) -> None:
    connection = session.connection()
    if not connection.execute(
        update(_UPDATES)
        .where(_UPDATES.c.change_id == change_id)
        .values(recorded_by=by, recorded_at=now, unchanged=unchanged)
    ).rowcount:
        connection.execute(
            insert(_UPDATES).values(change_id=change_id, recorded_by=by, recorded_at=now, unchanged=unchanged)
        )


def renewals_between(session: Session, first: date, last: date) -> list[tuple[Any, str, date]]:
    """(asset, date field, day) of each in-use asset's renewal date in [first, last], not yet
    raised."""
    out: list[tuple[Any, str, date]] = []
    for field_name in rules.RENEWALS:
        column = _ASSETS.c[field_name]
        done = select(_RAISED.c.asset_id).where(
            _RAISED.c.asset_id == _ASSETS.c.id, _RAISED.c.field_name == field_name, _RAISED.c.due_on == column
        )
        rows = session.connection().execute(
            select(_ASSETS)
            .where(_ASSETS.c.status == rules.IN_USE, column >= first, column <= last, ~done.exists())
            .order_by(column)
        )
        out += [(row, field_name, getattr(row, field_name)) for row in rows]
    return out


def claim_renewal(session: Session, *, asset_id: int, field_name: str, due_on: date, now: datetime) -> None:
    """Record that this renewal's need is being raised; AlreadyRaised when another sweep did."""
    try:
        with session.begin_nested():
            session.connection().execute(
                insert(_RAISED).values(
                    asset_id=asset_id, field_name=field_name, due_on=due_on, created_at=now
                )
            )
    except IntegrityError:
        raise AlreadyRaised from None


def set_renewal_change(
    session: Session, *, asset_id: int, field_name: str, due_on: date, change_id: int
) -> None:
    session.connection().execute(
        update(_RAISED)
        .where(_RAISED.c.asset_id == asset_id, _RAISED.c.field_name == field_name, _RAISED.c.due_on == due_on)
        .values(change_id=change_id)
    )


def retired_between(session: Session, since: datetime, until: datetime) -> tuple[int, int]:
    """Assets retired in the range (of the schools the session sees): with complete disposal
    evidence, and without."""
    from . import school_scope

    scope = school_scope.scope_of(session)
    mine = [] if scope is None else [_ASSETS.c.school_id.in_(scope)]
    complete = (
        (_ASSETS.c.wiped_on.is_not(None))
        & (_ASSETS.c.wiped_by != "")
        & (_ASSETS.c.certificate != "")
        & (_ASSETS.c.weee != "")
    )
    rows = (
        session.connection()
        .execute(
            select(complete.label("complete"), func.count())
            .where(*mine, _ASSETS.c.retired_at >= since, _ASSETS.c.retired_at < until)
            .group_by(complete)
        )
        .all()
    )
    counted = {bool(c): int(n) for c, n in rows}
    return counted.get(True, 0), counted.get(False, 0)


def register_problems(session: Session, change_id: int) -> list[str]:
    """What closing the change still needs of the register (the guard register_updated)."""
    if not of_change(session, change_id) or register_update(session, change_id):
        return []
    return ["the register's update: record what the change added, replaced or retired (with serials), or "
            "that the register is unchanged"]
