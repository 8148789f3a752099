"""HMAC signatures: webhooks a receiver can verify, and unsubscribe tokens that need no login.

Webhook header (Stripe-style, documented in services/notify/README.md):
    Mosaic-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>
A receiver recomputes the HMAC over the raw body, compares in constant time, and refuses a timestamp
older than its tolerance (replays). Several v1= values may appear while a secret is being rotated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence

SIGNATURE_HEADER = "Mosaic-Signature"
DEFAULT_TOLERANCE_S = 300


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` signed at `timestamp`."""
    return f"t={timestamp},v1={_mac(secret, str(timestamp).encode() + b'.' + body)}"


def verify_signature(
    secret: str | Sequence[str],
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when `header` signs exactly `body` with (one of) `secret`, within `tolerance_s` seconds of `now`."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    secrets = [secret] if isinstance(secret, str) else list(secret)
    signed = str(timestamp).encode() + b"." + body
    expected = [_mac(s, signed) for s in secrets]
    return any(_same(e, given) for e in expected for given in fields.get("v1", []))


def unsubscribe_token(secret: str, district_id: str, guardian_id: str, channel: str) -> str:
    """An opaque, unforgeable token naming who stops which channel; goes into every email's link."""
    payload = _b64("\x1f".join((district_id, guardian_id, channel)).encode())
    return f"{payload}.{_mac(secret, payload.encode())[:32]}"


def read_unsubscribe_token(secret: str, token: str) -> tuple[str, str, str] | None:
    """(district_id, guardian_id, channel) for a genuine token, None for a forged or damaged one."""
    payload, _, mac = token.partition(".")
    if not payload or not _same(_mac(secret, payload.encode("utf-8", "surrogatepass"))[:32], mac):
        return None
    try:
        district_id, guardian_id, channel = (
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode().split("\x1f")
        )
    except ValueError:
        return None
    return district_id, guardian_id, channel


def _same(expected: str, given: str) -> bool:
    """Constant-time equality that any text can take (compare_digest refuses non-ASCII str: a forged link's)."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def _mac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
