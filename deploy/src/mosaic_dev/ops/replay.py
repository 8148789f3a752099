"""Rebuild a service's state from the log up to a point in time, into a new database.

The service's own consumers (handlers, batch hooks, positions, outbox) apply every record written before the
cut-off, exactly as they did live; nothing is published and nothing is delivered. Then `mosaic-ops positions
restore` points the service's group at the new database's positions and the service, started on the new
database, carries on from the cut-off.

Two kinds of state are not rebuilt from the log (ADR 0020):
- what the service's API writes (mastery's district settings, scheduling's schools, blocks, rooms, teachers,
  sessions and placements, notify's preferences and rules, every audit trail) is copied from the live database;
  the replay folds with today's definitions;
- what the service told the world (scheduling's published schedules, notify's news and its deliveries to
  families) cannot be told again or untold: it is carried whole from the live database, before the replay (so
  the service's once-only guards see it and decide nothing again) and after it (so nothing the replay decided
  survives). Such a service must be stopped first: its record must not change while it is carried.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, Table, delete, func, insert, select, text, update

from mosaic_runtime.audit import AUDIT_LOG, AUDIT_RETENTION

AUDIT = (AUDIT_LOG, AUDIT_RETENTION)


@dataclass(frozen=True)
class Replayable:
    """How one service is replayed: its settings class, and the tables the log does not rebuild."""

    settings: str
    not_in_the_log: tuple[str, ...]  # written through its API: copied from live, the replay folds with them
    told: tuple[str, ...] = ()  # what it told the world: carried whole from live, never decided again
    quiet: dict[str, Any] = field(default_factory=dict)  # settings that keep the replay from acting on the world


REPLAYABLE = {
    "mastery": Replayable("MasterySettings", ("district_settings", *AUDIT)),
    "scheduling": Replayable(
        "SchedulingSettings",
        (
            "schools",
            "blocks",
            "rooms",
            "teachers",
            "sessions",
            "support_plans",
            "student_requests",
            "placements",
            "attendance",
            "calendar_feed_tokens",
            *AUDIT,
        ),
        told=("schedules", "schedule_assignments"),
    ),
    "notify": Replayable(
        "NotifySettings",
        ("notify_preferences", "notify_district_rules", *AUDIT),
        told=(
            "notify_news",
            "notify_notifications",
            "notify_digest_items",
            "notify_delivery_log",
            "notify_told_news",
            "notify_instant_counts",
        ),
        quiet={"delivery_enabled": False},
    ),
}
NOT_IN_THE_LOG = {service: r.not_in_the_log for service, r in REPLAYABLE.items()}


@dataclass
class ReplaySummary:
    applied: int = 0  # records handed to the service's consumers
    dead_lettered: int = 0  # records its consumers could not read (not sent to a DLQ again: they were, live)
    cutoffs: dict[str, int] = field(default_factory=dict)  # "<topic>/<partition>" -> first offset not replayed
    emitted: int = 0  # outbox rows decided again and marked sent
    copied: int = 0  # rows copied from the live database (what the log does not hold)
    carried: int = 0  # rows of what the service told the world, carried from the live database
    discarded: int = 0  # rows the replay added to what the service told (decided again): replaced by live's
    unsent: int = 0  # outbox rows the live service had not published yet: the new database publishes them


def replayable(service: str) -> Replayable:
    if service not in REPLAYABLE:
        raise ValueError(f"{service} cannot be replayed to a point in time: choose one of {', '.join(REPLAYABLE)}")
    return REPLAYABLE[service]


def service_app(service: str, database_url: str, bootstrap: str) -> Any:
    """The service's app on `database_url`, its broker never started (nothing is consumed or published live)."""
    how = replayable(service)
    settings_cls = getattr(importlib.import_module(f"mosaic_{service}.settings"), how.settings)
    settings = settings_cls(
        database_url=database_url,
        kafka_bootstrap_servers=bootstrap,
        kafka_enabled=False,
        migrate_at_start=True,
        **how.quiet,
    )
    return importlib.import_module(f"mosaic_{service}.main").build_app(settings)


async def copy_tables(service: str, names: tuple[str, ...], live_url: str, ctx: Any, *, replace: bool = False) -> int:
    """Copy tables from the live database (replacing what the new one holds, if `replace`); returns the rows."""
    from mosaic_runtime.db import make_engine

    metadata = importlib.import_module(f"mosaic_{service}.adapters.tables").metadata
    live = make_engine(live_url)
    copied = 0
    try:
        async with live.connect() as source, ctx.sessions() as session, session.begin():
            for name in names:
                table = metadata.tables[name]
                if replace:
                    await session.execute(delete(table))
                rows = [dict(r._mapping) for r in await source.execute(select(table))]
                for start in range(0, len(rows), 1000):
                    await session.execute(insert(table), rows[start : start + 1000])
                copied += len(rows)
                await _advance_sequence(session, table)
    finally:
        await live.dispose()
    return copied


async def copy_what_the_log_lacks(service: str, live_url: str, ctx: Any) -> int:
    """Copy the tables the service's API writes (not derived from the log) from the live database."""
    return await copy_tables(service, replayable(service).not_in_the_log, live_url, ctx)


async def _advance_sequence(session: Any, table: Table) -> None:
    """PostgreSQL: rows copied with their ids leave the id sequence behind; move it past them."""
    keys = list(table.primary_key.columns)
    if session.get_bind().dialect.name != "postgresql" or len(keys) != 1 or not isinstance(keys[0].type, Integer):
        return
    if keys[0].autoincrement not in (True, "auto"):
        return
    await session.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{keys[0].name}'), "
            f"COALESCE((SELECT MAX({keys[0].name}) FROM {table.name}), 0) + 1, false)"
        )
    )


