"""Real-broker helpers for the mastery integration tests: private topics, producing envelopes, reading output."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mosaic_events import Envelope, decode, encode
from mosaic_events.tracing import kafka_headers
from mosaic_mastery.adapters.rebuild import partitions_of


async def private_topics(bootstrap: str, evidence_partitions: int = 3) -> tuple[str, str]:
    """Fresh evidence and reference topics (and a people topic, `people_topic(reference)`), so parallel runs
    never see each other's events."""
    run = uuid.uuid4().hex[:10]
    names = (f"test.mastery.{run}.evidence", f"test.mastery.{run}.reference")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(names[0], evidence_partitions, 1),
                NewTopic(names[1], 1, 1),
                NewTopic(people_topic(names[1]), 1, 1),
            ]
        )
    finally:
        await admin.close()
    return names


def people_topic(reference_topic: str) -> str:
    """The private people topic (erasures) created beside a private reference topic."""
    return reference_topic.removesuffix(".reference") + ".people"


async def produce(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, encode(e), key=e.kafka_key, headers=kafka_headers(e)) for e in envelopes]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(futures)


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    partitions = await partitions_of(bootstrap, (topic,))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def read_since(bootstrap: str, starts: dict[TopicPartition, int], district_id: str) -> list[Envelope]:
    """Every envelope of the district written after `starts`, up to the end offsets now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        ends = await consumer.end_offsets(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        found: list[Envelope] = []
        remaining = {tp for tp in starts if ends[tp] > starts[tp]}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=2000)).items():
                for record in records:
                    if record.offset < ends[tp]:
                        envelope = decode(record.value)
                        if envelope.district_id == district_id:
                            found.append(envelope)
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
        return found
    finally:
        await consumer.stop()
