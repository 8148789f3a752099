"""Rebuild: drop the projection and replay the evidence and reference topics from offset zero.

A bare aiokafka consumer (no group) is assigned the partitions, reads up to the end offsets seen at
start in large batches, and folds each record into a state held in memory — deferred: each record
gathers its observations and is settled once at the end (a record is by construction the replay of its
observations, so this equals the live fold). New evidence takes a short path (`fold_record`); everything
else goes through the same `apply` the live consumer uses. With several workers, each process replays a
share of the evidence partitions (a student never spans two) and all the reference and people topics
(rosters, frameworks, erasures), and hands back its rows. Then, in one transaction, the projection tables are
replaced in bulk (COPY on PostgreSQL, else executemany) and the live consumer group's positions are set to
those end offsets, so the service resumes right after. Section watches start afresh from the rebuilt levels.
Stop the service's consumers while it runs.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import JSON, Table, bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from mosaic_mastery.adapters import codec
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.adapters.tables import (
    district_references,
    district_settings,
    evidence_index,
    mastery_records,
    section_watches,
)
from mosaic_mastery.domain.facts import NewEvidence, replay_fact
from mosaic_mastery.domain.projection import ProjectionState, apply, gather_recorded, settle
from mosaic_runtime.consumer import MAX_RECORD_BYTES, oversize_reason
from mosaic_runtime.db import POSITIONS, RUNTIME_METADATA, runtime_tables

Progress = Callable[[int], None]
Refused = dict[tuple[str, int], frozenset[int]]  # (topic, partition) -> offsets the live consumer rejected


@dataclass
class ReplayResult:
    ends: dict[TopicPartition, int]  # where the live consumer resumes
    read: int
    folded: int
    seconds: float  # from the first fetch to the last record (connecting and finding partitions excluded)
    read_by_topic: dict[str, int] = field(default_factory=dict)
    folded_by_topic: dict[str, int] = field(default_factory=dict)


@dataclass
class RebuildReport:
    events: int  # records read
    facts: int  # records folded (evidence and reference)
    records: int  # mastery rows written
    replay_seconds: float  # consume + decode + fold + settle
    write_seconds: float
    workers: int = 1  # processes that replayed (each a share of the evidence partitions)

    @property
    def replay_rate(self) -> float:
        return self.events / self.replay_seconds if self.replay_seconds else 0.0


async def replay_topics(
    bootstrap: str,
    topics: tuple[str, ...],
    state: ProjectionState,
    *,
    max_records: int = 20_000,
    on_progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    partitions: list[TopicPartition] | None = None,
    refused: Refused | None = None,
) -> ReplayResult:
    """Fold every record (of `partitions`, default all of the topics') up to the end offsets seen now, but those
    the live consumer `refused` (dead-lettered as rejected)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        check_crcs=False,
    )
    if partitions is None:
        partitions = await partitions_of(bootstrap, topics)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.perf_counter()
        if on_total is not None:
            on_total(sum(ends[tp] - starts[tp] for tp in partitions))
        read_by_topic = dict.fromkeys(topics, 0)
        folded_by_topic = dict.fromkeys(topics, 0)
        # the reference (rosters, frameworks, erasures) to its end first, then the evidence: the reference
        # precedes the evidence that uses it, and a framework read after evidence would settle roll-ups twice;
        # the evidence topic is the first (the handler map's order), every other topic is reference
        for phase in (
            [tp for tp in partitions if tp.topic != topics[0]],
            [tp for tp in partitions if tp.topic == topics[0]],
        ):
            remaining = {tp for tp in phase if ends[tp] > starts[tp]}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=max_records)
                for tp in sorted(batch):
                    read, folded = _fold_batch(
                        state, batch[tp], ends[tp], (refused or {}).get((tp.topic, tp.partition))
                    )
                    read_by_topic[tp.topic] += read
                    folded_by_topic[tp.topic] += folded
                    # the position, not the last offset + 1: a marker or a retried produce can hold the last offset
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
                        consumer.pause(tp)
                if on_progress is not None:
                    on_progress(sum(len(v) for v in batch.values()))
        return ReplayResult(
            ends,
            sum(read_by_topic.values()),
            sum(folded_by_topic.values()),
            time.perf_counter() - started,
            read_by_topic,
            folded_by_topic,
        )
    finally:
        await consumer.stop()


