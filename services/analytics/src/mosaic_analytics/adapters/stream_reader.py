"""Read a whole topic, from the first offset to the end it had when the read began."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def topic_partitions(bootstrap: str, topic: str, **client_options: Any) -> list[TopicPartition]:
    """The topic's partitions, asked of the broker (a fresh client's cached metadata knows no topics yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_options)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"] != 0 or not description["partitions"]:
        raise LookupError(f"topic {topic!r} does not exist on {bootstrap} (error code {description['error_code']})")
    return [
        TopicPartition(topic, p["partition"]) for p in sorted(description["partitions"], key=lambda p: p["partition"])
    ]


async def read_to_end(
    bootstrap: str, topic: str, on_total: Callable[[int], None] | None = None, **client_options: Any
) -> AsyncIterator[tuple[int, int, bytes]]:
    """Yield (partition, offset, value) of every record up to the end offsets seen at the start.

    `client_options`: SASL/TLS keyword arguments (`mosaic_runtime.kafka_security.aiokafka_security`)."""
    partitions = await topic_partitions(bootstrap, topic, **client_options)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        **client_options,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        if on_total is not None:
            on_total(sum(ends[tp] - starts[tp] for tp in partitions))
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield tp.partition, record.offset, record.value or b""
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
