"""Read a whole topic in a test, and the dead letters on a `.dlq` with their reason headers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def read_records(bootstrap: str, topic: str, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Every record on the topic now, partition by partition; none if it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [TopicPartition(topic, p["partition"]) for p in described.get("partitions") or ()]
    if described.get("error_code") or not partitions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts, ends = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, starts[tp])  # explicit: a lazy reset may race a topic this new
        found: list[ConsumerRecord] = []
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        async with asyncio.timeout(timeout):
            while remaining:
                for tp, batch in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                    found.extend(r for r in batch if r.offset < ends[tp])
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:  # a transaction marker may hold the last offset
                        remaining.discard(tp)
        return found
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Letter:
    reason: str
    error: str
    group: str
    value: bytes


async def dead_letters(bootstrap: str, topic: str) -> list[Letter]:
    """The dead letters of `topic` (read from `<topic>.dlq`), with the reason, error and group they carry."""
    letters = []
    for record in await read_records(bootstrap, f"{topic}.dlq"):
        headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
        letters.append(
            Letter(
                headers.get("x-mosaic-reason", ""),
                headers.get("x-mosaic-error", ""),
                headers.get("x-mosaic-consumer-group", ""),
                record.value or b"",
            )
        )
    return letters
