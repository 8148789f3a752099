"""Read a class or a school: a section's heatmap, class and school summaries."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_mastery.adapters.queries import records_of
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.readouts import summaries
from mosaic_mastery.service.read_district import Missing, district_data


async def heatmap(
    session: AsyncSession, store: ProjectionStore, district_id: str, section_id: str
) -> dict[str, Any] | Missing:
    """Students × competencies (the section's grouping competencies, else every one with evidence)."""
    reference, config = await district_data(session, store, district_id)
    if section_id not in reference.sections:
        return Missing(f"section {section_id!r} is not on district {district_id!r}'s roster")
    students = sorted(reference.students_in(section_id))
    records = await records_of(session, district_id, students)
    followed = config.follows(section_id)
    competencies = list(followed) or sorted(
        {r.competency_id for r in records},
        key=lambda c: (reference.competencies[c].sequence or 0, c) if c in reference.competencies else (1 << 30, c),
    )
    cells = {(r.student_id, r.competency_id): r for r in records}
    rows = []
    for student in students:
        row: dict[str, dict[str, Any] | None] = {}
        for c in competencies:
            r = cells.get((student, c))
            row[c] = (
                None
                if r is None
                else {"level": r.level, "estimate": r.estimate, "trend": r.trend, "evidence_count": r.evidence_count}
            )
        rows.append({"student_id": student, "name": reference.students.get(student), "cells": row})
    return {
        "district_id": district_id,
        "section_id": section_id,
        "grouping_competencies": list(followed),
        "competencies": [
            {"competency_id": c, "code": reference.competencies[c].code if c in reference.competencies else None}
            for c in competencies
        ],
        "levels": [lv.name for lv in config.scale.levels],
        "students": rows,
    }


async def class_summary(
    session: AsyncSession, store: ProjectionStore, district_id: str, section_id: str
) -> dict[str, Any] | Missing:
    reference, config = await district_data(session, store, district_id)
    if section_id not in reference.sections:
        return Missing(f"section {section_id!r} is not on district {district_id!r}'s roster")
    students = set(reference.students_in(section_id))
    records = await records_of(session, district_id, students)
    return {
        "district_id": district_id,
        "section_id": section_id,
        "students": len(students),
        "competencies": summaries(students, records, config, reference),
    }


async def school_summary(
    session: AsyncSession, store: ProjectionStore, district_id: str, school_id: str
) -> dict[str, Any] | Missing:
    reference, config = await district_data(session, store, district_id)
    sections = [s for s in reference.sections.values() if s.school_id == school_id]
    if not sections:
        return Missing(f"school {school_id!r} has no sections on district {district_id!r}'s roster")
    students = {st for s in sections for st in reference.students_in(s.id)}
    records = await records_of(session, district_id, students)
    return {
        "district_id": district_id,
        "school_id": school_id,
        "sections": len(sections),
        "students": len(students),
        "competencies": summaries(students, records, config, reference),
    }
