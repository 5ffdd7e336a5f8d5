"""Time-based one-time passwords (RFC 6238, as authenticator apps use them) and
single-use recovery codes: pure functions, no storage."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

# Codes one step either side of now are accepted: phones' clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code ``code`` is (within the allowed drift), or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at ``at`` (tests, the CLI's self-check)."""
    return pyotp.TOTP(secret).at(at)


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k7pq-x3mz-t9dw`` (60 bits each)."""
    return ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3))
            for _ in range(RECOVERY_CODES)]


def looks_like_recovery_code(text: str) -> bool:
    return len(_normal(text)) == 12


def recovery_hash(code: str) -> str:
    """How a recovery code is stored: its SHA-256 (60 random bits need no slow hash)."""
    return hashlib.sha256(_normal(code).encode()).hexdigest()


def _normal(code: str) -> str:
    return "".join(c for c in code.lower() if c.isalnum())

