"""What every read shares: the district's data, and the answer when the roster lacks who was asked for."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.reference import DistrictReference


@dataclass(frozen=True)
class Missing:
    detail: str


async def district_data(
    session: AsyncSession, store: ProjectionStore, district_id: str
) -> tuple[DistrictReference, DistrictConfig]:
    """The district's roster and framework slice, and its mastery configuration."""
    reference = (await store.references(session, [district_id]))[district_id]
    config = (await store.configs(session, [district_id]))[district_id]
    return reference, config


async def district_settings(session: AsyncSession, store: ProjectionStore, district_id: str) -> DistrictSettings:
    """The district's mastery settings (defaults until changed)."""
    _, config = await district_data(session, store, district_id)
    return config.settings
