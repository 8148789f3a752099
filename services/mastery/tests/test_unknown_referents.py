"""Evidence about a student or competency the district does not have is dead-lettered as `rejected` with the
reason, and the next good record is folded (ADR 0004); evidence merely ahead of its roster is folded."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select

from mosaic_dev import synthetic_events as synthetic
from mosaic_dev.topic_io import dead_letters, read_to_end
from mosaic_events import decode
from mosaic_mastery.adapters.rebuild import rebuild
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.adapters.tables import mastery_records
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.main import MIGRATIONS, build_app
from mosaic_mastery.settings import MasterySettings
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations

from .kafka_helpers import people_topic, private_topics, produce
from .test_service_on_broker import caught_up

pytestmark = pytest.mark.integration

T0, SECTION = "math-6.S0.T0", "sec-1"


def scored(district: str, student: str, n: int, competency: str = T0):
    return synthetic.evidence(
        district, student, (competency,), 3, evidence_id=f"{district}-e{n}", observed_on=date(2026, 9, n + 1)
    )


async def records_of(sessions, district: str) -> set[tuple[str, str]]:
    async with sessions() as session:
        rows = await session.execute(
            select(mastery_records.c.student_id, mastery_records.c.competency_id).where(
                mastery_records.c.district_id == district
            )
        )
        return {(r.student_id, r.competency_id) for r in rows}


async def test_evidence_about_an_unknown_student_or_competency_is_dead_lettered_and_a_rebuild_skips_it_too(
    kafka_bootstrap, database_url
):
    evidence_topic, reference_topic = await private_topics(kafka_bootstrap, evidence_partitions=1)
    district, group = f"d-{uuid.uuid4().hex[:8]}", f"mastery-test-{uuid.uuid4().hex[:8]}"
    settings = MasterySettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides={
            "mosaic.evidence.v1": evidence_topic,
            "mosaic.reference.v1": reference_topic,
            "mosaic.people.v1": people_topic(reference_topic),
        },
        consumer_group=group,
        outbox_poll_seconds=0.05,
    )
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    app = build_app(settings)
    try:
        async with app.router.lifespan_context(app):
            await produce(
                kafka_bootstrap,
                reference_topic,
                [
                    synthetic.framework(district, strands=1, per_strand=2),
                    synthetic.roster(district, "s1", {SECTION: ["st0", "st1"]}),
                ],
            )
            await caught_up(sessions, group, 2)
            poison = [scored(district, "ghost", 1), scored(district, "st1", 2, competency="math-6.S9.T9")]
            await produce(kafka_bootstrap, evidence_topic, [*poison, scored(district, "st0", 3)])
            await caught_up(sessions, group, 5)

            assert await records_of(sessions, district) >= {("st0", T0)}
            assert {s for s, _ in await records_of(sessions, district)} == {"st0"}
            letters = await dead_letters(kafka_bootstrap, evidence_topic)
            assert [(d.reason, d.group) for d in letters] == [("rejected", group), ("rejected", group)]
            assert "student_id: no student 'ghost'" in letters[0].error
            assert "competency_ids: 'math-6.S9.T9'" in letters[1].error
            assert [decode(r.value).id for r in letters] == [e.id for e in poison]  # the records as they were
            live = await records_of(sessions, district)
        # A rebuild skips what the live consumer refused (it cannot know what the consumer had read then).
        await rebuild(sessions, kafka_bootstrap, tuple(settings.topic_overrides.values()), group, workers=1)
        assert await records_of(sessions, district) == live
    finally:
        await engine.dispose()


async def test_evidence_ahead_of_the_roster_that_lists_its_student_is_folded_not_refused(kafka_bootstrap, database_url):
    """The roster adding `late` is on the log but not yet applied (another topic): the evidence is early, not
    wrong. Once the roster is applied, evidence about a student it lacks is refused."""
    evidence_topic, reference_topic = await private_topics(kafka_bootstrap, evidence_partitions=1)
    district = f"d-{uuid.uuid4().hex[:8]}"
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    topics = (evidence_topic, reference_topic, people_topic(reference_topic))
    applier = BatchApplier("mastery-race", HANDLERS, sessions, deps=ProjectionStore(), topics=topics)
    first = synthetic.roster(district, "s1", {SECTION: ["st0"]})
    later = synthetic.roster(district, "s1", {SECTION: ["st0", "late"]}, mode="delta")
    await produce(kafka_bootstrap, reference_topic, [first, later])
    await produce(kafka_bootstrap, evidence_topic, [scored(district, "late", 1), scored(district, "ghost", 2)])
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        reference, evidence = (
            await read_to_end(kafka_bootstrap, reference_topic),
            await read_to_end(kafka_bootstrap, evidence_topic),
        )
        assert await applier.apply(reference[:1], consumer) == []
        assert await applier.apply(evidence[:1], consumer) == []  # `later` is on the log, not yet applied
        assert {s for s, _ in await records_of(sessions, district)} == {"late"}
        assert await applier.apply(reference[1:], consumer) == []
        dead = await applier.apply(evidence[1:], consumer)
        assert [(d.reason, d.group) for d in dead] == [("rejected", "mastery-race")]
        assert "no student 'ghost'" in dead[0].error
    finally:
        await consumer.stop()
        await engine.dispose()
