"""A district changes its settings: store them, and when the calculation changed, recalculate the district
and put every resulting level change in the outbox (marked as a recalculation) — one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.emissions import caused_by_settings
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.config import DistrictConfig, DistrictSettings
from mosaic_mastery.domain.projection import LevelChanged, recalculate
from mosaic_runtime.publishing import to_outbox


@dataclass(frozen=True)
class SettingsChange:
    version: int
    recalculated: bool
    level_changes: int
    regroups: int


async def change_settings(
    session: AsyncSession, store: ProjectionStore, district_id: str, settings: DistrictSettings
) -> SettingsChange:
    """Get, decide and commit in one transaction; the recalculation's events are in the outbox."""
    async with session.begin():
        return await store_and_recalculate(session, store, district_id, settings)


async def store_and_recalculate(
    session: AsyncSession, store: ProjectionStore, district_id: str, settings: DistrictSettings
) -> SettingsChange:
    """Inside the caller's transaction: save the settings; recalculate only when the calculation changed."""
    old = (await store.configs(session, [district_id]))[district_id].settings
    version = await store.save_settings(session, district_id, settings)
    if old.calculation_fingerprint() == settings.calculation_fingerprint():
        return SettingsChange(version, False, 0, 0)
    state = await store.load_district(session, district_id, settings)
    now = datetime.now(UTC)
    emissions = recalculate(state, district_id, DistrictConfig(settings), now)
    await store.save(session, state)
    await to_outbox(session, [caused_by_settings(emission, district_id, version, now) for emission in emissions])
    changes = sum(isinstance(e, LevelChanged) for e in emissions)
    return SettingsChange(version, True, changes, len(emissions) - changes)
