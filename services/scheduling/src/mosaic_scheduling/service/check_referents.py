"""Refuse an event about a student or section the district does not have (ADR 0004), never one merely early."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters.existence import has_roster, is_student, section_exists, unknown_students

ReferenceComplete = Callable[[], Awaitable[bool]]


async def unknown_student(
    session: AsyncSession, district_id: str, student_id: str, reference_complete: ReferenceComplete
) -> str | None:
    """Why a level about this student is refused, or None: the district has a roster, read to the end, without them."""
    if await is_student(session, district_id, student_id):
        return None  # the common case, one lookup by key
    if not await has_roster(session, district_id) or not await unknown_students(session, district_id, [student_id]):
        return None
    if not await reference_complete():
        return None  # the roster listing them may still be on its way (another topic)
    return f"student_id: no student {student_id!r} on district {district_id!r}'s roster (read to the end)"


async def unknown_section(
    session: AsyncSession, district_id: str, section_id: str, reference_complete: ReferenceComplete
) -> str | None:
    """Why a regroup of this section is refused, or None: the district has sections, read to the end, not this one."""
    if await section_exists(session, district_id, section_id) is not False:
        return None
    if not await reference_complete():
        return None
    return f"section_id: no section {section_id!r} on district {district_id!r}'s roster (read to the end)"
