"""Deleting one person from scheduling's tables: a student's placements, attendance and plans, a teacher's name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import tables as t

# (table, the column naming the person) for every row that is about one person
BY_PERSON: tuple[tuple[Any, str], ...] = (
    (t.support_plans, "student_id"),
    (t.student_requests, "student_id"),
    (t.placements, "student_id"),
    (t.mastery_levels, "student_id"),
    (t.schedule_assignments, "student_id"),
    (t.attendance, "student_id"),
    (t.roster_enrollments, "user_id"),
    (t.roster_people, "id"),
    (t.teachers, "id"),
)


async def erase(session: AsyncSession, district_id: str, person_id: str) -> dict[str, int]:
    """Rows about the person go; sessions they taught keep running without a teacher. Returns rows per table."""
    counts = {}
    for table, column in BY_PERSON:
        result = await session.execute(
            delete(table).where(table.c.district_id == district_id, table.c[column] == person_id)
        )
        counts[table.name] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    result = await session.execute(
        update(t.sessions)
        .where(t.sessions.c.district_id == district_id, t.sessions.c.teacher_id == person_id)
        .values(teacher_id=None)
    )
    counts["sessions (teacher cleared)"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return counts
