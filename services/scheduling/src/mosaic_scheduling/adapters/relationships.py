"""Who relates to whom, as scheduling's roster view and flex-time definitions say (for the access policy)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.roles import GUARDIAN_ROLES, TEACHER_ROLES
from mosaic_runtime.access import CallerLinks, Target
from mosaic_scheduling.adapters import tables as t


class ScheduleRelationships:
    """Reads roster people, enrollments, blocks and sessions of one district."""

    def __init__(self, session: AsyncSession, district_id: str) -> None:
        self.session = session
        self.district_id = district_id

    async def caller(self, person_id: str) -> CallerLinks:
        person = await self._row(t.roster_people, person_id)
        schools, taught, _ = await self._links(person_id, person)
        flex = await self.session.scalar(
            select(t.teachers.c.school_id).where(
                t.teachers.c.district_id == self.district_id, t.teachers.c.id == person_id
            )
        )
        children = (
            frozenset(person.related_ids or ()) if person is not None and person.role in GUARDIAN_ROLES else frozenset()
        )
        return CallerLinks(schools=schools | ({flex} if flex else set()), sections=taught, children=children)

    async def target(self, kind: str, target_id: str) -> Target | None:
        if kind in ("student", "person", "guardian", "teacher"):
            return await self._person(kind, target_id)
        if kind == "block":
            return await self._block(kind, target_id, target_id)
        if kind == "session":
            block_id = await self.session.scalar(
                select(t.sessions.c.block_id).where(
                    t.sessions.c.district_id == self.district_id, t.sessions.c.id == target_id
                )
            )
            return None if block_id is None else await self._block(kind, target_id, block_id)
        if kind in ("room", "section"):
            table = t.rooms if kind == "room" else t.roster_sections
            row = await self._row(table, target_id)
            return (
                None
                if row is None
                else Target(
                    kind,
                    target_id,
                    schools=frozenset({row.school_id}),
                    sections=frozenset({target_id} if kind == "section" else ()),
                )
            )
        if kind == "school":
            return Target(kind, target_id, schools=frozenset({target_id}))
        return None

    async def _person(self, kind: str, person_id: str) -> Target | None:
        person = await self._row(t.roster_people, person_id)
        flex = await self._row(t.teachers, person_id) if kind == "teacher" else None
        schools, _, enrolled = await self._links(person_id, person)
        if person is None and flex is None and not enrolled:
            return None
        return Target(
            kind,
            person_id,
            schools=schools | ({flex.school_id} if flex else set()),
            sections=enrolled,
            people=frozenset({person_id}),
        )

    async def _block(self, kind: str, target_id: str, block_id: str) -> Target | None:
        block = await self._row(t.blocks, block_id)
        if block is None:
            return None
        leaders = (
            await self.session.scalars(
                select(t.sessions.c.teacher_id).where(
                    t.sessions.c.district_id == self.district_id, t.sessions.c.block_id == block_id
                )
            )
        ).all()
        return Target(
            kind,
            target_id,
            schools=frozenset({block.school_id}),
            sections=frozenset(block.section_ids or ()),
            leaders=frozenset(x for x in leaders if x),
        )

    async def _row(self, table: Any, row_id: str) -> Any:
        return (
            await self.session.execute(
                select(table).where(table.c.district_id == self.district_id, table.c.id == row_id)
            )
        ).first()

    async def _links(self, person_id: str, person: Any) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(schools, sections taught, sections enrolled in) of one person."""
        e, s = t.roster_enrollments, t.roster_sections
        rows = (
            await self.session.execute(
                select(e.c.section_id, e.c.role, s.c.school_id)
                .outerjoin(s, (s.c.district_id == e.c.district_id) & (s.c.id == e.c.section_id))
                .where(e.c.district_id == self.district_id, e.c.user_id == person_id)
            )
        ).all()
        schools = frozenset(person.school_ids or ()) if person is not None else frozenset()
        return (
            schools | {r.school_id for r in rows if r.school_id},
            frozenset(r.section_id for r in rows if r.role in TEACHER_ROLES),
            frozenset(r.section_id for r in rows),
        )
