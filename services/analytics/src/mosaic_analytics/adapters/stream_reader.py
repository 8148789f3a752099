"""Read a whole topic, from the first offset to the end it had when the read began."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition


async def read_to_end(
    bootstrap: str, topic: str, on_total: Callable[[int], None] | None = None
) -> AsyncIterator[tuple[int, int, bytes]]:
    """Yield (partition, offset, value) of every record up to the high watermarks seen at the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        await consumer.topics()  # load the cluster's metadata: partitions_for_topic reads it
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            raise LookupError(f"topic {topic!r} does not exist on {bootstrap}")
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
