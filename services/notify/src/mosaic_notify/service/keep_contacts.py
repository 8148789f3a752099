"""Keep the families' contacts and the competencies' names current; a newly linked guardian hears recent news."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import FrameworkPublished, PersonDetailsChanged, RosterChanged
from mosaic_notify.adapters import store
from mosaic_notify.domain.contacts import contacts_from_roster, reachable_from
from mosaic_notify.service.tell_news import tell_new_guardian
from mosaic_notify.settings import NotifySettings


async def keep_roster(
    session: AsyncSession, district_id: str, roster: RosterChanged, now: datetime, settings: NotifySettings
) -> None:
    """Save students and guardians, link them, remove who left; in the consumer's transaction."""
    contacts = contacts_from_roster(district_id, roster)
    for student in contacts.students:
        await store.save_student(session, student)
    for guardian in contacts.guardians:
        for student_id in await store.save_guardian(session, guardian):
            # as stored: the roster carries no contacts (they come from the people topic), the table has them
            stored = await store.load_guardian(session, district_id, guardian.guardian_id)
            if stored is not None:
                await tell_new_guardian(session, stored, student_id, now, settings)
    for guardian_id, student_id in contacts.other_links:
        if await store.link_guardian(session, district_id, guardian_id, student_id):
            linked = await store.load_guardian(session, district_id, guardian_id)
            if linked is not None:
                await tell_new_guardian(session, linked, student_id, now, settings)
    await store.remove_people(session, district_id, contacts.removed_ids)


async def keep_details(session: AsyncSession, district_id: str, details: PersonDetailsChanged) -> None:
    """How to reach a guardian and what to call a student: from the erasable people topic only."""
    await store.save_reachable(session, reachable_from(district_id, details))


async def keep_competency_names(session: AsyncSession, district_id: str, framework: FrameworkPublished) -> None:
    """The words a family reads for a competency: its short statement where the framework has one."""
    for c in framework.competencies:
        await store.save_competency(session, district_id, c.id, c.code, c.abbreviated_statement or c.statement)
