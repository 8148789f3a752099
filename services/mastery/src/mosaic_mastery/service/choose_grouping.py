"""A section chooses which competencies its flexible groups follow: a settings change for its district."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.service.change_settings import store_and_recalculate


@dataclass(frozen=True)
class GroupingChosen:
    section_id: str
    competency_ids: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class UnknownSection:
    detail: str


@dataclass(frozen=True)
class UnknownCompetencies:
    detail: str


async def choose_grouping(
    session: AsyncSession, store: ProjectionStore, district_id: str, section_id: str, competency_ids: tuple[str, ...]
) -> GroupingChosen | UnknownSection | UnknownCompetencies:
    """Get the district's roster and framework, check the choice, commit it; an empty choice clears it."""
    async with session.begin():
        reference = (await store.references(session, [district_id]))[district_id]
        config = (await store.configs(session, [district_id]))[district_id]
        if section_id not in reference.sections:
            return UnknownSection(f"section {section_id!r} is not on district {district_id!r}'s roster")
        unknown = [c for c in competency_ids if c not in reference.competencies]
        if unknown:
            return UnknownCompetencies(f"competency_ids {unknown} are not in the district's published frameworks")
        grouping = {**config.settings.grouping_competencies, section_id: tuple(dict.fromkeys(competency_ids))}
        if not competency_ids:
            grouping.pop(section_id)
        new = config.settings.model_copy(update={"grouping_competencies": grouping})
        change = await store_and_recalculate(session, store, district_id, new)
    return GroupingChosen(section_id, grouping.get(section_id, ()), change.version)