def _fold_batch(
    state: ProjectionState, records: list[ConsumerRecord], end: int, skipped: frozenset[int] | None
) -> tuple[int, int]:
    """Fold one partition's fetched records below `end`, but those the live consumer dead-lettered (too large,
    or rejected); (read, folded)."""
    read = folded = 0
    for record in records:
        if record.offset >= end:
            break
        read += 1
        value = record.value
        if value is None or (len(value) > MAX_RECORD_BYTES and oversize_reason(record) is not None):
            continue  # the live consumer dead-lettered it (or it holds nothing): the rebuild skips it too
        if skipped and record.offset in skipped:
            continue
        folded += fold_record(state, value)
    return read, folded


def fold_record(state: ProjectionState, raw: bytes) -> bool:
    """Fold one raw record into a deferred state; False if it is not a fact the projection reads.

    New evidence in canonical form (nearly every record) takes the short path, `gather_recorded`: a tuple per
    competency, built into records and ordered once at `settle`. Everything else goes through `apply`."""
    fact = replay_fact(raw)
    if fact is None:
        return False
    if type(fact) is NewEvidence:
        gather_recorded(state, fact)
    else:
        apply(state, fact)  # type: ignore[arg-type]
    return True


async def refused_records(bootstrap: str, topic: str, group: str) -> Refused:
    """The records of `topic` the live consumer `group` dead-lettered as rejected (ADR 0004): their dead letters
    name the group and the source. A rejection depended on what the consumer had read then, which a replay
    cannot know, so the rebuild skips the same records rather than judging again. Empty without a DLQ."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([f"{topic}.dlq"])
    finally:
        await admin.close()
    partitions = [TopicPartition(described["topic"], p["partition"]) for p in described.get("partitions") or ()]
    if described.get("error_code") or not partitions:
        return {}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    found: dict[tuple[str, int], set[int]] = {}
    await consumer.start()
    try:
        consumer.assign(partitions)
        starts, ends = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, starts[tp])
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        while remaining:
            for records in (await consumer.getmany(*remaining, timeout_ms=1000)).values():
                for record in records:
                    source = _rejected_source(record.headers or (), topic, group)
                    if source is not None:
                        found.setdefault(source[0], set()).add(source[1])
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return {key: frozenset(offsets) for key, offsets in found.items()}


def _rejected_source(headers: Any, topic: str, group: str) -> tuple[tuple[str, int], int] | None:
    """((topic, partition), offset) of the record a dead letter holds, if `group` rejected it from `topic`."""
    named = {k: v.decode(errors="replace") for k, v in headers}
    if named.get("x-mosaic-reason") != "rejected" or named.get("x-mosaic-consumer-group") != group:
        return None
    source, _, offset = named.get("x-mosaic-source", "").rpartition("/")
    name, _, partition = source.rpartition("/")
    if name != topic or not partition.isdigit() or not offset.isdigit():
        return None
    return (name, int(partition)), int(offset)


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
    return [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        for p in sorted(d["partitions"], key=lambda p: p["partition"])
    ]


async def rebuild(
    sessions: async_sessionmaker[AsyncSession],
    bootstrap: str,
    topics: tuple[str, ...],
    group: str,
    *,
    max_records: int = 20_000,
    on_progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RebuildReport:
    """Replay the topics into a fresh state, then replace the stored projection and positions with it.

    With more than one worker (default: one per core; this process is one of them), each process replays a
    share of the evidence partitions (a student never spans two) plus all the reference, settles it and
    encodes its rows; should two shares hold the same evidence id, the replay is done again in one process."""
    async with sessions() as session:
        districts = list(await session.scalars(select(district_settings.c.district_id)))
        configs = dict(await ProjectionStore().configs(session, districts))
    partitions = await partitions_of(bootstrap, topics)
    refused = await refused_records(bootstrap, topics[0], group)
    evidence = [tp for tp in partitions if tp.topic == topics[0]]
    workers = max(1, min(workers or os.cpu_count() or 1, len(evidence)))
    rows = (
        await _replay_in_processes(
            bootstrap, topics, partitions, configs, max_records, workers, on_progress, on_total, refused
        )
        if workers > 1
        else None
    )
    if rows is None:
        workers = 1
        rows = await replay_to_rows(
            bootstrap,
            topics,
            partitions,
            configs,
            max_records=max_records,
            refused=refused,
            include_references=True,
            on_progress=on_progress,
            on_total=on_total,
        )
    settled = time.perf_counter()
    async with sessions() as session, session.begin():
        await write_rows(session, rows)
        await store_positions(session, group, rows.ends)
    return RebuildReport(
        rows.read, rows.folded, len(rows.records), rows.seconds, time.perf_counter() - settled, workers
    )


@dataclass
class Rows:
    """A settled state as table rows (tuples in `codec`'s column order), ready to write or to pass between
    processes."""

    records: list[tuple] = field(default_factory=list)
    evidence: list[tuple] = field(default_factory=list)
    references: list[tuple] = field(default_factory=list)
    watches: list[tuple] = field(default_factory=list)
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    read: int = 0
    folded: int = 0
    seconds: float = 0.0

    @classmethod
    def of(cls, state: ProjectionState, *, include_references: bool) -> Rows:
        return cls(
            records=[codec.record_values(r) for r in state.records.values()],
            evidence=[codec.evidence_values(d, e, ref) for (d, e), ref in state.evidence.items()],
            references=[(d, 1, codec.reference_body(ref)) for d, ref in state.references.items()]
            if include_references
            else [],
            watches=[(d, s, codec.watch_body(w)) for (d, s), w in state.watches.items()],
        )


async def _replay_in_processes(
    bootstrap: str,
    topics: tuple[str, ...],
    partitions: list[TopicPartition],
    configs: dict,
    max_records: int,
    workers: int,
    on_progress: Progress | None,
    on_total: Callable[[int], None] | None,
    refused: Refused,
) -> Rows | None:
    """Each of `workers` processes (this one and `workers` - 1 forked) replays every `workers`-th evidence
    partition and all the reference; None if two shares hold the same evidence id (the one-process replay then
    decides which is a re-send). This process takes a share too: its rows need no pickling, which cost a forked
    worker about a third of its replay."""
    evidence = [tp for tp in partitions if tp.topic == topics[0]]
    reference = [tp for tp in partitions if tp.topic != topics[0]]  # rosters, frameworks and erasures
    shares = [[*reference, *evidence[i::workers]] for i in range(workers)]
    counter = _FORK.Value("q", 0)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(workers - 1, mp_context=_FORK, initializer=_remember_counter, initargs=(counter,))
    with pool:
        futures = [
            loop.run_in_executor(
                pool,
                _replay_share,
                bootstrap,
                topics,
                [(tp.topic, tp.partition) for tp in share],
                configs,
                max_records,
                False,
                refused,
            )
            for share in shares[1:]
        ]
        own = asyncio.ensure_future(
            replay_to_rows(
                bootstrap,
                topics,
                shares[0],
                configs,
                max_records=max_records,
                refused=refused,
                include_references=True,
                on_progress=_counting(counter),
            )
        )
        if on_total is not None or on_progress is not None:
            await _report_progress([own, *futures], counter, bootstrap, partitions, on_progress, on_total)
        results: list[Rows] = [await own, *await asyncio.gather(*futures)]
    merged = Rows()
    seen: set[tuple[str, str]] = set()
    for part in results:
        keys = {(row[0], row[1]) for row in part.evidence}
        if keys & seen:
            return None
        seen |= keys
        for name in ("records", "evidence", "references", "watches"):
            getattr(merged, name).extend(getattr(part, name))
        merged.ends.update(part.ends)
        merged.read += part.read
        merged.folded += part.folded
    merged.seconds = time.perf_counter() - started
    return merged


def _counting(counter) -> Progress:  # type: ignore[no-untyped-def]
    """A progress callback that adds to the counter the workers share."""

    def advance(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    return advance


async def _report_progress(
    futures: list,
    counter,
    bootstrap: str,  # type: ignore[no-untyped-def]
    partitions: list[TopicPartition],
    on_progress: Progress | None,
    on_total: Callable[[int], None] | None,
) -> None:
    if on_total is not None:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
        finally:
            await consumer.stop()
        on_total(sum(ends[tp] - starts[tp] for tp in partitions))
    shown = 0
    while not all(f.done() for f in futures):
        await asyncio.sleep(0.2)
        now = counter.value
        if on_progress is not None and now > shown:
            on_progress(now - shown)
        shown = now


_FORK = multiprocessing.get_context("fork")  # the worker inherits the imported modules: no start-up to pay
_counter = None


def _remember_counter(counter) -> None:  # type: ignore[no-untyped-def]
    global _counter
    _counter = counter


def _replay_share(
    bootstrap: str,
    topics: tuple[str, ...],
    share: list[tuple[str, int]],
    configs: dict,
    max_records: int,
    count_reference: bool,
    refused: Refused,
) -> Rows:
    """In a worker process: replay, settle and encode one share of the partitions."""
    return asyncio.run(
        _replay_share_async(
            bootstrap, topics, [TopicPartition(t, p) for t, p in share], configs, max_records, count_reference, refused
        )
    )


async def _replay_share_async(
    bootstrap: str,
    topics: tuple[str, ...],
    share: list[TopicPartition],
    configs: dict,
    max_records: int,
    count_reference: bool,
    refused: Refused,
) -> Rows:
    return await replay_to_rows(
        bootstrap,
        topics,
        share,
        configs,
        max_records=max_records,
        refused=refused,
        include_references=count_reference,  # every worker reads the reference; one counts and writes it
        on_progress=None if _counter is None else _counting(_counter),
    )


async def replay_to_rows(
    bootstrap: str,
    topics: tuple[str, ...],
    partitions: list[TopicPartition],
    configs: dict,
    *,
    max_records: int,
    refused: Refused,
    include_references: bool,
    on_progress: Progress | None = None,
    on_total: Callable[[int], None] | None = None,
) -> Rows:
    """Replay the partitions into a fresh deferred state, settle it and encode its rows."""
    with _collector_paused():
        state = ProjectionState(deferred=True, configs=configs)
        replay = await replay_topics(
            bootstrap,
            topics,
            state,
            max_records=max_records,
            on_progress=on_progress,
            on_total=on_total,
            partitions=partitions,
            refused=refused,
        )
        settled = time.perf_counter()
        settle(state)
        rows = Rows.of(state, include_references=include_references)
        counted = topics if include_references else topics[:1]
        rows.ends = replay.ends
        rows.read = sum(replay.read_by_topic[t] for t in counted)
        rows.folded = sum(replay.folded_by_topic[t] for t in counted)
        rows.seconds = replay.seconds + time.perf_counter() - settled
        return rows


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A replay builds millions of small objects and no cycles, and Python's cyclic collector walked them all,
    again and again as they grew: 3.8 of 8.6 s at 200,000 events. Reference counting frees what a replay
    drops; the collector runs again once the rows are encoded."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def write_state(session: AsyncSession, state: ProjectionState) -> None:
    """Replace the projection tables with the state, in bulk."""
    await write_rows(session, Rows.of(state, include_references=True))


async def write_rows(session: AsyncSession, rows: Rows) -> None:
    """Replace the projection tables with the rows: the driver's executemany on prepared tuples, without
    SQLAlchemy's per-row parameter handling (which took most of the write)."""
    for table in (mastery_records, evidence_index, district_references, section_watches):
        await session.execute(delete(table))
    connection = await session.connection()
    for table, columns, values in (
        (mastery_records, codec.RECORD_COLUMNS, rows.records),
        (evidence_index, codec.EVIDENCE_COLUMNS, rows.evidence),
        (district_references, ("district_id", "version", "body"), rows.references),
        (section_watches, ("district_id", "section_id", "body"), rows.watches),
    ):
        await _bulk(connection, table, columns, values)


async def store_positions(session: AsyncSession, group: str, ends: dict[TopicPartition, int]) -> None:
    """The live group resumes after what the rebuild read (records below a stored position are skipped)."""
    tables = runtime_tables(RUNTIME_METADATA)
    positions = tables[POSITIONS]
    await session.execute(delete(positions).where(positions.c.consumer_group == group))
    rows = [
        {"consumer_group": group, "topic": tp.topic, "partition": tp.partition, "next_offset": end}
        for tp, end in sorted(ends.items())
    ]
    if rows:
        await session.execute(insert(positions), rows)


async def _bulk(
    connection: AsyncConnection, table: Table, columns: tuple[str, ...], values: list[tuple], chunk: int = 20_000
) -> None:
    """Insert tuples: COPY on PostgreSQL, else the driver's executemany, where only the columns whose type
    needs it (dates on SQLite, booleans) go through SQLAlchemy's bind processor. JSON arrives encoded."""
    if not values:
        return
    dialect = connection.dialect
    if dialect.name == "postgresql":  # COPY, in the session's transaction (asyncpg's binary format)
        raw = await connection.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table.name, records=values, columns=list(columns))
        return
    statement = insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
    order = [columns.index(name) for name in statement.positiontup]  # type: ignore[union-attr]
    convert = [
        (position, processor)
        for position, processor in enumerate(
            None if isinstance(table.c[columns[i]].type, JSON) else table.c[columns[i]].type.bind_processor(dialect)
            for i in order
        )
        if processor is not None
    ]
    in_order = order == list(range(len(columns)))
    sql = str(statement)
    for offset in range(0, len(values), chunk):
        prepared = []
        for row in values[offset : offset + chunk]:
            if convert:
                row = list(row) if in_order else [row[i] for i in order]
                for position, processor in convert:
                    if row[position] is not None:
                        row[position] = processor(row[position])
            elif not in_order:
                row = [row[i] for i in order]
            prepared.append(tuple(row))
        await connection.exec_driver_sql(sql, prepared)
