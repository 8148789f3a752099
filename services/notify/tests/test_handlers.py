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
from mosaic_events.catalog import (
    Competency,
    FrameworkPublished,
    MasteryChanged,
    Person,
    PersonDetailsChanged,
    PersonErased,
    RosterChanged,
)
from mosaic_notify.adapters import store
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
        roster = RosterChanged(
            import_id="sis-1",
            school_id=SCHOOL,
            people=(
                Person(id="lu", role="student"),
                Person(id="g-ortiz", role="parent", preferred_language="es", related_ids=("lu",)),
            ),
        )
        details = (
            PersonDetailsChanged(person_id="lu", role="student", given_name="Lucía", family_name="Ortiz"),
            PersonDetailsChanged(
                person_id="g-ortiz", role="parent", given_name="Ana", family_name="Ortiz", email="ana@example.org"
            ),
        )
        framework = FrameworkPublished(
            framework_id="fw-sci",
            title="Science 7",
            competencies=(
                Competency(
                    id="c-cells",
                    code="MS-LS1-1",
                    statement="Cells are the building blocks of living things.",
                    abbreviated_statement="Cells as building blocks",
                ),
            ),
        )
        await h.deliver(*(_event(d) for d in details), _event(roster), _event(framework))
        yield h


def _event(data: object, minutes_ago: int = 1, subject: str | None = None) -> Envelope:
    return new_envelope(
        data,
        district_id=DISTRICT,
        producer="test",
        school_id=SCHOOL,
        subject=subject,
        occurred_at=NOON_IN_CHICAGO - timedelta(minutes=minutes_ago),
    )


def _mastered(minutes_ago: int = 1) -> Envelope:
    return _event(
        MasteryChanged(
            student_id="lu",
            competency_id="c-cells",
            competency_code="MS-LS1-1",
            old_level="Proficient",
            new_level="Advanced",
            old_rank=2,
            new_rank=3,
            mastered=True,
            estimate=0.93,
            method="decaying_average",
            evidence_count=4,
            cause_evidence_ids=("e9",),
        ),
        minutes_ago,
        subject="lu",
    )


async def test_a_mastered_competency_becomes_news_in_the_frameworks_words_for_the_guardian(harness) -> None:
    mastered = _mastered()

    await harness.deliver(mastered)

    async with harness.sessions() as session:
        news = (
            await session.execute(
                select(t.news.c.kind, t.news.c.student_id, t.news.c.cause_event_id, t.news.c.document)
            )
        ).all()
        planned = (
            await session.execute(
                select(t.notifications.c.guardian_id, t.notifications.c.status).where(
                    t.notifications.c.news_kind != "welcome"
                )
            )
        ).all()
        queued = (await session.execute(select(t.digest_items.c.guardian_id))).all()
    assert [(n.student_id, n.cause_event_id, n.document["competency_name"]) for n in news if n.kind != "welcome"] == [
        ("lu", str(mastered.id), "Cells as building blocks")
    ]
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


async def test_names_and_contacts_come_from_the_people_topic_whichever_arrives_first(harness) -> None:
    roster = RosterChanged(
        import_id="sis-2",
        school_id=SCHOOL,
        people=(Person(id="g-late", role="guardian", preferred_language="es", related_ids=("lu",)),),
    )
    details = PersonDetailsChanged(
        person_id="g-late",
        role="guardian",
        given_name="Rosa",
        family_name="Ortiz",
        email="rosa@example.org",
        phone="+15550100",
    )
    await harness.deliver(_event(roster))
    async with harness.sessions() as session:
        before = await store.load_guardian(session, DISTRICT, "g-late")
    await harness.deliver(_event(details), _event(roster))  # the roster again: it must not wipe the contacts

    async with harness.sessions() as session:
        after = await store.load_guardian(session, DISTRICT, "g-late")
        first_names = await store.student_names(session, DISTRICT, ["lu"])
    assert before is not None and before.email is None  # the roster alone says who, not how to reach them
    assert after is not None and (after.given_name, after.email, after.sms, after.language, after.student_ids) == (
        "Rosa",
        "rosa@example.org",
        "+15550100",
        "es",
        ("lu",),
    )
    assert first_names == {"lu": "Lucía"} and harness.dead_letters == []


async def test_erasing_the_guardian_and_the_student_leaves_no_row_about_either(harness) -> None:
    await harness.deliver(_mastered())
    async with harness.sessions() as session:
        assert (await session.execute(select(t.notifications.c.notification_id))).all()

    await harness.deliver(
        _event(PersonErased(person_id="g-ortiz", erasure_id="x1", role="parent")),
        _event(PersonErased(person_id="lu", erasure_id="x2", role="student")),
    )

    async with harness.sessions() as session:
        for table in (
            t.guardians,
            t.guardian_students,
            t.students,
            t.preferences,
            t.news,
            t.notifications,
            t.digest_items,
            t.delivery_log,
        ):
            rows = (await session.execute(select(table))).all()
            assert rows == [], f"{table.name} still holds {rows}"
    assert harness.dead_letters == []
