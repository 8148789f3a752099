"""Take attendance for one session on one day: store the marks and queue AttendanceTaken for the SIS (outbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import new_envelope
from mosaic_events.catalog import AttendanceMark, AttendanceTaken
from mosaic_runtime.publishing import to_outbox
from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.service.outcomes import NotAMeetingDay, NotFound, block_of
from mosaic_scheduling.service.publish_schedule import PRODUCER


async def take_attendance(
    db: AsyncSession,
    district_id: str,
    block_id: str,
    session_id: str,
    block_date: date,
    marks: Sequence[AttendanceMark],
    taken_by: str,
) -> UUID:
    """Get the block, check the session and the day, store the marks with the event; returns the event's id."""
    async with db.begin():
        school_id = await repo.school_of_block(db, district_id, block_id)
        if school_id is None:
            raise NotFound(f"no block {block_id!r} in district {district_id!r}")
        school = await repo.load_school(db, district_id, school_id)
        if not any(s.id == session_id for s in school.sessions_of(block_id)):
            raise NotFound(f"no session {session_id!r} in block {block_id!r}")
        if not block_of(school, block_id).occurs_on(block_date):
            raise NotAMeetingDay(f"block_date {block_date} is not a day block {block_id!r} meets")
        now = datetime.now(UTC)
        for mark in marks:
            await repo.upsert(
                db,
                t.attendance,
                {
                    "district_id": district_id,
                    "block_id": block_id,
                    "session_id": session_id,
                    "block_date": block_date,
                    "student_id": mark.student_id,
                },
                {"status": mark.status, "taken_by": taken_by, "taken_at": now},
            )
        taken = AttendanceTaken(
            block_id=block_id,
            session_id=session_id,
            school_id=school_id,
            taken_by=taken_by,
            block_date=block_date,
            marks=tuple(marks),
        )
        envelope = new_envelope(taken, district_id=district_id, producer=PRODUCER, school_id=school_id)
        await to_outbox(db, [envelope])
    event_id: UUID = envelope.id
    return event_id
