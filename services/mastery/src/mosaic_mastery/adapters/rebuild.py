"""Rebuild: drop the projection and replay the evidence and reference topics from offset zero.

A bare aiokafka consumer (no group) is assigned every partition, reads up to the end offsets seen at
start in large batches, and folds each record with the same `apply` the live consumer uses into a
state held in memory — deferred: each record gathers its observations and is settled once at the end
(a record is by construction the replay of its observations, so this equals the live fold). Then, in
one transaction, the projection tables are replaced in bulk and the live consumer group's positions
are set to those end offsets, so the service resumes right after. Section watches start afresh from the
rebuilt levels. Stop the service's consumers while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_mastery.adapters import codec
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.adapters.tables import (
    district_references,
    district_settings,
    evidence_index,
    mastery_records,
    section_watches,
)
from mosaic_mastery.domain.facts import from_record
from mosaic_mastery.domain.projection import ProjectionState, apply, settle
from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, runtime_tables

Progress = Callable[[int], None]


@dataclass
class ReplayResult:
    ends: dict[TopicPartition, int]  # where the live consumer resumes
    read: int
    folded: int
    seconds: float  # from the first fetch to the last record (connecting and finding partitions excluded)


@dataclass
class RebuildReport:
    events: int  # records read
    facts: int  # records folded (evidence and reference)
    records: int  # mastery rows written
    replay_seconds: float  # consume + decode + fold + settle
    write_seconds: float

    @property
    def replay_rate(self) -> float:
        return self.events / self.replay_seconds if self.replay_seconds else 0.0


async def replay_topics(bootstrap: str, topics: tuple[str, ...], state: ProjectionState, *,
                        max_records: int = 20_000, on_progress: Progress | None = None,
                        on_total: Callable[[int], None] | None = None) -> ReplayResult:
    """Fold every record up to the end offsets seen now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024, check_crcs=False)
    partitions = await partitions_of(bootstrap, topics)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        started = time.perf_counter()
        if on_total is not None:
            on_total(sum(ends[tp] - starts[tp] for tp in partitions))
        read = folded = 0
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=max_records)
            # reference first within a batch: frameworks and rosters usually precede the evidence that uses them
            for tp in sorted(batch, key=lambda tp: (tp.topic != topics[-1], tp.topic, tp.partition)):
                end = ends[tp]
                for record in batch[tp]:
                    if record.offset >= end:
                        break
                    read += 1
                    fact = from_record(record.value)
                    if fact is not None:
                        apply(state, fact)
                        folded += 1
                if batch[tp] and min(batch[tp][-1].offset + 1, end) >= end:
                    remaining.discard(tp)
                    consumer.pause(tp)
            if on_progress is not None:
                on_progress(sum(len(v) for v in batch.values()))
        return ReplayResult(ends, read, folded, time.perf_counter() - started)
    finally:
        await consumer.stop()


async def partitions_of(bootstrap: str, topics: tuple[str, ...]) -> list[TopicPartition]:
    """Every partition of the topics (a consumer without a subscription has no metadata to ask)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    missing = [d["topic"] for d in described if d.get("error_code")]
    if missing:
        raise RuntimeError(f"topics {missing} do not exist on {bootstrap}; create them (mosaic-dev topics) first")
    return [TopicPartition(d["topic"], p["partition"]) for d in described for p in sorted(
        d["partitions"], key=lambda p: p["partition"])]


async def rebuild(sessions: async_sessionmaker[AsyncSession], bootstrap: str, topics: tuple[str, ...], group: str,
                  *, max_records: int = 20_000, on_progress: Progress | None = None,
                  on_total: Callable[[int], None] | None = None) -> RebuildReport:
    """Replay the topics into a fresh state, then replace the stored projection and positions with it."""
    async with sessions() as session:
        districts = list(await session.scalars(select(district_settings.c.district_id)))
        configs = await ProjectionStore().configs(session, districts)
    state = ProjectionState(deferred=True, configs=dict(configs))
    replay = await replay_topics(bootstrap, topics, state, max_records=max_records, on_progress=on_progress,
                                 on_total=on_total)
    started = time.perf_counter()
    settle(state)
    settled = time.perf_counter()
    async with sessions() as session, session.begin():
        await write_state(session, state)
        await store_positions(session, group, replay.ends)
    return RebuildReport(replay.read, replay.folded, len(state.records), replay.seconds + settled - started,
                         time.perf_counter() - settled)


async def write_state(session: AsyncSession, state: ProjectionState) -> None:
    """Replace the projection tables with the state, in bulk."""
    for table in (mastery_records, evidence_index, district_references, section_watches):
        await session.execute(delete(table))
    await _bulk(session, mastery_records, (codec.record_row(r) for r in state.records.values()))
    await _bulk(session, evidence_index, (codec.evidence_row(d, e, ref) for (d, e), ref in state.evidence.items()))
    await _bulk(session, district_references, ({"district_id": d, "version": 1, "body": codec.reference_body(ref)}
                                               for d, ref in state.references.items()))
    await _bulk(session, section_watches, ({"district_id": d, "section_id": s, "body": codec.watch_body(w)}
                                           for (d, s), w in state.watches.items()))


async def store_positions(session: AsyncSession, group: str, ends: dict[TopicPartition, int]) -> None:
    """The live group resumes after what the rebuild read (records below a stored position are skipped)."""
    tables = runtime_tables(RUNTIME_METADATA)
    positions = tables[POSITIONS]
    await session.execute(delete(positions).where(positions.c.consumer_group == group))
    rows = [{"consumer_group": group, "topic": tp.topic, "partition": tp.partition, "next_offset": end}
            for tp, end in sorted(ends.items())]
    if rows:
        await session.execute(insert(positions), rows)


async def _bulk(session: AsyncSession, table, rows, chunk: int = 5000) -> None:  # type: ignore[no-untyped-def]
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            await session.execute(insert(table), batch)
            batch = []
    if batch:
        await session.execute(insert(table), batch)
