"""Verify the audit chain and export it for auditors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlmodel import Session

from ..domain.chain import GENESIS, link_hash
from ..domain.errors import NotPermitted
from ..domain.roles import ADMIN, AUDITOR
from ..persistence import audit_store
from ..persistence.models import AuditEvent
from .runtime import Runtime


@dataclass(frozen=True)
class Verification:
    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"verified: {self.count} events, head {self.head_hash}"
        return f"broken at seq {self.broken_seq}: {self.reason}"


def verify(rt: Runtime, *, expected_head: str | None = None,
           progress: Callable[[int], None] | None = None) -> Verification:
    """Walk the chain from seq 1; name the first event that does not hold."""
    with rt.db.read() as session:
        head = audit_store.head(session)
        head_seq, head_hash = head.seq, head.hash
        expected_seq, prev, count = 1, GENESIS, 0
        published_seen = expected_head is None
        for event in audit_store.iter_events(session):
            if event.seq != expected_seq:
                reason = (f"event {expected_seq} is missing (next found is {event.seq})"
                          if event.seq > expected_seq else "sequence out of order")
                return Verification(False, count, prev, expected_seq, reason)
            if event.prev_hash != prev:
                return Verification(False, count, prev, event.seq,
                                    "previous-hash link does not match the event before it")
            digest = link_hash(seq=event.seq, at=event.at, actor=event.actor,
                               change_ref=event.change_ref, event_type=event.event_type,
                               payload=event.payload, prev_hash=event.prev_hash)
            if digest != event.hash:
                return Verification(False, count, prev, event.seq,
                                    "content does not match its hash (edited)")
            if expected_head is not None and event.hash == expected_head:
                published_seen = True
            prev, count, expected_seq = event.hash, count + 1, expected_seq + 1
            if progress is not None:
                progress(1)
        if count != head_seq or prev != head_hash:
            if count < head_seq:
                return Verification(False, count, prev, count + 1,
                                    f"events after seq {count} are missing (head records {head_seq})")
            return Verification(False, count, prev, head_seq + 1,
                                f"event not recorded in the chain head (head records {head_seq})")
        if not published_seen:
            return Verification(False, count, prev, None,
                                f"the published head {expected_head} is not in the chain (rewritten)")
        return Verification(True, count, prev)


EXPORT_FIELDS = ("seq", "at", "actor", "change_ref", "event_type", "payload", "prev_hash", "hash")


def _row(event: AuditEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in EXPORT_FIELDS}


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or
    carriage return) is prefixed with an apostrophe (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export(rt: Runtime, *, fmt: str, change_ref: str | None = None) -> Iterator[str]:
    """Stream the trail (or one change's) as CSV or JSON text chunks."""
    if fmt not in ("csv", "json"):
        raise ValueError("format must be csv or json")
    ref = change_ref.strip().upper() if change_ref else None
    with rt.db.read() as session:
        events = audit_store.iter_events(session, change_ref=ref)
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
            writer.writeheader()
            for event in events:
                writer.writerow({k: spreadsheet_safe(v) for k, v in _row(event).items()})
                if buffer.tell() > 65536:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()
            return
        yield "["
        first = True
        for event in events:
            row = _row(event)
            row["payload"] = json.loads(event.payload)
            yield ("\n" if first else ",\n") + json.dumps(row, ensure_ascii=False, sort_keys=True)
            first = False
        yield "\n]\n"


@dataclass(frozen=True)
class TimelineEvent:
    seq: int
    at: str
    actor: str
    event_type: str
    payload: dict[str, object]


def timeline(rt: Runtime, *, actor_id: int, ref: str) -> list[TimelineEvent]:
    """A change's audit events, oldest first, for someone who may see the change."""
    from .common import load_actor, load_change

    with rt.db.read() as session:
        return timeline_in(session, load_change(session, ref, load_actor(rt, session, actor_id)).ref)


def timeline_in(session: Session, ref: str) -> list[TimelineEvent]:
    """``timeline`` inside the caller's read, for a change already checked visible."""
    return [TimelineEvent(seq, at, who, kind, json.loads(payload))
            for seq, at, who, kind, payload in audit_store.of_change(session, ref)]


def events_after(rt: Runtime, *, actor_id: int, after_seq: int, limit: int = 500) -> list[dict[str, object]]:
    """The whole trail from a sequence number on, as plain data (auditors and admins)."""
    from .common import load_actor

    out: list[dict[str, object]] = []
    with rt.db.read() as session:
        if not load_actor(rt, session, actor_id).roles & {AUDITOR, ADMIN}:
            raise NotPermitted("the audit trail is for auditors and admins")
        for event in audit_store.iter_events(session, after_seq=after_seq, batch=min(limit, 2000)):
            row = _row(event)
            row["payload"] = json.loads(event.payload)
            out.append(row)
            if len(out) >= limit:
                break
    return out
