"""Reads for the portals: records of one student, or of a set of students, from the projection."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.codec import record_from_row
from mosaic_mastery.adapters.tables import mastery_records
from mosaic_mastery.domain.records import MasteryRecord

t = mastery_records


async def student_records(session: AsyncSession, district_id: str, student_id: str) -> dict[str, MasteryRecord]:
    rows = await session.execute(select(t).where(t.c.district_id == district_id, t.c.student_id == student_id))
    return {row.competency_id: record_from_row(row) for row in rows}


async def records_of(session: AsyncSession, district_id: str, students: Iterable[str]) -> list[MasteryRecord]:
    students = sorted(students)
    found: list[MasteryRecord] = []
    for start in range(0, len(students), 500):
        chunk = students[start : start + 500]
        rows = await session.execute(select(t).where(t.c.district_id == district_id, t.c.student_id.in_(chunk)))
        found += [record_from_row(row) for row in rows]
    return found
