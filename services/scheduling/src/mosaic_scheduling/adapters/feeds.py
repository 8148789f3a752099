"""Calendar feed tokens: a calendar app can only fetch a URL, so each feed gets its own secret.

A feed token reads one calendar and nothing else, can be revoked, and is stored only as its SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_scheduling.adapters.tables import feed_tokens


@dataclass(frozen=True)
class Feed:
    district_id: str
    subject_kind: str
    subject_id: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_feed(
    session: AsyncSession, district_id: str, kind: str, subject_id: str, created_by: str
) -> tuple[str, str]:
    """(feed id, token): the token is shown once; only its digest is kept."""
    token, feed_id = secrets.token_urlsafe(32), uuid.uuid4().hex
    await session.execute(
        feed_tokens.insert().values(
            token_hash=digest(token),
            feed_id=feed_id,
            district_id=district_id,
            subject_kind=kind,
            subject_id=subject_id,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
    )
    return feed_id, token


async def revoke_feed(session: AsyncSession, district_id: str, kind: str, subject_id: str, feed_id: str) -> bool:
    t = feed_tokens
    result = await session.execute(
        update(t)
        .where(
            t.c.district_id == district_id,
            t.c.subject_kind == kind,
            t.c.subject_id == subject_id,
            t.c.feed_id == feed_id,
            t.c.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


async def feed_of(session: AsyncSession, token: str) -> Feed | None:
    """The calendar a live token reads, or None (unknown or revoked: the caller cannot tell which)."""
    t = feed_tokens
    row = (
        await session.execute(
            select(t.c.district_id, t.c.subject_kind, t.c.subject_id).where(
                t.c.token_hash == digest(token), t.c.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else Feed(row.district_id, row.subject_kind, row.subject_id)
