"""Notify's handler map on FastStream's in-memory broker: roster, framework and mastery events in, the news and
the deliveries it plans out (nothing is sent: the delivery worker is not running).

The same wiring as production (`setup_consumers`), a real database, no Kafka; test_notify_service.py covers
what only a real broker and SMTP server show.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mosaic_dev.handler_harness import HandlerHarness, handler_harness
from mosaic_events import Envelope, new_envelope
from mosaic_events.catalog import Competency, FrameworkPublished, MasteryChanged, Person, RosterChanged
from mosaic_notify.adapters import tables as t
from mosaic_notify.consumers import setup_consumers
from mosaic_notify.main import MIGRATIONS
from mosaic_notify.settings import NotifySettings

DISTRICT, SCHOOL = "d-handlers", "school-1"
NOON_IN_CHICAGO = datetime(2026, 10, 14, 17, 0, tzinfo=UTC)  # outside the default quiet hours


@pytest.fixture
async def harness(database_url: str) -> AsyncIterator[HandlerHarness]:
    settings = NotifySettings(database_url=database_url, kafka_enabled=False, delivery_enabled=False)
    async with handler_harness(settings, MIGRATIONS, lambda ctx: setup_consumers(ctx, lambda: NOON_IN_CHICAGO)) as h:
        roster = RosterChanged(import_id="sis-1", school_id=SCHOOL, people=(
            Person(id="lu", role="student", given_name="Lucía", family_name="Ortiz"),
            Person(id="g-ortiz", role="parent", given_name="Ana", family_name="Ortiz", email="ana@example.org",
                   preferred_language="es", related_ids=("lu",))))
        framework = FrameworkPublished(framework_id="fw-sci", title="Science 7", competencies=(
            Competency(id="c-cells", code="MS-LS1-1", statement="Cells are the building blocks of living things.",
                       abbreviated_statement="Cells as building blocks"),))
        await h.deliver(_event(roster), _event(framework))
        yield h


def _event(data: object, minutes_ago: int = 1, subject: str | None = None) -> Envelope:
    return new_envelope(data, district_id=DISTRICT, producer="test", school_id=SCHOOL, subject=subject,
                        occurred_at=NOON_IN_CHICAGO - timedelta(minutes=minutes_ago))


def _mastered(minutes_ago: int = 1) -> Envelope:
    return _event(MasteryChanged(
        student_id="lu", competency_id="c-cells", competency_code="MS-LS1-1", old_level="Proficient",
        new_level="Advanced", old_rank=2, new_rank=3, mastered=True, estimate=0.93, method="decaying_average",
        evidence_count=4, cause_evidence_ids=("e9",)), minutes_ago, subject="lu")


async def test_a_mastered_competency_becomes_news_in_the_frameworks_words_for_the_guardian(harness) -> None:
    mastered = _mastered()

    await harness.deliver(mastered)

    async with harness.sessions() as session:
        news = (await session.execute(select(t.news.c.kind, t.news.c.student_id, t.news.c.cause_event_id,
                                             t.news.c.document))).all()
        planned = (await session.execute(select(t.notifications.c.guardian_id, t.notifications.c.status)
                                         .where(t.notifications.c.news_kind != "welcome"))).all()
        queued = (await session.execute(select(t.digest_items.c.guardian_id))).all()
    assert [(n.student_id, n.cause_event_id, n.document["competency_name"]) for n in news if n.kind != "welcome"] == [
        ("lu", str(mastered.id), "Cells as building blocks")]
    assert [tuple(p) for p in planned] == [("g-ortiz", "pending")] and queued == []  # mastery is told at once
    assert harness.dead_letters == []


async def test_news_older_than_the_limit_is_recorded_but_not_told(harness) -> None:
    async with harness.sessions() as session:
        before = len((await session.execute(select(t.notifications.c.notification_id))).all())

    old = _mastered(minutes_ago=4 * 24 * 60)
    await harness.deliver(old)

    async with harness.sessions() as session:
        recorded = (await session.execute(select(t.news.c.cause_event_id))).all()
        after = len((await session.execute(select(t.notifications.c.notification_id))).all())
        queued = (await session.execute(select(t.digest_items.c.guardian_id))).all()
    assert (str(old.id),) in [tuple(r) for r in recorded] and after == before and queued == []
