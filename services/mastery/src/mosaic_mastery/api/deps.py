"""What the mastery routes share: the projection store, district data, and who may read whom."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig
from mosaic_mastery.domain.reference import DistrictReference


def projection_store(request: Request) -> ProjectionStore:
    return request.app.state.ctx.state.setdefault("store", ProjectionStore())


Store = Annotated[ProjectionStore, Depends(projection_store)]


async def district_data(session: AsyncSession, store: ProjectionStore,
                        district_id: str) -> tuple[DistrictReference, DistrictConfig]:
    reference = (await store.references(session, [district_id]))[district_id]
    config = (await store.configs(session, [district_id]))[district_id]
    return reference, config


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=what)
