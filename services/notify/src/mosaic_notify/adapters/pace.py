"""The counts behind pacing (domain/pace.py), read under a row lock in the consumer's transaction.

Each count's row is created first if absent, then locked (SELECT ... FOR UPDATE on PostgreSQL; SQLite has
one writer at a time), so two replicas planning for the same guardian decide one after the other, and the
decision commits or rolls back with the consumed offsets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import tables as t
from mosaic_notify.adapters.store import insert_ignore
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.news import News
from mosaic_notify.domain.pace import instant_day, pace_plan, repeat_key, told_too_recently
from mosaic_notify.domain.planning import PlannedDelivery
from mosaic_notify.domain.preferences import Preferences
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.settings import NotifySettings

TOLD, COUNTS = t.told_news, t.instant_counts
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


async def paced(
    session: AsyncSession,
    news: News,
    guardian: Guardian,
    prefs: Preferences,
    rules: DistrictRules,
    now: datetime,
    plans: list[PlannedDelivery],
    settings: NotifySettings,
) -> list[PlannedDelivery]:
    """The plans as they should go: none when this guardian heard the same news within the window;
    past the day's cap of instant messages, into the channel's next digest."""
    window, cap = rules.pace_limits(settings.default_repeat_window_hours, settings.default_daily_instant_cap)
    if plans and (key := repeat_key(news)):
        if told_too_recently(await last_told(session, guardian, key), news, window):
            return []
        await mark_told(session, guardian, key, news)
    paced_plans = []
    for plan in plans:
        if not plan.digest:
            day = instant_day(plan, prefs)
            sent = await instant_sent(session, guardian, plan.channel.value, day)
            plan = pace_plan(plan, sent, rules.is_urgent(news.kind), prefs, cap, now)
            if not plan.digest:
                await count_instant(session, guardian, plan.channel.value, day)
        paced_plans.append(plan)
    return paced_plans


async def last_told(session: AsyncSession, guardian: Guardian, key: str) -> datetime | None:
    """When this guardian was last told the news under `key`; the row stays locked until the commit."""
    await insert_ignore(
        session,
        TOLD,
        {
            "district_id": guardian.district_id,
            "guardian_id": guardian.guardian_id,
            "news_key": key,
            "told_at": NEVER,
            "news_id": "",
        },
    )
    told_at = await session.scalar(select(TOLD.c.told_at).where(*_told(guardian, key)).with_for_update())
    return None if told_at is None or told_at == NEVER else told_at


async def mark_told(session: AsyncSession, guardian: Guardian, key: str, news: News) -> None:
    await session.execute(
        update(TOLD).where(*_told(guardian, key)).values(told_at=news.occurred_at, news_id=news.news_id)
    )


async def instant_sent(session: AsyncSession, guardian: Guardian, channel: str, day: date) -> int:
    """Instant messages planned for the guardian on this channel and local day; locked until the commit."""
    await insert_ignore(
        session,
        COUNTS,
        {
            "district_id": guardian.district_id,
            "guardian_id": guardian.guardian_id,
            "channel": channel,
            "day": day.isoformat(),
            "sent": 0,
        },
    )
    return await session.scalar(select(COUNTS.c.sent).where(*_count(guardian, channel, day)).with_for_update()) or 0


async def count_instant(session: AsyncSession, guardian: Guardian, channel: str, day: date) -> None:
    await session.execute(update(COUNTS).where(*_count(guardian, channel, day)).values(sent=COUNTS.c.sent + 1))


def _told(guardian: Guardian, key: str) -> tuple:
    return (
        TOLD.c.district_id == guardian.district_id,
        TOLD.c.guardian_id == guardian.guardian_id,
        TOLD.c.news_key == key,
    )


def _count(guardian: Guardian, channel: str, day: date) -> tuple:
    return (
        COUNTS.c.district_id == guardian.district_id,
        COUNTS.c.guardian_id == guardian.guardian_id,
        COUNTS.c.channel == channel,
        COUNTS.c.day == day.isoformat(),
    )
