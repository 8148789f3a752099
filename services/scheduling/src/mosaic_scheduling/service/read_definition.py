"""Read everything defined for a school's flex time, with the problems a validation finds."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import repository as repo
from mosaic_scheduling.domain.validation import validate_school


async def school_definition(db: AsyncSession, district_id: str, school_id: str) -> dict[str, Any]:
    school = await repo.load_school(db, district_id, school_id)
    return {
        "school_id": school_id,
        "publish_mode": await repo.publish_mode(db, district_id, school_id),
        "blocks": [_plain(b) for b in school.blocks],
        "rooms": [_plain(r) for r in school.rooms],
        "teachers": [_plain(x) for x in school.teachers],
        "sessions": [_plain(s) for s in school.sessions],
        "problems": [{"field": p.field, "message": p.message} for p in validate_school(school)],
    }


def _plain(item: Any) -> dict[str, Any]:
    return {k: (sorted(v) if isinstance(v, frozenset) else v) for k, v in asdict(item).items()}
