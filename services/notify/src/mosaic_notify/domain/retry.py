"""How long to wait before the next delivery attempt: exponential, capped, with a stable jitter."""

from __future__ import annotations

import zlib
from datetime import timedelta


def backoff_delay(attempt: int, base_s: float, cap_s: float, key: str) -> timedelta:
    """attempt 1 → ~base, 2 → ~2·base, ... up to cap; jitter ±20% from `key` so retries of many messages spread."""
    raw = min(cap_s, base_s * 2 ** max(0, attempt - 1))
    jitter = (zlib.crc32(f"{key}|{attempt}".encode()) % 4001) / 10000 - 0.2
    return timedelta(seconds=max(0.0, raw * (1 + jitter)))
