"""Turning due digest items into one digest notification per guardian and channel, idempotently."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_notify.adapters import store
from mosaic_notify.adapters import tables as t
from mosaic_notify.domain.ids import digest_notification_id

D = t.digest_items
GATHER_LOCK = 3  # the advisory lock's first key; mastery uses 1 and 2 in its own database


async def gather_due_digests(sessions: async_sessionmaker[AsyncSession], now: datetime) -> int:
    """Items due and not yet in a digest become one notification per (guardian, channel), in one transaction.

    The digest's id is derived from the items it gathers, so a crash before the commit gathers the same again.
    """
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            # Replicas gather one at a time: two reading different sets of due items would derive two digest
            # ids over overlapping items, and a guardian would read the same news twice.
            await session.execute(text("SELECT pg_advisory_xact_lock(:kind, 0)"), {"kind": GATHER_LOCK})
        rows = (await session.execute(select(D).where(D.c.digest_notification_id.is_(None), D.c.due_at <= now))).all()
        groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for row in rows:
            groups[(row.district_id, row.guardian_id, row.channel)].append(row.news_id)
        for (district_id, guardian_id, channel), news_ids in groups.items():
            notification_id = digest_notification_id(guardian_id, channel, news_ids)
            await store.insert_ignore(session, t.notifications, {
                "notification_id": notification_id, "district_id": district_id, "guardian_id": guardian_id,
                "channel": channel, "news_kind": "digest", "news_ids": sorted(news_ids), "digest": True,
                "urgent": False, "status": "pending", "due_at": now, "attempts": 0, "created_at": now})
            await session.execute(update(D).where(
                D.c.district_id == district_id, D.c.guardian_id == guardian_id, D.c.channel == channel,
                D.c.news_id.in_(news_ids), D.c.digest_notification_id.is_(None),
            ).values(digest_notification_id=notification_id))
    return len(groups)
