"""A deterministic hash of the projection, so a rebuild can be compared with the live state.

Covers every mastery record and the evidence index, rows sorted by key, floats rounded to 1e-9.
Section watches are left out on purpose: they depend on how different students' events interleave
across partitions, which no two reads of a topic need agree on.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.tables import evidence_index, mastery_records

RECORD_COLUMNS = (
    "district_id",
    "student_id",
    "competency_id",
    "estimate",
    "previous_estimate",
    "level",
    "trend",
    "method",
    "evidence_count",
    "last_evidence_on",
    "observations",
)
EVIDENCE_COLUMNS = ("district_id", "evidence_id", "student_id", "kind", "competency_ids", "section_id", "retracted")


async def projection_checksum(session: AsyncSession, district_id: str | None = None) -> tuple[str, int]:
    """(sha256 hex, rows hashed)."""
    digest = hashlib.sha256()
    rows = 0
    for table, columns in ((mastery_records, RECORD_COLUMNS), (evidence_index, EVIDENCE_COLUMNS)):
        query = select(*(table.c[c] for c in columns)).order_by(*table.primary_key.columns)
        if district_id is not None:
            query = query.where(table.c.district_id == district_id)
        result = await session.stream(query)
        async for row in result:
            digest.update("\x1f".join(_canonical(v) for v in row).encode())
            digest.update(b"\x1e")
            rows += 1
    return digest.hexdigest(), rows


def _canonical(value: object) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, float):
        return f"{value:.9f}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)
