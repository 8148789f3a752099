"""Who relates to whom, as mastery's reference projection says: the access policy's view of this service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.roles import TEACHER_ROLES
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.domain.reference import DistrictReference
from mosaic_runtime.access import CallerLinks, Target


class ReferenceRelationships:
    """Reads the district's reference (rosters folded from RosterChanged) through the projection store."""

    def __init__(self, session: AsyncSession, district_id: str, store: ProjectionStore) -> None:
        self.session = session
        self.district_id = district_id
        self.store = store

    async def _reference(self) -> DistrictReference:
        return (await self.store.references(self.session, [self.district_id]))[self.district_id]

    async def caller(self, person_id: str) -> CallerLinks:
        ref = await self._reference()
        enrolled = {section: role for (section, user), role in ref.enrollments.items() if user == person_id}
        taught = frozenset(s for s, role in enrolled.items() if role in TEACHER_ROLES)
        return CallerLinks(
            schools=_schools(ref, person_id, enrolled),
            sections=taught,
            children=frozenset(ref.guardians.get(person_id, ())),
        )

    async def target(self, kind: str, target_id: str) -> Target | None:
        ref = await self._reference()
        if kind in ("student", "person", "guardian"):
            enrolled = {section: role for (section, user), role in ref.enrollments.items() if user == target_id}
            if not enrolled and target_id not in ref.students and target_id not in ref.schools:
                return None
            return Target(
                kind,
                target_id,
                schools=_schools(ref, target_id, enrolled),
                sections=frozenset(enrolled),
                people=frozenset({target_id}),
            )
        if kind == "section":
            section = ref.sections.get(target_id)
            return (
                None
                if section is None
                else Target(kind, target_id, schools=frozenset({section.school_id}), sections=frozenset({target_id}))
            )
        if kind == "school":
            return Target(kind, target_id, schools=frozenset({target_id}))
        return None


def _schools(ref: DistrictReference, person_id: str, enrolled: dict[str, str]) -> frozenset[str]:
    return frozenset(ref.schools.get(person_id, ())) | {
        ref.sections[s].school_id for s in enrolled if s in ref.sections
    }
