"""Does what a write names exist? Schools and students come from the roster scheduling folds from
mosaic.reference.v1 (or, for a school, its own definition); a write naming neither is refused."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import tables as t


async def school_exists(session: AsyncSession, district_id: str, school_id: str) -> bool:
    """Defined here, or named by the roster (a section's school or a person's)."""
    if await session.scalar(
        select(t.schools.c.id).where(t.schools.c.district_id == district_id, t.schools.c.id == school_id)
    ):
        return True
    if await session.scalar(
        select(t.roster_sections.c.id)
        .where(t.roster_sections.c.district_id == district_id, t.roster_sections.c.school_id == school_id)
        .limit(1)
    ):
        return True
    people = await session.scalars(
        select(t.roster_people.c.school_ids).where(t.roster_people.c.district_id == district_id)
    )
    return any(school_id in (ids or ()) for ids in people)


async def unknown_students(session: AsyncSession, district_id: str, student_ids: list[str]) -> list[str]:
    """Those of `student_ids` the roster does not list as students, in the order given."""
    wanted = sorted(set(student_ids))
    p, e = t.roster_people, t.roster_enrollments
    known = set(
        (
            await session.scalars(
                select(p.c.id).where(p.c.district_id == district_id, p.c.id.in_(wanted), p.c.role == "student")
            )
        ).all()
    )
    known |= set(
        (
            await session.scalars(
                select(e.c.user_id).where(
                    e.c.district_id == district_id, e.c.user_id.in_(wanted), e.c.role == "student"
                )
            )
        ).all()
    )
    return [s for s in dict.fromkeys(student_ids) if s not in known]


async def has_roster(session: AsyncSession, district_id: str) -> bool:
    """Whether any roster of the district reached scheduling: only then can it call a student unknown."""
    p = t.roster_people
    return bool(await session.scalar(select(p.c.id).where(p.c.district_id == district_id).limit(1)))


async def section_exists(session: AsyncSession, district_id: str, section_id: str) -> bool | None:
    """Whether the roster lists the section; None when the district has no section at all yet."""
    s = t.roster_sections
    found = await session.scalar(select(s.c.id).where(s.c.district_id == district_id, s.c.id == section_id))
    if found:
        return True
    return None if not await session.scalar(select(s.c.id).where(s.c.district_id == district_id).limit(1)) else False


async def is_student(session: AsyncSession, district_id: str, person_id: str) -> bool:
    p = t.roster_people
    role = await session.scalar(select(p.c.role).where(p.c.district_id == district_id, p.c.id == person_id))
    return role == "student"


async def unknown_sections(session: AsyncSession, district_id: str, section_ids: list[str]) -> list[str]:
    """Those of `section_ids` the roster does not list, in the order given."""
    s = t.roster_sections
    known = set(
        (
            await session.scalars(
                select(s.c.id).where(s.c.district_id == district_id, s.c.id.in_(sorted(set(section_ids))))
            )
        ).all()
    )
    return [x for x in dict.fromkeys(section_ids) if x not in known]
