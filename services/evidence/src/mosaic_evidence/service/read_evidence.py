"""Read evidence: one piece with its history, or a student's page of it — for readers allowed to see the student."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_evidence.adapters import evidence_store, reference_store
from mosaic_evidence.domain.recording import Recorder, check_read_permission
from mosaic_evidence.service.results import Done, Refused


async def one_evidence(session: AsyncSession, district_id: str, evidence_id: str, reader: Recorder) -> Done | Refused:
    found = await evidence_store.one_evidence(session, district_id, evidence_id)
    if found is None:
        return Refused("not_found", {"detail": f"no evidence {evidence_id} in district {district_id}"})
    return await _may_read(session, district_id, reader, found["student_id"]) or Done(found)


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
    refusal = await _may_read(session, district_id, reader, student_id)
    if refusal is not None:
        return refusal
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


async def _may_read(session: AsyncSession, district_id: str, reader: Recorder, student_id: str) -> Refused | None:
    view = await reference_store.load_view_for(
        session, district_id, person_ids={reader.user_id, student_id}, competency_refs=[]
    )
    problems = check_read_permission(reader, student_id, view)
    return Refused("not_permitted", {"detail": problems[0].message}) if problems else None
