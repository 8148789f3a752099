"""Read evidence: one piece with its history, or a student's page of it.

Who may read whom is the access policy's (mosaic_runtime.access), decided before these run.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store
from mosaic_evidence.domain.recording import Recorder
from mosaic_evidence.service.results import Done, Refused


async def one_evidence(session: AsyncSession, district_id: str, evidence_id: str, reader: Recorder) -> Done | Refused:
    found = await evidence_store.one_evidence(session, district_id, evidence_id)
    if found is None:
        return Refused("not_found", {"detail": f"no evidence {evidence_id} in district {district_id}"})
    return Done(found)


async def student_history(
    session: AsyncSession,
    district_id: str,
    student_id: str,
    reader: Recorder,
    filters: evidence_store.HistoryFilter,
    *,
    limit: int,
    offset: int,
) -> Done | Refused:
    total, items = await evidence_store.student_evidence(
        session, district_id, student_id, filters, limit=limit, offset=offset
    )
    following = offset + len(items)
    return Done(
        {
            "student_id": student_id,
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_offset": following if following < total else None,
            "items": items,
        }
    )
