"""A student asks for sessions, best first; the next regroup honours them where no hard limit prevents it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.service.outcomes import Invalid
from mosaic_scheduling.service.place_student import school_of


async def request_sessions(
    db: AsyncSession, district_id: str, block_id: str, student_id: str, session_ids: list[str]
) -> None:
    """Save the request; NotFound for an unknown block, Invalid when a session does not run in it."""
    async with db.begin():
        school = await school_of(db, district_id, block_id)
        offered = {s.id for s in school.sessions_of(block_id)}
        unknown = [s for s in session_ids if s not in offered]
        if unknown:
            raise Invalid(f"session_ids {unknown} do not run in block {block_id!r}")
        await repo.upsert(
            db,
            t.student_requests,
            {"district_id": district_id, "block_id": block_id, "student_id": student_id},
            {"session_ids": session_ids},
        )
