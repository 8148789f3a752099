"""Tell a piece of news: record it and plan the notifications it calls for, in the consumer's transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from opentelemetry import propagate
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_events.catalog import MasteryChanged
from mosaic_notify.adapters import pace, store
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.contacts import Guardian
from mosaic_notify.domain.ids import notification_id
from mosaic_notify.domain.news import News, news_from_assignment, news_from_mastery
from mosaic_notify.domain.planning import plan_deliveries
from mosaic_notify.domain.preferences import Channel
from mosaic_notify.domain.rules import DistrictRules
from mosaic_notify.settings import NotifySettings


def current_trace_carrier() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


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
        planned += await plan_for(session, news, guardian, rules, now, settings)
    return planned


async def tell_mastery_change(
    session: AsyncSession, change: MasteryChanged, envelope: Envelope, now: datetime, settings: NotifySettings
) -> int:
    """A level change worth telling, in the framework's own words for the competency where we have them."""
    news = news_from_mastery(envelope)
    if news is None:
        return 0
    framework_name = await store.competency_name(session, envelope.district_id, change.competency_id)
    if framework_name:
        news = replace(news, competency_name=framework_name)
    return await tell(session, news, now, settings)


async def tell_group_change(session: AsyncSession, envelope: Envelope, now: datetime, settings: NotifySettings) -> int:
    """A move to another flex group is news each time it happens (leaving the block is not news yet)."""
    news = news_from_assignment(envelope)
    return 0 if news is None else await tell(session, news, now, settings)


async def tell_new_guardian(
    session: AsyncSession, guardian: Guardian, student_id: str, now: datetime, settings: NotifySettings
) -> int:
    """A guardian newly linked to a student hears the student's recent news (topics are not ordered
    with each other: a roster may arrive after the first mastery change it should have preceded)."""
    since = now - timedelta(hours=settings.max_news_age_hours)
    rules = await store.load_rules(session, guardian.district_id)
    planned = 0
    for news in await store.recent_news(session, guardian.district_id, student_id, since):
        planned += await plan_for(session, news, guardian, rules, now, settings)
    return planned


async def plan_for(
    session: AsyncSession, news: News, guardian: Guardian, rules: DistrictRules, now: datetime, settings: NotifySettings
) -> int:
    every_channel = [notification_id(news.news_id, guardian.guardian_id, c.value) for c in Channel]
    if await store.planned_for(session, news, guardian.guardian_id, every_channel):
        return 0  # told already (a roster linking them again, a replayed database resuming): once is enough
    prefs = await store.load_preferences(session, guardian, settings)
    plans = await pace.paced(
        session, news, guardian, prefs, rules, now, plan_deliveries(news, guardian, prefs, rules, now), settings
    )
    for plan in plans:
        if plan.digest:
            await store.insert_ignore(
                session,
                t.digest_items,
                {
                    "district_id": news.district_id,
                    "guardian_id": guardian.guardian_id,
                    "channel": plan.channel.value,
                    "news_id": news.news_id,
                    "due_at": plan.due_at,
                },
            )
            continue
        await store.insert_ignore(
            session,
            t.notifications,
            {
                "notification_id": notification_id(news.news_id, guardian.guardian_id, plan.channel.value),
                "district_id": news.district_id,
                "guardian_id": guardian.guardian_id,
                "channel": plan.channel.value,
                "news_kind": news.kind.value,
                "news_ids": [news.news_id],
                "digest": False,
                "urgent": rules.is_urgent(news.kind),
                "status": "pending",
                "due_at": plan.due_at,
                "attempts": 0,
                "created_at": now,
                "trace_context": current_trace_carrier(),
            },
        )
    return len(plans)