async def count_rows(ctx: Any, service: str, names: tuple[str, ...]) -> int:
    metadata = importlib.import_module(f"mosaic_{service}.adapters.tables").metadata
    async with ctx.sessions() as session:
        return sum([await session.scalar(select(func.count()).select_from(metadata.tables[n])) or 0 for n in names])


async def carry_unsent(live_url: str, ctx: Any) -> int:
    """Outbox rows the live service decided but had not published when it stopped: the new database owes them.
    A row the replay decided again (same derived id) is un-marked; one it did not is copied."""
    from mosaic_runtime.db import make_engine
    from mosaic_runtime.outbox import outbox_table

    table = outbox_table()
    live = make_engine(live_url)
    try:
        async with live.connect() as source:
            rows = [
                dict(r._mapping)
                for r in await source.execute(select(table).where(table.c.sent.is_(False)).order_by(table.c.seq))
            ]
    finally:
        await live.dispose()
    async with ctx.sessions() as session, session.begin():
        for row in rows:
            again = await session.execute(update(table).where(table.c.event_id == row["event_id"]).values(sent=False))
            if not again.rowcount:
                await session.execute(insert(table).values({k: v for k, v in row.items() if k != "seq"}))
    return len(rows)


async def refuse_while_running(service: str, settings: Any, bootstrap: str, wait_seconds: float) -> None:
    """A service whose record of what it told is carried must be stopped: that record must not move meanwhile."""
    from mosaic_dev.ops.positions import wait_until_stopped

    if not replayable(service).told:
        return
    try:
        wait_until_stopped(bootstrap, settings.consumer_group, wait_seconds)
    except RuntimeError as exc:
        raise ValueError(
            f"{exc}; {service} must be stopped for a replay: what it told is carried from its database"
        ) from None


async def replay_until(
    service: str,
    database_url: str,
    bootstrap: str,
    *,
    until_ms: int | None,
    live_url: str,
    until_offsets: dict[str, int] | None = None,
    advance: Callable[[int], None] = lambda _: None,
    batch: int = 500,
    wait_seconds: float = 30.0,
) -> ReplaySummary:
    """Apply every record of the service's topics with a timestamp before `until_ms` to `database_url`; a
    partition named in `until_offsets` ("<topic>/<partition>" -> offset) stops before that offset instead
    (without `until_ms`, the partitions not named are replayed to their end)."""
    from aiokafka import AIOKafkaConsumer

    from mosaic_runtime.consumer import appliers_of
    from mosaic_runtime.outbox import outbox_table

    how = replayable(service)
    app = service_app(service, database_url, bootstrap)
    summary = ReplaySummary()
    await refuse_while_running(service, app.state.settings, bootstrap, wait_seconds)
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        await consumer.start()
        try:
            plans = [
                (applier, await _cutoffs(consumer, applier.topics, until_ms, until_offsets or {}))
                for applier in appliers_of(ctx.broker)
            ]
            summary.cutoffs = {f"{tp.topic}/{tp.partition}": n for _, cutoffs in plans for tp, n in cutoffs.items()}
            unknown = set(until_offsets or {}) - set(summary.cutoffs)
            if unknown:
                raise ValueError(
                    f"{service} does not read {', '.join(sorted(unknown))}; name partitions as <topic>/<partition> "
                    f"among: {', '.join(sorted(summary.cutoffs))}"
                )
            summary.copied = await copy_what_the_log_lacks(service, live_url, ctx)
            summary.carried = await copy_tables(service, how.told, live_url, ctx)
            for live, cutoffs in plans:
                applier = copy.copy(live)
                applier.dead_letter = None  # dead letters were sent when these records were first read
                consumer.assign(list(cutoffs))
                await consumer.seek_to_beginning(*cutoffs)
                async for records in _in_written_order(consumer, cutoffs, batch):
                    dead = await applier.apply(records)
                    summary.applied += len(records)
                    summary.dead_lettered += len(dead)
                    advance(len(records))
        finally:
            await consumer.stop()
        if how.told:  # what the replay decided again about the world gives way to what live did
            summary.discarded = max(0, await count_rows(ctx, service, how.told) - summary.carried)
            summary.carried = await copy_tables(service, how.told, live_url, ctx, replace=True)
        async with ctx.sessions() as session, session.begin():
            table = outbox_table()
            done = await session.execute(update(table).where(table.c.sent.is_(False)).values(sent=True))
            summary.emitted = done.rowcount or 0
        summary.unsent = await carry_unsent(live_url, ctx)
    return summary


async def _cutoffs(consumer: Any, topics: Any, until_ms: int | None, until_offsets: dict[str, int]) -> dict[Any, int]:
    """Per partition of the topics, the first offset not replayed: at the instant, or as named, or the end."""
    from aiokafka import TopicPartition

    partitions = [
        TopicPartition(t, p)
        for t in topics
        for p in sorted(consumer.partitions_for_topic(t) or await _partitions(consumer, t))
    ]
    ends = await consumer.end_offsets(partitions)
    found = await consumer.offsets_for_times({tp: until_ms for tp in partitions}) if until_ms is not None else {}
    cutoffs = {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in partitions}
    for tp in partitions:
        named = until_offsets.get(f"{tp.topic}/{tp.partition}")
        cutoffs[tp] = cutoffs[tp] if named is None else min(named, ends[tp])
    return cutoffs


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
