"""Class and school views for teachers and leaders: a section's heatmap, class and school summaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mosaic_mastery.api.deps import Store, found
from mosaic_mastery.api.schemas import ClassSummary, Heatmap, SchoolSummary
from mosaic_mastery.service import read_sections
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["sections and schools"])


@router.get(
    "/sections/{section_id}/heatmap",
    response_model=Heatmap,
    summary="Students × competencies: level and estimate per cell",
    dependencies=[Depends(allow(Rule.SECTION_DATA))],
)
async def heatmap(district_id: str, section_id: str, session: Session, store: Store) -> dict[str, Any]:
    return found(await read_sections.heatmap(session, store, district_id, section_id))


@router.get(
    "/sections/{section_id}/summary",
    response_model=ClassSummary,
    summary="How a class stands on each competency",
    dependencies=[Depends(allow(Rule.SECTION_DATA))],
)
async def class_summary(district_id: str, section_id: str, session: Session, store: Store) -> dict[str, Any]:
    return found(await read_sections.class_summary(session, store, district_id, section_id))


@router.get(
    "/schools/{school_id}/summary",
    response_model=SchoolSummary,
    summary="How a school stands on each competency",
    dependencies=[Depends(allow(Rule.SCHOOL_DATA))],
)
async def school_summary(district_id: str, school_id: str, session: Session, store: Store) -> dict[str, Any]:
    return found(await read_sections.school_summary(session, store, district_id, school_id))
