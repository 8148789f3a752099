"""Class and school views for teachers and leaders: a section's heatmap, class and school summaries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from mosaic_mastery.adapters.queries import records_of
from mosaic_mastery.api.deps import Store, district_data, not_found
from mosaic_mastery.api.schemas import ClassSummary, Heatmap, SchoolSummary
from mosaic_mastery.domain.readouts import summaries
from mosaic_runtime.access import Rule, allow
from mosaic_runtime.app import Session

router = APIRouter(prefix="/v1/districts/{district_id}", tags=["sections and schools"])


@router.get("/sections/{section_id}/heatmap",
            response_model=Heatmap,
            summary="Students × competencies: level and estimate per cell",
            dependencies=[Depends(allow(Rule.SECTION_DATA))])
async def heatmap(district_id: str, section_id: str, session: Session,
                  store: Store) -> dict[str, Any]:
    reference, config = await district_data(session, store, district_id)
    if section_id not in reference.sections:
        raise not_found(f"section {section_id!r} is not on district {district_id!r}'s roster")
    students = sorted(reference.students_in(section_id))
    records = await records_of(session, district_id, students)
    followed = config.follows(section_id)
    competencies = list(followed) or sorted({r.competency_id for r in records},
                                            key=lambda c: (reference.competencies[c].sequence or 0, c)
                                            if c in reference.competencies else (1 << 30, c))
    cells = {(r.student_id, r.competency_id): r for r in records}
    rows = []
    for student in students:
        row = {}
        for c in competencies:
            r = cells.get((student, c))
            row[c] = None if r is None else {"level": r.level, "estimate": r.estimate, "trend": r.trend,
                                             "evidence_count": r.evidence_count}
        rows.append({"student_id": student, "name": reference.students.get(student), "cells": row})
    return {"district_id": district_id, "section_id": section_id, "grouping_competencies": list(followed),
            "competencies": [{"competency_id": c, "code": reference.competencies[c].code
                              if c in reference.competencies else None} for c in competencies],
            "levels": [lv.name for lv in config.scale.levels], "students": rows}


@router.get("/sections/{section_id}/summary",
            response_model=ClassSummary,
            summary="How a class stands on each competency",
            dependencies=[Depends(allow(Rule.SECTION_DATA))])
async def class_summary(district_id: str, section_id: str, session: Session,
                        store: Store) -> dict[str, Any]:
    reference, config = await district_data(session, store, district_id)
    if section_id not in reference.sections:
        raise not_found(f"section {section_id!r} is not on district {district_id!r}'s roster")
    students = set(reference.students_in(section_id))
    records = await records_of(session, district_id, students)
    return {"district_id": district_id, "section_id": section_id, "students": len(students),
            "competencies": summaries(students, records, config, reference)}


@router.get("/schools/{school_id}/summary",
            response_model=SchoolSummary,
            summary="How a school stands on each competency",
            dependencies=[Depends(allow(Rule.SCHOOL_DATA))])
async def school_summary(district_id: str, school_id: str, session: Session,
                         store: Store) -> dict[str, Any]:
    reference, config = await district_data(session, store, district_id)
    sections = [s for s in reference.sections.values() if s.school_id == school_id]
    if not sections:
        raise not_found(f"school {school_id!r} has no sections on district {district_id!r}'s roster")
    students = {st for s in sections for st in reference.students_in(s.id)}
    records = await records_of(session, district_id, students)
    return {"district_id": district_id, "school_id": school_id, "sections": len(sections), "students": len(students),
            "competencies": summaries(students, records, config, reference)}
