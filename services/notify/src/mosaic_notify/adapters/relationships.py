"""Who relates to whom, as notify's contacts say: guardians and their students (for the access policy).

Notify knows no schools or sections, so school administrators and teachers reach nothing here that is
about one family; they go through district administrators or a portal's service account.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import tables as t
from mosaic_runtime.access import CallerLinks, Target


class ContactRelationships:
    """Reads guardians and their students of one district."""

    def __init__(self, session: AsyncSession, district_id: str) -> None:
        self.session = session
        self.district_id = district_id

    async def caller(self, person_id: str) -> CallerLinks:
        link = t.guardian_students
        children = (
            await self.session.scalars(
                select(link.c.student_id).where(link.c.district_id == self.district_id, link.c.guardian_id == person_id)
            )
        ).all()
        return CallerLinks(children=frozenset(children))

    async def target(self, kind: str, target_id: str) -> Target | None:
        if kind == "guardian":
            known = await self.session.scalar(
                select(t.guardians.c.guardian_id).where(
                    t.guardians.c.district_id == self.district_id, t.guardians.c.guardian_id == target_id
                )
            )
            return None if known is None else Target(kind, target_id, people=frozenset({target_id}))
        return None
