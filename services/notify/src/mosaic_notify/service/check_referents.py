"""Refuse news about a student the district's roster lacks (ADR 0004), never news merely early: a forged change
would otherwise wait in the news table and be told to a guardian linked to that id later."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import store


async def unknown_student(
    session: AsyncSession, district_id: str, student_id: str, reference_complete: Callable[[], Awaitable[bool]]
) -> str | None:
    """Why news about this student is refused, or None: the district has students, read to the end, not them."""
    if await store.student_known(session, district_id, student_id) is not False:
        return None
    if not await reference_complete():
        return None  # the roster listing them may still be on its way (another topic)
    return f"student_id: no student {student_id!r} on district {district_id!r}'s roster (read to the end)"
