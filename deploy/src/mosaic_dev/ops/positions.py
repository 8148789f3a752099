"""A consumer group's Kafka offsets, set from the positions a service stored with its state.

A service resumes from the positions in its database (invariant 5), but Kafka only hands a group the
records after the group's committed offsets. After a database is restored from a backup, those offsets
are ahead of the restored state: set them back to the stored positions before the service starts, or
the records in between are never seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, make_engine, runtime_tables


@dataclass(frozen=True)
class Rewind:
    """One partition: where the group was, where the restored state says it must resume."""

    topic: str
    partition: int
    committed: int | None
    stored: int

    @property
    def behind(self) -> int:
        """Records the group had passed that the restored state has not applied."""
        return max(0, (self.committed or 0) - self.stored)


async def stored_positions(database_url: str, group: str) -> dict[tuple[str, int], int]:
    """(topic, partition) → next offset to apply, as the service's database holds them."""
    table = runtime_tables(RUNTIME_METADATA)[POSITIONS]
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(table.c.topic, table.c.partition, table.c.next_offset).where(table.c.consumer_group == group)
            )
            return {(r.topic, r.partition): r.next_offset for r in rows}
    finally:
        await engine.dispose()


def plan(bootstrap: str, group: str, stored: dict[tuple[str, int], int], topics: set[str]) -> list[Rewind]:
    """Per partition of the stored topics, the group's own and `topics`: the stored position, or the topic's
    start if none (the database has applied nothing of a partition it stores no position for)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mosaic-ops")
    try:
        committed = {tp.topic for tp in admin.list_group_offsets({group: None}).get(group, {})}
    finally:
        admin.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        names = topics | committed | {topic for topic, _ in stored}
        partitions = [
            TopicPartition(t, p) for t in sorted(names) for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        starts = consumer.beginning_offsets(partitions)
        return [
            Rewind(tp.topic, tp.partition, consumer.committed(tp), stored.get((tp.topic, tp.partition), starts[tp]))
            for tp in partitions
        ]
    finally:
        consumer.close()


def wait_until_stopped(bootstrap: str, group: str, wait_seconds: float = 60.0) -> None:
    """Return once the group has no live members (a member that just stopped is waited for: the broker drops
    it within its session timeout); raise if it still has some after `wait_seconds`."""
    import time

    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mosaic-ops")
    try:
        deadline = time.monotonic() + wait_seconds
        while members := admin.describe_groups([group])[group].get("members") or []:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"group {group!r} has {len(members)} live member(s): stop the service "
                    "(scale its Deployment to 0) first"
                )
            time.sleep(1.0)
    finally:
        admin.close()


def apply(bootstrap: str, group: str, rewinds: list[Rewind], wait_seconds: float = 60.0) -> None:
    """Commit the stored positions as the group's offsets; refuses while the group has live members."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import NoError
    from kafka.structs import OffsetAndMetadata

    wait_until_stopped(bootstrap, group, wait_seconds)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mosaic-ops")
    try:
        offsets = {TopicPartition(r.topic, r.partition): OffsetAndMetadata(r.stored, "", -1) for r in rewinds}
        errors = {tp: e for tp, e in admin.alter_group_offsets(group, offsets).items() if e is not NoError}
        if errors:
            raise RuntimeError(f"the broker refused some offsets of {group!r}: {errors}")
    finally:
        admin.close()
