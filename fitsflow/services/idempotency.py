"""Safe retries of API writes: a client sends ``Idempotency-Key``; the first request with
a key runs and its answer is kept for ``web.idempotency_hours``; a retry with the same key
and the same request gets that answer again (nothing runs twice); the same key with a
different request is refused. A request that failed changed nothing (every use case is one
transaction), so its key is forgotten and may be used again.

The request's writes and its stored answer commit in one transaction: if the process dies
before that commit, nothing it did is kept, so a retry — at once, when the process is
known to be gone — simply runs it again; if it dies after, the retry gets the answer."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .. import process
from ..domain.errors import FitsflowError, InvalidInput
from ..persistence import idempotency_store
from .runtime import Runtime

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces
# A first request still unanswered after this long, on another machine whose processes this
# one cannot see, died with its process (no request runs this long): a retry runs it again.
ABANDONED = timedelta(minutes=5)


class KeyConflict(FitsflowError):
    """The key was used for another request, or its first request has not finished."""

    def __init__(self, message: str, *, in_progress: bool):
        super().__init__(message)
        self.in_progress = in_progress


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # JSON-ready
    headers: dict[str, str]
    replayed: bool = False


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def run(rt: Runtime, *, user_id: int, key: str, request_fingerprint: str,
        execute: Callable[[], Answer]) -> Answer:
    """Run ``execute`` once for this key, or replay its stored answer."""
    if not KEY.match(key):
        raise InvalidInput({"Idempotency-Key": "must be 1 to 200 printable characters without spaces "
                                               "(a UUID is a good key)"})
    now = rt.now()
    expiry = timedelta(hours=rt.settings.web.idempotency_hours)
    holder = process.identity()
    with rt.db.transaction() as session:
        stored = idempotency_store.claim(session, user_id=user_id, key=key, fingerprint=request_fingerprint,
                                         now=now, expired_before=now - expiry, holder=holder)
        if stored is not None and stored.fingerprint == request_fingerprint and stored.status is None \
                and (not process.alive(stored.holder) or now - stored.created_at >= ABANDONED):
            # Its process is gone, and with it everything it had not committed — all of it,
            # since its answer commits with its writes: run it again, here.
            if idempotency_store.take_over(session, user_id=user_id, key=key, was=stored.holder,
                                           holder=holder, now=now):
                stored = None
    if stored is not None:
        if stored.fingerprint != request_fingerprint:
            raise KeyConflict("this Idempotency-Key was used for a different request: use a new key",
                              in_progress=False)
        if stored.status is None:
            raise KeyConflict("the first request with this Idempotency-Key is still being answered: "
                              "try again in a moment", in_progress=True)
        headers = {"Location": stored.location} if stored.location else {}
        return Answer(stored.status, json.loads(stored.response), headers, replayed=True)
    try:
        with rt.db.all_or_nothing():  # the request's writes and its answer, together
            answer = execute()
            rt.db.try_write(lambda c: idempotency_store.finish(
                c, user_id=user_id, key=key, status=answer.status, response=json.dumps(answer.body),
                location=answer.headers.get("Location", "")))
    except BaseException:
        rt.db.try_write(lambda c: idempotency_store.forget(c, user_id=user_id, key=key), wait_ms=5000)
        raise
    return answer
