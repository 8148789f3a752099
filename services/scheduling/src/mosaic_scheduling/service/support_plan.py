"""A student's support plan: the session kind a binding placement must respect; set or end it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.service.outcomes import NotFound


async def set_support_plan(db: AsyncSession, district_id: str, student_id: str, plan: dict[str, Any]) -> None:
    async with db.begin():
        await repo.upsert(db, t.support_plans, {"district_id": district_id, "student_id": student_id}, plan)


async def end_support_plan(db: AsyncSession, district_id: str, student_id: str) -> None:
    """Remove the plan; NotFound when the student has none."""
    async with db.begin():
        removed = await repo.remove(db, t.support_plans, {"district_id": district_id, "student_id": student_id})
    if not removed:
        raise NotFound(f"student {student_id!r} has no support plan")
