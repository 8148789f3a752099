"""Read a student's or a teacher's flex time as calendar entries, in the school's time zone."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters.calendar import CalendarEntry
from mosaic_scheduling.service.read_schedules import published_places


async def student_entries(db: AsyncSession, district_id: str, student_id: str) -> tuple[list[CalendarEntry], str]:
    """The student's published places, and the time zone they are in."""
    entries = [
        CalendarEntry(block, s, a.reason, a.version)
        for block, a, s in await published_places(db, district_id, student_id=student_id)
        if s
    ]
    return entries, await _zone(db, district_id, entries)


async def teacher_entries(db: AsyncSession, district_id: str, teacher_id: str) -> tuple[list[CalendarEntry], str]:
    """The sessions the teacher leads with how many students each has, and the time zone they are in."""
    entries = []
    for row in await repo.sessions_led_by(db, district_id, teacher_id):
        school = await repo.load_school(db, district_id, row.school_id)
        block = school.block(row.block_id)
        if block is None:  # the schools' definitions are validated: a session's block exists
            continue
        published = await repo.latest_schedule(db, district_id, row.block_id)
        students = sum(1 for a in (published.assignments if published else []) if a.session_id == row.id)
        definition = next(s for s in school.sessions if s.id == row.id)
        entries.append(CalendarEntry(block, definition, f"{students} students", published.version if published else 0))
    return entries, await _zone(db, district_id, entries)


async def _zone(db: AsyncSession, district_id: str, entries: list[CalendarEntry]) -> str:
    if not entries:
        return "UTC"
    return await repo.school_timezone(db, district_id, entries[0].block.school_id) or "UTC"
