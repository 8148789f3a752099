"""Transaction-scoped advisory locks that keep replicas on different partitions from overwriting shared rows.

Every transaction takes them in one order — district locks by key, then section locks by key — so two
batches can wait on each other but never deadlock. A district lock is shared by batches that only read the
district's reference and exclusive for one that changes it (or recalculates the district); a section lock
is exclusive and guards that section's watch. SQLite has one writer at a time, so there they are no-ops.
See docs/decisions/0018-scale-replica-safe-shared-state.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

DISTRICT = 1
SECTION = 2


def lock_key(*parts: str) -> int:
    """A stable signed 32-bit key for a name (a collision only makes two names wait on each other)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_districts(session: AsyncSession, exclusive: Mapping[str, bool]) -> None:
    """Lock each district: exclusive when the batch changes its reference, else shared."""
    if not _on_postgres(session):
        return
    modes: dict[int, bool] = {}
    for district, wants_exclusive in exclusive.items():
        key = lock_key(district)
        modes[key] = modes.get(key, False) or wants_exclusive
    for key in sorted(modes):
        function = "pg_advisory_xact_lock" if modes[key] else "pg_advisory_xact_lock_shared"
        await session.execute(text(f"SELECT {function}(:kind, :key)"), {"kind": DISTRICT, "key": key})


async def lock_sections(session: AsyncSession, district: str, sections: Iterable[str]) -> None:
    """Lock the watches of these sections, exclusively, in key order."""
    if not _on_postgres(session):
        return
    for key in sorted({lock_key(district, section) for section in sections}):
        await session.execute(text("SELECT pg_advisory_xact_lock(:kind, :key)"), {"kind": SECTION, "key": key})


def _on_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"
