"""The running service on a real broker: roster and mastery in, RegroupNeeded in → SchedulePublished and one
GroupAssignmentChanged per student out, once, with the service restarted in the middle and the trigger re-sent."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import func, select

from mosaic_events import Envelope, decode, encode, new_envelope, topics
from mosaic_events.catalog import (
    Enrollment,
    MasteryChanged,
    Person,
    RegroupNeeded,
    RosterChanged,
    Section,
    StudentLevelChange,
)
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.auth import generate_signing_key, mint_token
from mosaic_runtime.consumer import UnitOfWork
from mosaic_runtime.db import make_engine, make_session_factory
from mosaic_runtime.outbox import outbox_table
from mosaic_scheduling.adapters import tables as t
from mosaic_scheduling.consumers import keep_roster
from mosaic_scheduling.main import build_app
from mosaic_scheduling.settings import SchedulingSettings

pytestmark = pytest.mark.integration

SCHOOL, SECTION = "school-1", "math-6a"
STUDENTS = [f"st{i}" for i in range(8)]
LABELS = ("Beginning", "Developing", "Proficient", "Advanced")
KEY = generate_signing_key()


async def private_topics(bootstrap: str) -> tuple[str, str, str]:
    """Fresh mastery, reference and regroup topics (and `people_topic(reference)`), so runs never meet."""
    run = uuid.uuid4().hex[:10]
    names = (f"test.scheduling.{run}.mastery", f"test.scheduling.{run}.reference", f"test.scheduling.{run}.regroup")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 2, 1) for name in (*names, people_topic(names[1]))])
    finally:
        await admin.close()
    return names


def people_topic(reference_topic: str) -> str:
    return reference_topic.removesuffix(".reference") + ".people"


async def produce(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for e in envelopes:
            await producer.send_and_wait(topic, encode(e), key=e.kafka_key, headers=kafka_headers(e))
    finally:
        await producer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    assert partitions, f"topic {topic} has no partitions: is the catalog created on the broker?"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await stop_quietly(consumer)


async def read_since(bootstrap: str, starts: dict[TopicPartition, int], district_id: str) -> list[Envelope]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        ends = await consumer.end_offsets(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        found, remaining = [], {tp for tp in starts if ends[tp] > starts[tp]}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=2000)).items():
                for record in records:
                    if record.offset < ends[tp] and (envelope := decode(record.value)).district_id == district_id:
                        found.append(envelope)
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
        return found
    finally:
        await stop_quietly(consumer)


async def stop_quietly(consumer: AIOKafkaConsumer) -> None:
    """aiokafka's group-less consumer may re-raise the cancellation of its own reset task on stop."""
    with contextlib.suppress(asyncio.CancelledError):
        await consumer.stop()


async def wait_for(sessions, condition, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition(sessions):
            await asyncio.sleep(0.2)


async def levels_known(sessions) -> bool:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(t.mastery_levels)) == len(STUDENTS)


async def published_and_sent(sessions) -> bool:
    async with sessions() as session:
        published = await session.scalar(
            select(func.count()).select_from(t.schedules).where(t.schedules.c.status == "published")
        )
        unsent = await session.scalar(
            select(func.count()).select_from(outbox_table()).where(outbox_table().c.sent.is_(False))
        )
    return published >= 1 and unsent == 0


async def define_school(app, district: str) -> None:
    # Writes name only schools and students the roster has: apply the roster as its consumer would.
    async with app.state.ctx.sessions() as session, session.begin():
        roster = facts(district)[0][0]
        await keep_roster(UnitOfWork(session), roster.data, roster)
    admin = mint_token(KEY, district_id=district, user_id="a", roles=("administrator",))
    headers = {"Authorization": f"Bearer {admin}"}
    base = f"/v1/districts/{district}"
    free = [{"weekday": "TH", "starts_at": "08:00", "ends_at": "15:00"}]
    calls = [
        (f"{base}/rooms/r1", {"school_id": SCHOOL, "name": "101", "capacity": 5}),
        (f"{base}/rooms/r2", {"school_id": SCHOOL, "name": "102", "capacity": 5}),
        (f"{base}/teachers/t1", {"school_id": SCHOOL, "name": "Ms Ito", "availability": free}),
        (f"{base}/teachers/t2", {"school_id": SCHOOL, "name": "Mr Diaz", "availability": free}),
        (
            f"{base}/blocks/win",
            {
                "school_id": SCHOOL,
                "name": "WIN",
                "weekday": "TH",
                "starts_at": "10:00",
                "minutes": 45,
                "starts_on": "2026-09-03",
                "section_ids": [SECTION],
            },
        ),
        (
            f"{base}/sessions/low?regroup=false",
            {
                "block_id": "win",
                "title": "Ratios",
                "kind": "skill_group",
                "room_id": "r1",
                "teacher_id": "t1",
                "competency_ids": ["c1"],
                "band": {"lowest": 0, "highest": 1},
            },
        ),
        (
            f"{base}/sessions/high?regroup=false",
            {
                "block_id": "win",
                "title": "Ratios+",
                "kind": "skill_group",
                "room_id": "r2",
                "teacher_id": "t2",
                "competency_ids": ["c1"],
                "band": {"lowest": 2, "highest": 3},
            },
        ),
    ]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for url, body in calls:
            response = await client.put(url, json=body, headers=headers)
            assert response.status_code == 200, response.text


