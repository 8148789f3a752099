"""A student's jagged profile and next learning targets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from mosaic_mastery.adapters.queries import student_records
from mosaic_mastery.api.deps import Store, district_data, not_found
from mosaic_mastery.api.schemas import NextTargets, Profile
from mosaic_mastery.domain.progressions import next_targets
from mosaic_mastery.domain.readouts import jagged_profile
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(prefix="/v1/districts/{district_id}/students/{student_id}", tags=["students"],
                   dependencies=[Depends(allow(Rule.STUDENT_DATA))])


@router.get("/profile",
            response_model=Profile,
            summary="Every competency: level, estimate, trend, evidence, and how the level was computed")
async def profile(district_id: str, student_id: str, session: Session,
                  store: Store) -> dict[str, Any]:
    reference, config = await district_data(session, store, district_id)
    records = await student_records(session, district_id, student_id)
    if not records and student_id not in reference.students:
        raise not_found(f"student {student_id!r} is neither on district {district_id!r}'s roster nor has evidence")
    entries = jagged_profile(student_id, records, config, reference)
    mastered = sum(1 for e in entries if e["mastered"])
    return {"district_id": district_id, "student_id": student_id, "name": reference.students.get(student_id),
            "scale": [{"name": lv.name, "threshold": lv.threshold} for lv in config.scale.levels],
            "mastery_level": config.scale.mastery_level_name, "mastered": mastered, "competencies": entries}


@router.get("/next-targets",
            response_model=NextTargets,
            summary="The best next learning targets: prerequisites met, not yet mastered")
async def targets(district_id: str, student_id: str, session: Session, store: Store,
                  limit: Annotated[int, Query(ge=1, le=50)] = 5) -> dict[str, Any]:
    reference, config = await district_data(session, store, district_id)
    records = await student_records(session, district_id, student_id)
    if not records and student_id not in reference.students:
        raise not_found(f"student {student_id!r} is neither on district {district_id!r}'s roster nor has evidence")
    found = next_targets(reference, records, config.scale, limit)
    return {"district_id": district_id, "student_id": student_id,
            "targets": [{"competency_id": t.competency_id, "code": t.code, "statement": t.statement,
                         "level": t.level, "estimate": t.estimate, "unlocks": t.unlocks,
                         "prerequisites": list(t.prerequisites), "reason": t.reason} for t in found]}
