"""Feed URLs for calendar apps: make one (its token shown once), revoke one, find the feed a token opens."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters import feeds
from mosaic_scheduling.adapters.feeds import Feed


async def create_feed(
    db: AsyncSession, district_id: str, kind: str, subject_id: str, created_by: str
) -> tuple[str, str]:
    """The new feed's id and token."""
    async with db.begin():
        return await feeds.create_feed(db, district_id, kind, subject_id, created_by)


async def revoke_feed(db: AsyncSession, district_id: str, kind: str, subject_id: str, feed_id: str) -> bool:
    """False when there was no live feed with that id for that person."""
    async with db.begin():
        return await feeds.revoke_feed(db, district_id, kind, subject_id, feed_id)


async def feed_of(db: AsyncSession, token: str) -> Feed | None:
    """The live feed the token opens, or None."""
    return await feeds.feed_of(db, token)
