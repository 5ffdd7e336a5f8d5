"""The audit chain's arithmetic: canonical serialisation and SHA-256 links."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> str:
    """A stable text form: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def link_hash(*, seq: int, at: str, actor: str, change_ref: str, event_type: str,
              payload: str, prev_hash: str) -> str:
    """The hash of one event, covering its position and the hash before it."""
    record = canonical(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "change": change_ref,
            "type": event_type,
            "payload": payload,
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(record.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    """What a walk of the chain found: ``count`` events hold up to ``head_hash``; when not
    ``ok``, ``broken_seq`` names the first event that does not hold (None when the fault is
    no one event: a published head missing from the chain)."""

    ok: bool
    count: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""
    verified_seq: int = 0  # the last seq checked (from a checkpoint on: not all were read)

    def describe(self) -> str:
        if self.ok:
            return f"verified: {self.count} events, head {self.head_hash}"
        if self.broken_seq is None:
            return f"not verified: {self.reason}"
        return f"broken at seq {self.broken_seq}: {self.reason}"


# (seq, at, actor, change_ref, event_type, payload, prev_hash, hash): a stored event as plain values.
Row = tuple[int, str, str, str, str, str, str, str]


def walk(rows: Iterable[Row], *, head_seq: int, head_hash: str, expected_head: str | None = None,
         after_seq: int = 0, after_hash: str = GENESIS,
         progress: Callable[[int], None] | None = None) -> Verification:
    """Check each link of ``rows`` (in seq order, starting after ``after_seq`` whose hash is
    ``after_hash``) and that they end at the recorded head; ``expected_head``, a head hash
    published earlier, must be among them (or be ``after_hash``)."""
    expected_seq, prev, count = after_seq + 1, after_hash, after_seq
    published_seen = expected_head is None or expected_head == after_hash
    for seq, at, actor, change_ref, event_type, payload, prev_hash, digest in rows:
        if seq != expected_seq:
            reason = (f"event {expected_seq} is missing (next found is {seq})"
                      if seq > expected_seq else "sequence out of order")
            return Verification(False, count, prev, expected_seq, reason)
        if prev_hash != prev:
            return Verification(False, count, prev, seq,
                                "previous-hash link does not match the event before it")
        if link_hash(seq=seq, at=at, actor=actor, change_ref=change_ref, event_type=event_type,
                     payload=payload, prev_hash=prev_hash) != digest:
            return Verification(False, count, prev, seq, "content does not match its hash (edited)")
        if digest == expected_head:
            published_seen = True
        prev, count, expected_seq = digest, count + 1, expected_seq + 1
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
                            f"the published head {expected_head} is not in this chain: it was rewritten, "
                            "or the head belongs to another installation")
    return Verification(True, count, prev, verified_seq=count)
