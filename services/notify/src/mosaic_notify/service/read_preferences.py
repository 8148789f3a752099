"""Read what the portals show a family: preferences, the district's rules, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import store
from mosaic_notify.domain.preferences import Preferences
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.settings import NotifySettings


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: str
    outcome: str
    detail: str


@dataclass(frozen=True)
class SentMessage:
    notification_id: str
    channel: str
    news_kind: str
    digest: bool
    status: str
    due_at: str
    attempts: int
    log: list[Attempt]


async def guardian_preferences(
    session: AsyncSession, district_id: str, guardian_id: str, settings: NotifySettings
) -> Preferences | None:
    """The guardian's preferences (defaults until set), or None when the roster has no such guardian."""
    guardian = await store.load_guardian(session, district_id, guardian_id)
    return None if guardian is None else await store.load_preferences(session, guardian, settings)


async def guardian_language(session: AsyncSession, district_id: str, guardian_id: str) -> str | None:
    guardian = await store.load_guardian(session, district_id, guardian_id)
    return guardian.language if guardian else None


async def district_rules(session: AsyncSession, district_id: str) -> DistrictRules:
    return await store.load_rules(session, district_id)


async def delivery_log(session: AsyncSession, district_id: str, guardian_id: str, limit: int) -> list[SentMessage]:
    """Each message to this guardian, newest first, with every attempt to deliver it."""
    return [
        SentMessage(
            notification_id=r.notification_id,
            channel=r.channel,
            news_kind=r.news_kind,
            digest=r.digest,
            status=r.status,
            due_at=r.due_at.isoformat(),
            attempts=r.attempts,
            log=[Attempt(attempt=e.attempt, at=e.at.isoformat(), outcome=e.outcome, detail=e.detail) for e in entries],
        )
        for r, entries in await store.notifications_with_log(session, district_id, guardian_id, limit)
    ]
