"""What the mastery routes share: the projection store, district data, and who may read whom."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig
from mosaic_mastery.domain.reference import DistrictReference
from mosaic_runtime.auth import Principal

STAFF_ROLES = ("teacher", "aide", "administrator", "districtAdministrator", "siteAdministrator", "proctor",
               "system", "integration")
SETTINGS_ROLES = ("administrator", "districtAdministrator", "system")
GROUPING_ROLES = ("teacher", "administrator", "districtAdministrator", "siteAdministrator", "system")


def projection_store(request: Request) -> ProjectionStore:
    store = request.app.state.ctx.state.get("store")
    if store is None:
        store = request.app.state.ctx.state["store"] = ProjectionStore()
    return store


Store = Annotated[ProjectionStore, Depends(projection_store)]


async def district_data(session: AsyncSession, store: ProjectionStore,
                        district_id: str) -> tuple[DistrictReference, DistrictConfig]:
    reference = (await store.references(session, [district_id]))[district_id]
    config = (await store.configs(session, [district_id]))[district_id]
    return reference, config


def may_read_student(principal: Principal, student_id: str, reference: DistrictReference) -> None:
    """Staff read any student of their district; a student reads themself; a guardian reads their students."""
    if principal.has_any(*STAFF_ROLES) or principal.user_id == student_id:
        return
    if student_id in reference.guardians.get(principal.user_id, ()):
        return
    raise HTTPException(status.HTTP_403_FORBIDDEN,
                        detail=f"you ({principal.user_id}) may not read student {student_id!r}: staff read any "
                               "student, students themselves and guardians their own children")


def require_staff(principal: Principal) -> None:
    if not principal.has_any(*STAFF_ROLES):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            detail=f"class and school views need a staff role {list(STAFF_ROLES)}; "
                                   f"you have {sorted(principal.roles)}")


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)
