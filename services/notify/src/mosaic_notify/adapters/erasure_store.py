"""Deleting one person from notify's tables, whether they were a guardian or a student."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_notify.adapters import tables as t


async def erase(session: AsyncSession, district_id: str, person_id: str) -> dict[str, int]:
    """Every row naming the person, and the notifications about news of theirs; returns rows deleted per table."""
    news_ids = set(
        (
            await session.execute(
                select(t.news.c.news_id).where(t.news.c.district_id == district_id, t.news.c.student_id == person_id)
            )
        ).scalars()
    )
    notes = (
        await session.execute(
            select(t.notifications.c.notification_id, t.notifications.c.guardian_id, t.notifications.c.news_ids).where(
                t.notifications.c.district_id == district_id
            )
        )
    ).all()
    notification_ids = [
        n.notification_id for n in notes if n.guardian_id == person_id or news_ids & set(n.news_ids or ())
    ]
    counts = {
        "delivery_log": await _delete(session, t.delivery_log, t.delivery_log.c.notification_id.in_(notification_ids)),
        "notifications": await _delete(
            session, t.notifications, t.notifications.c.notification_id.in_(notification_ids)
        ),
        "digest_items": await _delete(
            session,
            t.digest_items,
            (t.digest_items.c.district_id == district_id)
            & ((t.digest_items.c.guardian_id == person_id) | t.digest_items.c.news_id.in_(news_ids)),
        ),
        "news": await _delete(session, t.news, t.news.c.news_id.in_(news_ids)),
        "preferences": await _delete(
            session,
            t.preferences,
            (t.preferences.c.district_id == district_id) & (t.preferences.c.guardian_id == person_id),
        ),
        "links": await _delete(
            session,
            t.guardian_students,
            (t.guardian_students.c.district_id == district_id)
            & ((t.guardian_students.c.guardian_id == person_id) | (t.guardian_students.c.student_id == person_id)),
        ),
        "guardians": await _delete(
            session, t.guardians, (t.guardians.c.district_id == district_id) & (t.guardians.c.guardian_id == person_id)
        ),
        "students": await _delete(
            session, t.students, (t.students.c.district_id == district_id) & (t.students.c.student_id == person_id)
        ),
    }
    return counts


async def _delete(session: AsyncSession, table: Any, where: Any) -> int:
    result = await session.execute(delete(table).where(where))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
