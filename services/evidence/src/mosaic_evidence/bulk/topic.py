"""What is already on the topic: end offsets at the start of an import, and the events a crashed run left."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

SCAN_TIMEOUT_SECONDS = 120.0


class TopicMissing(RuntimeError):
    """The target topic does not exist on the broker."""


async def _consumer(bootstrap: str, **security: Any) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", **security
    )
    await consumer.start()
    return consumer


async def topic_partitions(bootstrap: str, topic: str, **security: Any) -> list[TopicPartition]:
    """The topic's partitions, asked of the broker (a client's cached metadata may predate the topic).

    `security`: SASL/TLS options (`mosaic_runtime.kafka_security.security_of` the producer's config)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **security)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"] != 0 or not description["partitions"]:
        raise TopicMissing(
            f"topic {topic} does not exist on the broker (error code {description['error_code']}); "
            "create it first (the deploy tooling creates every catalog topic)"
        )
    return [
        TopicPartition(topic, p["partition"]) for p in sorted(description["partitions"], key=lambda p: p["partition"])
    ]


async def end_offsets(bootstrap: str, topic: str, **security: Any) -> dict[int, int]:
    """Each partition's next offset: records of this import can only come after these."""
    partitions = await topic_partitions(bootstrap, topic, **security)
    consumer = await _consumer(bootstrap, **security)
    try:
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def already_on_topic(bootstrap: str, topic: str, scan_from: dict[int, int], **security: Any) -> set[str]:
    """Ids of the events from `scan_from` to the current end of each partition."""
    partitions = await topic_partitions(bootstrap, topic, **security)
    consumer = await _consumer(bootstrap, **security)
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = set()
        for tp in partitions:
            start = scan_from.get(tp.partition, 0)
            if start < ends[tp]:
                consumer.seek(tp, start)
                remaining.add(tp)
        return await asyncio.wait_for(_collect_ids(consumer, remaining, ends), SCAN_TIMEOUT_SECONDS)
    finally:
        await consumer.stop()


async def _collect_ids(
    consumer: AIOKafkaConsumer, remaining: set[TopicPartition], ends: dict[TopicPartition, int]
) -> set[str]:
    ids: set[str] = set()
    while remaining:
        batches = await consumer.getmany(*remaining, timeout_ms=1000)
        for tp, records in batches.items():
            for record in records:
                if record.offset < ends[tp] and record.value:
                    ids.add(_event_id(record.value))
                if record.offset + 1 >= ends[tp]:
                    remaining.discard(tp)
    return ids


def _event_id(value: bytes) -> str:
    try:
        return str(orjson.loads(value).get("id", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""  # not an envelope: it cannot be one of ours
