"""Read one student's progress: the jagged profile and the next learning targets."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.queries import student_records
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.progressions import next_targets
from mosaic_mastery.domain.readouts import jagged_profile
from mosaic_mastery.service.read_district import Missing, district_data


def _unknown(district_id: str, student_id: str) -> Missing:
    return Missing(f"student {student_id!r} is neither on district {district_id!r}'s roster nor has evidence")


async def profile(
    session: AsyncSession, store: ProjectionStore, district_id: str, student_id: str
) -> dict[str, Any] | Missing:
    """Every competency's level, estimate, trend and evidence, with the district's scale."""
    reference, config = await district_data(session, store, district_id)
    records = await student_records(session, district_id, student_id)
    if not records and student_id not in reference.students:
        return _unknown(district_id, student_id)
    entries = jagged_profile(student_id, records, config, reference)
    mastered = sum(1 for e in entries if e["mastered"])
    return {
        "district_id": district_id,
        "student_id": student_id,
        "name": reference.students.get(student_id),
        "scale": [{"name": lv.name, "threshold": lv.threshold} for lv in config.scale.levels],
        "mastery_level": config.scale.mastery_level_name,
        "mastered": mastered,
        "competencies": entries,
    }


async def targets(
    session: AsyncSession, store: ProjectionStore, district_id: str, student_id: str, limit: int
) -> dict[str, Any] | Missing:
    """The best next learning targets: prerequisites met, not yet mastered."""
    reference, config = await district_data(session, store, district_id)
    records = await student_records(session, district_id, student_id)
    if not records and student_id not in reference.students:
        return _unknown(district_id, student_id)
    found = next_targets(reference, records, config.scale, limit)
    return {
        "district_id": district_id,
        "student_id": student_id,
        "targets": [
            {
                "competency_id": t.competency_id,
                "code": t.code,
                "statement": t.statement,
                "level": t.level,
                "estimate": t.estimate,
                "unlocks": t.unlocks,
                "prerequisites": list(t.prerequisites),
                "reason": t.reason,
            }
            for t in found
        ],
    }
