"""Whole topics for tests and tools: produce envelopes as a service does, and read a topic from its first offset
to its end as it stands now (a district's records, on topics that other districts share)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mosaic_events import Envelope, decode, encode
from mosaic_events.errors import EventError
from mosaic_events.tracing import kafka_headers


async def produce_envelopes(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> int:
    """Send each envelope keyed and with trace headers, as the services publish; returns how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    sent = 0
    try:
        for envelope in envelopes:
            await producer.send_and_wait(
                topic, encode(envelope), key=envelope.kafka_key, headers=kafka_headers(envelope)
            )
            sent += 1
    finally:
        await producer.stop()
    return sent


async def read_to_end(bootstrap: str, topic: str, timeout: float = 60.0) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the topic up to the end offsets it has when the read starts.

    `earliest` matters: with aiokafka's default (`latest`) a reset triggered by `assign` can land after
    `seek_to_beginning` and leave the position at the end, and the read returns nothing.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while not consumer.partitions_for_topic(topic):  # metadata may not name a new topic at first
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.2)
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            consumer.assign(partitions)
            ends = await consumer.end_offsets(partitions)
            await consumer.seek_to_beginning(*partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            remaining = {tp for tp, end in ends.items() if end > 0}
            while remaining:
                for tp, batch in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                    records += [r for r in batch if r.offset < ends[tp]]
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
            return records
    finally:
        await consumer.stop()


async def district_envelopes(bootstrap: str, topic: str, district_id: str) -> list[Envelope]:
    """The district's envelopes on a topic, in partition order (undecodable records are skipped)."""
    envelopes = []
    for record in await read_to_end(bootstrap, topic):
        try:
            envelope = decode(record.value or b"")
        except EventError:  # a poison record on a shared topic is not this reader's business
            continue
        if envelope.district_id == district_id:
            envelopes.append(envelope)
    return envelopes


@dataclass(frozen=True)
class DeadLetter:
    reason: str
    error: str
    group: str
    value: bytes


async def dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """The dead letters of `topic` (on `<topic>.dlq`) with the reason, error and consumer group they carry; none
    while the DLQ does not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([f"{topic}.dlq"])
    finally:
        await admin.close()
    if described.get("error_code") or not described.get("partitions"):
        return []
    letters = []
    for record in await read_to_end(bootstrap, f"{topic}.dlq"):
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        letters.append(
            DeadLetter(
                headers.get("x-mosaic-reason", ""),
                headers.get("x-mosaic-error", ""),
                headers.get("x-mosaic-consumer-group", ""),
                record.value or b"",
            )
        )
    return letters


async def start_group_at_the_end(database_url: str, group: str, topics: Iterable[str], bootstrap: str) -> None:
    """Store a consumer group's positions at the topics' current end offsets, in the service's own database (the
    chassis reads positions from there): a service started now reads only what comes after, not the records
    earlier tests left on the session's shared topics. The database must be migrated."""
    from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, make_engine, runtime_tables

    names = list(topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = await consumer.end_offsets(partitions) if partitions else {}
    finally:
        await consumer.stop()
    if not ends:
        return
    positions = runtime_tables(RUNTIME_METADATA)[POSITIONS]
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                positions.insert(),
                [
                    {"consumer_group": group, "topic": tp.topic, "partition": tp.partition, "next_offset": end}
                    for tp, end in ends.items()
                ],
            )
    finally:
        await engine.dispose()
