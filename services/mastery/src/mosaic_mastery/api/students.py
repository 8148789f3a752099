"""A student's jagged profile and next learning targets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from mosaic_mastery.api.deps import Store, found
from mosaic_mastery.api.schemas import NextTargets, Profile
from mosaic_mastery.service import read_students
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(
    prefix="/v1/districts/{district_id}/students/{student_id}",
    tags=["students"],
    dependencies=[Depends(allow(Rule.STUDENT_DATA))],
)


@router.get(
    "/profile",
    response_model=Profile,
    summary="Every competency: level, estimate, trend, evidence, and how the level was computed",
)
async def profile(district_id: str, student_id: str, session: Session, store: Store) -> dict[str, Any]:
    return found(await read_students.profile(session, store, district_id, student_id))


@router.get(
    "/next-targets",
    response_model=NextTargets,
    summary="The best next learning targets: prerequisites met, not yet mastered",
)
async def targets(
    district_id: str, student_id: str, session: Session, store: Store, limit: Annotated[int, Query(ge=1, le=50)] = 5
) -> dict[str, Any]:
    return found(await read_students.targets(session, store, district_id, student_id, limit))
