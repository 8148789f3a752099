"""Who relates to whom, as evidence's roster tables say: the access policy's view of this service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.roles import GUARDIAN_ROLES, TEACHER_ROLES
from mosaic_evidence.adapters.reference_cache import ACCESS_CHECK_MAX_AGE, DistrictReference, ReferenceCache
from mosaic_evidence.adapters.tables import enrollments, evidence, people, person_schools, sections
from mosaic_runtime.access import CallerLinks, Target


class RosterRelationships:
    """Reads the roster this service imported (through the process' ReferenceCache, where given); one instance
    per checked request."""

    def __init__(self, session: AsyncSession, district_id: str, cache: ReferenceCache | None = None) -> None:
        self.session = session
        self.district_id = district_id
        self.cache = cache
        self._known: DistrictReference | None = None

    async def caller(self, person_id: str) -> CallerLinks:
        person = await self._person(person_id)
        schools, taught, _ = await self._links(person_id)
        children = (
            frozenset(person.get("related_ids") or ()) if person and person["role"] in GUARDIAN_ROLES else frozenset()
        )
        return CallerLinks(schools=schools, sections=taught, children=children)

    async def target(self, kind: str, target_id: str) -> Target | None:
        if kind in ("student", "person", "guardian"):
            return await self._person_target(kind, target_id, target_id)
        if kind == "evidence":
            student = await self.session.scalar(
                select(evidence.c.student_id).where(
                    evidence.c.district_id == self.district_id, evidence.c.evidence_id == target_id
                )
            )
            return None if student is None else await self._person_target(kind, target_id, student)
        if kind == "section":
            school = await self.session.scalar(
                select(sections.c.school_id).where(
                    sections.c.district_id == self.district_id, sections.c.id == target_id
                )
            )
            return (
                None
                if school is None
                else Target(kind, target_id, schools=frozenset({school}), sections=frozenset({target_id}))
            )
        if kind == "school":
            return Target(kind, target_id, schools=frozenset({target_id}))
        return None

    async def _person_target(self, kind: str, target_id: str, person_id: str) -> Target | None:
        if await self._person(person_id) is None:
            return None
        schools, _, enrolled = await self._links(person_id)
        return Target(kind, target_id, schools=schools, sections=enrolled, people=frozenset({person_id}))

    async def _cached(self, person_id: str) -> DistrictReference | None:
        if self.cache is None:
            return None
        if self._known is None:
            self._known = await self.cache.district(self.session, self.district_id, max_age=ACCESS_CHECK_MAX_AGE)
        await self.cache.load_people(self.session, self._known, [person_id])
        return self._known

    async def _person(self, person_id: str) -> dict | None:
        if known := await self._cached(person_id):
            return known.people[person_id]
        return await self.session.scalar(
            select(people.c.data).where(people.c.district_id == self.district_id, people.c.id == person_id)
        )

    async def _links(self, person_id: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(schools, sections taught, sections enrolled in) of one person."""
        if known := await self._cached(person_id):
            rows: Sequence[Any] = known.enrollments[person_id]
            listed: Iterable[str] = known.listed_schools[person_id]
        else:
            rows = (
                await self.session.execute(
                    select(enrollments.c.section_id, enrollments.c.school_id, enrollments.c.role).where(
                        enrollments.c.district_id == self.district_id, enrollments.c.user_id == person_id
                    )
                )
            ).all()
            listed = (
                await self.session.execute(
                    select(person_schools.c.school_id).where(
                        person_schools.c.district_id == self.district_id, person_schools.c.person_id == person_id
                    )
                )
            ).scalars()
        schools = frozenset(listed) | {r.school_id for r in rows}
        return (
            schools,
            frozenset(r.section_id for r in rows if r.role in TEACHER_ROLES),
            frozenset(r.section_id for r in rows),
        )
