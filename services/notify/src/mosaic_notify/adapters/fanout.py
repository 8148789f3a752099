"""Recording a piece of news and the notifications it calls for, in the consumer's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.ids import notification_id
from mosaic_notify.domain.news import News
from mosaic_notify.domain.planning import plan_deliveries
from mosaic_notify.settings import NotifySettings


async def tell(session: AsyncSession, news: News, now: datetime, settings: NotifySettings) -> int:
    """Plan the news for each of the student's guardians; returns how many deliveries were planned.

    Everything is keyed by derived ids and inserted only if absent, so a re-sent or replayed event adds nothing.
    """
    if not await store.add_news(session, news):
        return 0
    if now - news.occurred_at > timedelta(hours=settings.max_news_age_hours):
        return 0  # a replay or a long outage: recorded, but old news is not told
    rules = await store.load_rules(session, news.district_id)
    planned = 0
    for guardian in await store.guardians_of(session, news.district_id, news.student_id):
        prefs = await store.load_preferences(session, guardian, settings.default_timezone)
        for plan in plan_deliveries(news, guardian, prefs, rules, now):
            planned += 1
            if plan.digest:
                await store.insert_ignore(session, t.digest_items, {
                    "district_id": news.district_id, "guardian_id": guardian.guardian_id,
                    "channel": plan.channel.value, "news_id": news.news_id, "due_at": plan.due_at})
                continue
            await store.insert_ignore(session, t.notifications, {
                "notification_id": notification_id(news.news_id, guardian.guardian_id, plan.channel.value),
                "district_id": news.district_id, "guardian_id": guardian.guardian_id, "channel": plan.channel.value,
                "news_kind": news.kind.value, "news_ids": [news.news_id], "digest": False,
                "urgent": rules.is_urgent(news.kind), "status": "pending", "due_at": plan.due_at, "attempts": 0,
                "created_at": now})
    return planned
