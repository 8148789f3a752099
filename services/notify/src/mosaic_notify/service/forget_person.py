"""A district erased a person: notify deletes every row about them, as guardian or as student (ADR 0019)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events.catalog import PersonErased
from mosaic_notify.adapters import erasure_store


async def forget_person(session: AsyncSession, district_id: str, erased: PersonErased) -> dict[str, int]:
    """Contacts, links, preferences, news, notifications, digests and their delivery log; returns the counts."""
    return await erasure_store.erase(session, district_id, erased.person_id)
