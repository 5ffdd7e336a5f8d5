"""This process, as other processes see it in the database (a delivery slot's holder, an
Idempotency-Key's request), and whether such a process still runs."""

from __future__ import annotations

import os
import socket
import uuid

_BOOT = uuid.uuid4().hex[:8]  # told apart from an earlier process that had the same pid


def identity() -> str:
    """host:pid:boot of this process (a forked child has its own pid, so its own identity)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_BOOT}"


def alive(holder: str) -> bool:
    """Whether the process named by ``identity()`` may still be running: one on another
    machine is taken to be (its heartbeat or age tells); one on this machine only while its
    pid exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process has that pid now
        return True
    return True
