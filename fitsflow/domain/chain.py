"""The audit chain's arithmetic: canonical serialisation and SHA-256 links."""

from __future__ import annotations

import hashlib
import json
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
