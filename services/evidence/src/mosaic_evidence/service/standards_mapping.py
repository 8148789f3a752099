"""The district's mapping from xAPI / Caliper activities and actors to competencies and students."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.domain.standards import StandardsMapping


async def set_mapping(session: AsyncSession, district_id: str, mapping: StandardsMapping) -> list[str]:
    """Save and commit; or, saving nothing, the activities whose evidence kind is unknown."""
    bad = mapping.kinds_are_valid()
    if bad:
        return bad
    await evidence_store.save_mapping(session, district_id, mapping)
    await session.commit()
    return []


async def read_mapping(session: AsyncSession, district_id: str) -> StandardsMapping:
    return await evidence_store.load_mapping(session, district_id)
