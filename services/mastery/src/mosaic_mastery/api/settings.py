"""A district's mastery settings: method, scale, weights, roll-up, regrouping; and what each section groups by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from mosaic_mastery.adapters.recalculation import change_settings
from mosaic_mastery.api.deps import GROUPING_ROLES, SETTINGS_ROLES, Store, district_data
from mosaic_mastery.api.schemas import GroupingChanged, SettingsChanged
from mosaic_mastery.domain.config import DistrictSettings
from mosaic_runtime.app import Context, Session
from mosaic_runtime.auth import DistrictPrincipal
from mosaic_runtime.responses import errors

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["settings"])


class GroupingCompetencies(BaseModel):
    competency_ids: tuple[str, ...] = Field(description="the competencies this section's flexible groups follow")


def _require(principal: Any, roles: tuple[str, ...], what: str) -> None:
    if not principal.has_any(*roles):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"{what} needs one of the roles {list(roles)}; you have {sorted(principal.roles)}")


@router.get("/settings", summary="The district's mastery settings (defaults until changed)")
async def read_settings(district_id: str, principal: DistrictPrincipal, session: Session,
                        store: Store) -> DistrictSettings:
    _, config = await district_data(session, store, district_id)
    return config.settings


@router.put("/settings", response_model=SettingsChanged,
            summary="Change the settings; a new method or scale recalculates the district and emits "
                    "the level changes as recalculations")
async def write_settings(district_id: str, body: DistrictSettings, principal: DistrictPrincipal, session: Session,
                         store: Store, ctx: Context) -> dict[str, Any]:
    _require(principal, SETTINGS_ROLES, "changing mastery settings")
    async with session.begin():
        change = await change_settings(session, store, district_id, body)
    ctx.relay.wake()  # publish the recalculation now rather than at the next poll
    return {"version": change.version, "recalculated": change.recalculated, "level_changes": change.level_changes,
            "regroups": change.regroups}


@router.put("/sections/{section_id}/grouping-competencies", response_model=GroupingChanged, responses=errors(404),
            summary="Which competencies a section's flexible groups follow (regrouping watches these)")
async def set_grouping(district_id: str, section_id: str, body: GroupingCompetencies, principal: DistrictPrincipal,
                       session: Session, store: Store) -> dict[str, Any]:
    _require(principal, GROUPING_ROLES, "choosing what a section groups by")
    async with session.begin():
        reference, config = await district_data(session, store, district_id)
        if section_id not in reference.sections:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                detail=f"section {section_id!r} is not on district {district_id!r}'s roster")
        unknown = [c for c in body.competency_ids if c not in reference.competencies]
        if unknown:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"competency_ids {unknown} are not in the district's published frameworks")
        grouping = {**config.settings.grouping_competencies, section_id: tuple(dict.fromkeys(body.competency_ids))}
        if not body.competency_ids:
            grouping.pop(section_id)
        new = config.settings.model_copy(update={"grouping_competencies": grouping})
        change = await change_settings(session, store, district_id, new)
    return {"section_id": section_id, "competency_ids": list(grouping.get(section_id, ())), "version": change.version}
