"""A district's mastery settings: method, scale, weights, roll-up, regrouping; and what each section groups by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from mosaic_mastery.api.deps import Store
from mosaic_mastery.api.schemas import GroupingChanged, SettingsChanged
from mosaic_mastery.domain.config import DistrictSettings
from mosaic_mastery.service.change_settings import change_settings
from mosaic_mastery.service.choose_grouping import UnknownCompetencies, UnknownSection, choose_grouping
from mosaic_mastery.service.read_district import district_settings
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Context, Session
from mosaic_runtime.publishing import publisher_of

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["settings"])


class GroupingCompetencies(BaseModel):
    competency_ids: tuple[str, ...] = Field(description="the competencies this section's flexible groups follow")


@router.get(
    "/settings",
    summary="The district's mastery settings (defaults until changed)",
    dependencies=[Depends(allow(Rule.DISTRICT_INFO))],
)
async def read_settings(district_id: str, session: Session, store: Store) -> DistrictSettings:
    return await district_settings(session, store, district_id)


@router.put(
    "/settings",
    response_model=SettingsChanged,
    summary="Change the settings; a new method or scale recalculates the district and emits "
    "the level changes as recalculations",
    dependencies=[Depends(allow(Rule.DISTRICT_SETUP))],
)
async def write_settings(
    district_id: str, body: DistrictSettings, session: Session, store: Store, ctx: Context
) -> dict[str, Any]:
    change = await change_settings(session, store, district_id, body)
    publisher_of(ctx).committed()  # publish the recalculation now rather than at the next poll
    return {
        "version": change.version,
        "recalculated": change.recalculated,
        "level_changes": change.level_changes,
        "regroups": change.regroups,
    }


@router.put(
    "/sections/{section_id}/grouping-competencies",
    response_model=GroupingChanged,
    summary="Which competencies a section's flexible groups follow (regrouping watches these)",
    dependencies=[Depends(allow(Rule.SECTION_DATA))],
)
async def set_grouping(
    district_id: str, section_id: str, body: GroupingCompetencies, session: Session, store: Store
) -> dict[str, Any]:
    chosen = await choose_grouping(session, store, district_id, section_id, body.competency_ids)
    if isinstance(chosen, UnknownSection):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=chosen.detail)
    if isinstance(chosen, UnknownCompetencies):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=chosen.detail)
    return {"section_id": section_id, "competency_ids": list(chosen.competency_ids), "version": chosen.version}
