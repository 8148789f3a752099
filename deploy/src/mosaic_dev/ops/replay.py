"""Rebuild a service's state from the log up to a point in time, into a new database.

The service's own consumers (handlers, batch hooks, positions, outbox) apply every record written before the
cut-off, exactly as they did live; nothing is published: what the replay decides to emit was emitted the
first time, so its outbox rows are marked sent. Then `mosaic-ops positions restore` points the service's group
at the new database's positions and the service, started on the new database, carries on from the cut-off.

What the service keeps that is not in the log (mastery: each district's settings, set through its API) is copied
from the live database first; the replay folds with those current settings. Only mastery is replayable: notify's
deliveries to families are outside the log (a replay would write to them again) and scheduling's flex blocks,
rooms and teachers are defined through its API; restore their backups instead.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

REPLAYABLE = {"mastery": "MasterySettings"}
NOT_IN_THE_LOG = {"mastery": ("district_settings",)}  # tables the service's API writes: copied, not replayed
REFUSED = {
    "notify": "its deliveries to families are outside the log (a replay would write to them again)",
    "scheduling": "its flex blocks, rooms and teachers are defined through its API, not in the log",
}


@dataclass
class ReplaySummary:
    applied: int = 0  # records handed to the service's consumers
    dead_lettered: int = 0  # records its consumers could not read (not sent to a DLQ again: they were, live)
    cutoffs: dict[str, int] = field(default_factory=dict)  # "<topic>/<partition>" -> first offset not replayed
    emitted: int = 0  # outbox rows decided again and marked sent
    copied: int = 0  # rows copied from the live database (what the log does not hold)


def service_app(service: str, database_url: str, bootstrap: str) -> Any:
    """The service's app on `database_url`, its broker never started (nothing is consumed or published live)."""
    if service not in REPLAYABLE:
        why = REFUSED.get(service, f"choose one of {', '.join(REPLAYABLE)}")
        raise ValueError(f"{service} cannot be replayed to a point in time: {why}; restore its backup instead")
    settings_cls = getattr(importlib.import_module(f"mosaic_{service}.settings"), REPLAYABLE[service])
    settings = settings_cls(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, kafka_enabled=False, migrate_at_start=True
    )
    return importlib.import_module(f"mosaic_{service}.main").build_app(settings)


async def copy_what_the_log_lacks(service: str, live_url: str, ctx: Any) -> int:
    """Copy the tables the service's API writes (not derived from the log) from the live database."""
    from mosaic_runtime.db import make_engine

    metadata = importlib.import_module(f"mosaic_{service}.adapters.tables").metadata
    live = make_engine(live_url)
    copied = 0
    try:
        async with live.connect() as source, ctx.sessions() as session, session.begin():
            for name in NOT_IN_THE_LOG.get(service, ()):
                rows = [dict(r._mapping) for r in await source.execute(select(metadata.tables[name]))]
                if rows:
                    await session.execute(insert(metadata.tables[name]), rows)
                copied += len(rows)
    finally:
        await live.dispose()
    return copied


async def replay_until(
    service: str,
    database_url: str,
    bootstrap: str,
    *,
    until_ms: int,
    live_url: str,
    advance: Callable[[int], None] = lambda _: None,
    batch: int = 500,
) -> ReplaySummary:
    """Apply every record of the service's topics with a timestamp before `until_ms` to `database_url`."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from mosaic_runtime.consumer import appliers_of
    from mosaic_runtime.outbox import outbox_table

    app = service_app(service, database_url, bootstrap)
    summary = ReplaySummary()
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        summary.copied = await copy_what_the_log_lacks(service, live_url, ctx)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            for live in appliers_of(ctx.broker):
                applier = copy.copy(live)
                applier.dead_letter = None  # dead letters were sent when these records were first read
                partitions = [
                    TopicPartition(t, p)
                    for t in applier.topics
                    for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
                ]
                ends = await consumer.end_offsets(partitions)
                found = await consumer.offsets_for_times({tp: until_ms for tp in partitions})
                cutoffs = {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in partitions}
                summary.cutoffs.update({f"{tp.topic}/{tp.partition}": cutoffs[tp] for tp in partitions})
                consumer.assign(partitions)
                await consumer.seek_to_beginning(*partitions)
                async for records in _in_written_order(consumer, cutoffs, batch):
                    dead = await applier.apply(records)
                    summary.applied += len(records)
                    summary.dead_lettered += len(dead)
                    advance(len(records))
        finally:
            await consumer.stop()
        async with ctx.sessions() as session, session.begin():
            table = outbox_table()
            done = await session.execute(update(table).where(table.c.sent.is_(False)).values(sent=True))
            summary.emitted = done.rowcount or 0
    return summary


async def _in_written_order(consumer: Any, cutoffs: dict[Any, int], batch: int) -> AsyncIterator[list[Any]]:
    """Records before the cut-offs, merged across partitions and topics by timestamp: the order they were
    written in, which is the order a caught-up live consumer saw them (a roster before the evidence it allows)."""
    heads: dict[Any, list[Any]] = {}
    finished = {tp for tp, cutoff in cutoffs.items() if await consumer.position(tp) >= cutoff}
    chunk: list[Any] = []
    while True:
        for tp in [tp for tp in cutoffs if tp not in finished and not heads.get(tp)]:
            fetched = await consumer.getmany(tp, timeout_ms=1000, max_records=batch)
            heads[tp] = [r for r in fetched.get(tp, []) if r.offset < cutoffs[tp]]
            if await consumer.position(tp) >= cutoffs[tp] and not heads[tp]:
                finished.add(tp)
        ready = [tp for tp, records in heads.items() if records]
        if not ready:
            if len(finished) == len(cutoffs):
                break
            continue
        if len(ready) < len(cutoffs) - len(finished):
            continue  # a partition still fetching may hold an earlier record
        earliest = min(ready, key=lambda tp: (heads[tp][0].timestamp, tp.topic, tp.partition))
        chunk.append(heads[earliest].pop(0))
        if len(chunk) >= batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _partitions(consumer: Any, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or set()
