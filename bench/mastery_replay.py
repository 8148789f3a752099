"""Benchmark: rebuilding the mastery projection from the log, next to the raw consume rate of the same topics.

    uv run python bench/mastery_replay.py                    # 200,000 evidence events
    uv run python bench/mastery_replay.py --events 20000     # smaller

The broker is KAFKA_BOOTSTRAP_SERVERS (or --bootstrap). One run:
1. generates a district (mosaic_dev.synthetic_events: a framework with progressions, a roster, evidence with ~2%
   corrections and ~1% retractions) and produces it to fresh topics (12 evidence partitions, 3 reference);
2. raw (before and again after the rebuild): a bare aiokafka consumer (no group, every partition assigned,
   getmany with large max_records) reads both topics to their end and does nothing else — the ceiling;
3. rebuild: `mosaic_mastery.adapters.rebuild.rebuild` (what `mosaic-mastery rebuild` runs) reads the same
   records the same way (in `--workers` processes, each a share of the partitions), decodes and folds them,
   settles the records, and writes the projection in bulk;
4. live: the chassis' BatchApplier with the service's handlers and batch fold (what the live subscriber runs
   per batch: positions, dedupe, projection and outbox in one transaction) over the same records, batch by
   batch, into a second database. The outbox relay is not started, so the shared mastery topic stays clean;
5. compares the checksums of the two databases.
Prints records/s of raw consume and of the rebuild's replay (consume + decode + fold + settle), their ratio
(target >= 0.5), the rebuild's bulk write time, the live path's rate, and whether the checksums match.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mosaic_dev import synthetic_events as synthetic
from mosaic_events import encode
from mosaic_mastery.adapters.checksum import projection_checksum
from mosaic_mastery.adapters.rebuild import partitions_of, rebuild
from mosaic_mastery.adapters.store import ProjectionStore
from mosaic_mastery.consumers import HANDLERS
from mosaic_mastery.main import MIGRATIONS
from mosaic_runtime.consumer import BatchApplier
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations


async def create_topics(bootstrap: str, run: str) -> tuple[str, str]:
    names = (f"bench.mastery.{run}.evidence", f"bench.mastery.{run}.reference")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(names[0], 12, 1), NewTopic(names[1], 3, 1)])
    finally:
        await admin.close()
    return names


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        pending = []
        for key, value in records:
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, topics: tuple[str, ...]) -> tuple[int, float, float]:
    """Read every record of the topics as fast as a bare consumer can; (records, seconds, CPU seconds)."""
    partitions = await partitions_of(bootstrap, topics)
    # earliest as the reset policy too: with "latest" the reset assign() starts can land after the seek to
    # the beginning, leaving the position at the end (nothing read, or a wait that never ends)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        check_crcs=False,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, cpu = time.perf_counter(), time.process_time()
        read = 0
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=20_000)
            for records in batch.values():
                read += len(records)
            await _drop_finished(consumer, remaining, ends)
        return read, time.perf_counter() - started, time.process_time() - cpu
    finally:
        await consumer.stop()


async def _drop_finished(
    consumer: AIOKafkaConsumer, remaining: set[TopicPartition], ends: dict[TopicPartition, int]
) -> None:
    """Stop reading a partition once the consumer's position reaches its end offset. The last record's
    offset + 1 may never reach it (a transaction marker or a retried produce can hold the last offset)."""
    for tp in list(remaining):
        if await consumer.position(tp) >= ends[tp]:
            remaining.discard(tp)
            consumer.pause(tp)


async def live_path(bootstrap: str, topics: tuple[str, ...], database_url: str, batch: int) -> tuple[int, float]:
    """The live consumer's per-batch work over every record, in Kafka's delivery order; (records, seconds)."""
    engine = make_engine(database_url)
    applier = BatchApplier("bench-live", HANDLERS, make_session_factory(engine), deps=ProjectionStore())
    partitions = await partitions_of(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        reference = [tp for tp in partitions if tp.topic == topics[1]]
        started = time.perf_counter()
        done = 0
        # the reference first, as in production (a framework and roster long before the evidence)
        for group in (reference, [tp for tp in partitions if tp.topic == topics[0]]):
            remaining = {tp for tp in group if ends[tp] > 0}
            while remaining:
                fetched = await consumer.getmany(*remaining, timeout_ms=1000, max_records=batch)
                records = [r for tp in sorted(fetched) for r in fetched[tp]]
                if records:
                    await applier.apply(records)
                    done += len(records)
                await _drop_finished(consumer, remaining, ends)
        return done, time.perf_counter() - started
    finally:
        await consumer.stop()
        await engine.dispose()


def _cpu_with_children() -> float:
    """CPU seconds of this process and its finished children (the rebuild's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def checksum(database_url: str) -> tuple[str, int]:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            return await projection_checksum(session)
    finally:
        await engine.dispose()


async def generate_and_produce(bootstrap: str, args: argparse.Namespace) -> tuple[str, str]:
    run = uuid.uuid4().hex[:8]
    t = time.perf_counter()
    reference, stream = synthetic.district(f"bench-{run}", students=args.students, events=args.events, section_size=25)
    evidence = [(e.kafka_key, encode(e)) for e in stream]
    print(
        f"generated {len(evidence):,} evidence events for {args.students:,} students in {time.perf_counter() - t:.1f}s"
    )
    topics = await create_topics(bootstrap, run)
    t = time.perf_counter()
    await produce(bootstrap, topics[1], [(e.kafka_key, encode(e)) for e in reference])
    await produce(bootstrap, topics[0], evidence)
    print(f"produced to {topics[0]} / {topics[1]} in {time.perf_counter() - t:.1f}s")
    return topics


async def main(args: argparse.Namespace) -> int:
    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        raise SystemExit("no broker: pass --bootstrap host:port or set KAFKA_BOOTSTRAP_SERVERS")
    if args.reuse:
        topics = (f"bench.mastery.{args.reuse}.evidence", f"bench.mastery.{args.reuse}.reference")
        print(f"reusing {topics[0]} / {topics[1]}")
    else:
        topics = await generate_and_produce(bootstrap, args)

    raw_records, raw_seconds, raw_cpu = await raw_consume(bootstrap, topics)
    raw_rate = raw_records / raw_seconds
    print(
        f"raw consume: {raw_records:,} records in {raw_seconds:.2f}s = {raw_rate:,.0f} records/s (CPU {raw_cpu:.1f}s)"
    )

    folder = Path(args.workdir or tempfile.mkdtemp(prefix="mastery-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rebuilt_url = args.database_url or f"sqlite+aiosqlite:///{folder / 'rebuilt.db'}"
    live_url = f"sqlite+aiosqlite:///{folder / 'live.db'}"
    for url in (rebuilt_url, live_url):
        await run_migrations(url, MIGRATIONS)
    engine = make_engine(rebuilt_url)
    cpu = _cpu_with_children()
    try:
        report = await rebuild(
            make_session_factory(engine),
            bootstrap,
            topics,
            "bench-rebuild",
            max_records=args.batch,
            workers=args.workers,
        )
    finally:
        await engine.dispose()
    rebuild_cpu = _cpu_with_children() - cpu
    again_records, again_seconds, again_cpu = await raw_consume(bootstrap, topics)
    print(f"raw consume again: {again_records / again_seconds:,.0f} records/s (CPU {again_cpu:.1f}s)")
    raw_rate = (raw_rate + again_records / again_seconds) / 2
    ratio = report.replay_rate / raw_rate
    print(
        f"rebuild replay ({report.workers} process{'es' if report.workers > 1 else ''}): {report.events:,} "
        f"records in {report.replay_seconds:.2f}s = {report.replay_rate:,.0f} records/s; bulk write of "
        f"{report.records:,} mastery records {report.write_seconds:.1f}s (CPU of the whole rebuild "
        f"{rebuild_cpu:.1f}s = {1e6 * rebuild_cpu / report.events:.1f} µs a record; raw consume "
        f"{1e6 * (raw_cpu + again_cpu) / 2 / raw_records:.1f} µs)"
    )
    print(
        f"replay / raw consume (mean of both) = {ratio:.2f} (target >= 0.5); load average now "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores"
    )

    rebuilt = await checksum(rebuilt_url)
    if args.skip_live:
        print(f"rebuilt checksum {rebuilt[0]} ({rebuilt[1]:,} rows); live path skipped")
        return 0
    live_records, live_seconds = await live_path(bootstrap, topics, live_url, args.live_batch)
    print(
        f"live path: {live_records:,} records in {live_seconds:.1f}s = {live_records / live_seconds:,.0f} records/s "
        f"(batches of {args.live_batch})"
    )
    live = await checksum(live_url)
    same = live == rebuilt
    print(
        f"checksum live    {live[0]} ({live[1]:,} rows)\nchecksum rebuilt {rebuilt[0]} ({rebuilt[1]:,} rows)\n"
        f"rebuilt == live: {same}"
    )
    return 0 if same else 1


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--students", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=20_000, help="records per fetch for raw consume and rebuild")
    parser.add_argument("--live-batch", type=int, default=2_000, help="records per live batch (one transaction)")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="rebuild processes, each a share of the evidence partitions (default: one per core)",
    )
    parser.add_argument("--bootstrap", default=None)
    parser.add_argument("--database-url", default=None, help="where the rebuild writes (default: a SQLite file)")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--skip-live", action="store_true", help="only raw consume and rebuild")
    parser.add_argument("--reuse", default=None, help="run id of topics produced earlier (bench.mastery.<id>.*)")
    return parser.parse_args()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse())))