def facts(district: str) -> tuple[list[Envelope], list[Envelope], Envelope]:
    roster = new_envelope(
        RosterChanged(
            import_id="i1",
            school_id=SCHOOL,
            sections=(Section(id=SECTION, school_id=SCHOOL, title="Math 6A"),),
            people=tuple(Person(id=s, role="student") for s in STUDENTS),
            enrollments=tuple(Enrollment(section_id=SECTION, user_id=s, role="student") for s in STUDENTS),
        ),
        district_id=district,
        producer="test",
        school_id=SCHOOL,
    )
    levels = [
        new_envelope(
            MasteryChanged(
                student_id=s,
                competency_id="c1",
                competency_code="6.RP.A.1",
                old_level=None,
                new_level=LABELS[i % 4],
                new_rank=i % 4,
                mastered=i % 4 >= 2,
                estimate=(i % 4) / 3,
                method="decaying_average",
                evidence_count=1,
                cause_evidence_ids=("e1",),
                section_ids=(SECTION,),
            ),
            district_id=district,
            producer="test",
            subject=s,
        )
        for i, s in enumerate(STUDENTS)
    ]
    regroup = new_envelope(
        RegroupNeeded(
            section_id=SECTION,
            school_id=SCHOOL,
            competency_ids=("c1",),
            changes=tuple(
                StudentLevelChange(student_id=s, competency_id="c1", old_level=None, new_level=LABELS[i % 4])
                for i, s in enumerate(STUDENTS)
            ),
            changed_students=8,
            section_size=8,
            threshold=0.3,
            window_started_at=datetime(2026, 9, 1, tzinfo=UTC),
            reason="8 of 8 students changed level on 6.RP.A.1",
        ),
        district_id=district,
        producer="test",
        school_id=SCHOOL,
    )
    return [roster], levels, regroup


async def test_regroup_needed_in_schedule_out_once_across_a_restart(kafka_bootstrap, database_url) -> None:
    mastery_topic, reference_topic, regroup_topic = await private_topics(kafka_bootstrap)
    district = f"d-{uuid.uuid4().hex[:8]}"
    settings = SchedulingSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_overrides={
            "mosaic.mastery.v1": mastery_topic,
            "mosaic.reference.v1": reference_topic,
            "mosaic.people.v1": people_topic(reference_topic),
            "mosaic.regroup.v1": regroup_topic,
        },
        consumer_group=f"scheduling-test-{district}",
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
        solver_time_limit_seconds=5,
    )
    roster, levels, regroup = facts(district)
    schedule_starts = await end_offsets(kafka_bootstrap, topics.SCHEDULE.name)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    try:
        first = build_app(settings)
        async with first.router.lifespan_context(first):
            await define_school(first, district)
            await produce(kafka_bootstrap, reference_topic, roster)
            await produce(kafka_bootstrap, mastery_topic, levels)
            await wait_for(sessions, levels_known)
        # The trigger arrives while the service is down; the restarted service picks it up from its stored position.
        await produce(kafka_bootstrap, regroup_topic, [regroup])
        second = build_app(settings)
        async with second.router.lifespan_context(second):
            await wait_for(sessions, published_and_sent)
            await produce(kafka_bootstrap, regroup_topic, [regroup])  # an upstream re-send of the same event
            await asyncio.sleep(3)
        third = build_app(settings)  # and once more after another restart: nothing new
        async with third.router.lifespan_context(third):
            await asyncio.sleep(3)
    finally:
        await engine.dispose()

    out = await read_since(kafka_bootstrap, schedule_starts, district)
    published = [e for e in out if e.type == "SchedulePublished"]
    changes = [e for e in out if e.type == "GroupAssignmentChanged"]
    assert len({e.id for e in published}) == 1 and len({e.id for e in changes}) == len(STUDENTS)
    assert len(published) == 1 and len(changes) == len(STUDENTS), "a re-sent trigger or a restart published again"
    [schedule] = published
    assert schedule.causation_id == regroup.id and schedule.correlation_id == regroup.correlation_id
    assert {a.student_id: a.session_id for a in schedule.data.assignments} == {
        s: "low" if i % 4 < 2 else "high" for i, s in enumerate(STUDENTS)
    }
    assert sorted((c.data.student_id, c.data.old_session_id, c.data.new_session_id) for c in changes) == sorted(
        (s, None, "low" if i % 4 < 2 else "high") for i, s in enumerate(STUDENTS)
    )
    assert all(c.causation_id == schedule.id and c.subject == c.data.student_id for c in changes)
