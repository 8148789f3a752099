"""The effectively-once consumer (invariant 5).

Per batch, one database transaction holds what the handlers derived, the events they
emit (outbox) and the consumed positions. Records at or below a stored position are
skipped, so Kafka redelivering a batch after a crash changes nothing; envelope ids already
processed are skipped too, so an upstream re-send changes nothing. Unreadable records go
to `<topic>.dlq` with the reason in their headers, and the consumer carries on.

What a service does with each event type is one `HandlerMap`, keyed by event class and checked
against the catalog at start-up: every type on the topics it reads is handled, ignored by name, or
dead-lettered; the topics themselves are derived from the map.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import Context
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_events import Envelope, EventData, EventError, all_event_classes, decode
from mosaic_events.topics import Topic
from mosaic_events.tracing import trace_context
from mosaic_events.upcasting import UPCASTERS, upcast
from mosaic_runtime.db import POSITIONS, PROCESSED, RUNTIME_METADATA, runtime_tables
from mosaic_runtime.metrics import (
    CONSUMER_LAG,
    EVENT_AGE_SECONDS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    HANDLER_SECONDS,
)
from mosaic_runtime.publishing import to_outbox
from mosaic_runtime.settings import ServiceSettings

if TYPE_CHECKING:
    from mosaic_runtime.app import ServiceContext

log = logging.getLogger(__name__)
tracer = trace.get_tracer("mosaic.consumer")


# Every reason a record is dead-lettered for (EventError.reason values, plus a handler's rejection).
DEAD_LETTER_REASONS = ("invalid", "malformed", "unknown-type", "unsupported-version", "rejected", "unhandled")


class RejectEvent(Exception):
    """Raised by a handler, before it changes anything, for an event it cannot apply; it goes to the DLQ."""


# A record larger than this is refused before it is parsed; the types that carry a school's roster or a
# whole framework may be larger (the producer splits rosters into parts under 900 KB).
MAX_RECORD_BYTES = 256 * 1024
LARGE_TYPES = {"RosterChanged": 1024 * 1024, "FrameworkPublished": 4 * 1024 * 1024}


def oversize_reason(record: ConsumerRecord, max_record_bytes: int = MAX_RECORD_BYTES) -> str | None:
    """Why a record is too large to read, or None; the limit depends on its `type` header.

    Replays call this too, so a rebuild skips exactly what the live consumer dead-lettered.
    """
    size = len(record.value or b"")
    kind = next((v.decode(errors="replace") for k, v in (record.headers or ()) if k == "type"), "")
    limit = max(max_record_bytes, LARGE_TYPES.get(kind, 0))
    if size <= limit:
        return None
    return f"the record is {size} bytes; a {kind or 'record'} may be at most {limit} bytes"


@dataclass
class UnitOfWork:
    """What a handler gets: the batch's transaction, a way to emit events, a batch-local cache, and the
    service's own dependencies (`deps`: what it passed to `subscribe`, e.g. its settings)."""

    session: AsyncSession
    deps: Any = None
    cache: dict[str, Any] = field(default_factory=dict)
    trace_contexts: dict[str, otel_context.Context] = field(default_factory=dict)
    read_to_end: Callable[[str], Awaitable[bool]] | None = None

    async def has_read_all_of(self, topic: Topic) -> bool:
        """Whether every record on `topic` that is on the log now was applied before the current event, so what
        the service folded from it is complete: an event naming something it does not know is then wrong, not
        early (ADR 0004). False when it cannot tell (a replay, or a record of it still later in this batch)."""
        return self.read_to_end is not None and await self.read_to_end(topic.name)

    async def emit(self, envelope: Envelope) -> None:
        """Emit in OUTBOX mode, in the trace of its cause even when decided later in the batch."""
        await self.emit_many([envelope])

    async def emit_many(self, envelopes: Sequence[Envelope]) -> None:
        await to_outbox(self.session, envelopes, self.cause_trace_context)

    def cause_trace_context(self, envelope: Envelope) -> otel_context.Context | None:
        """The trace context its cause was processed in, if the cause is in this batch."""
        return self.trace_contexts.get(str(envelope.causation_id)) if envelope.causation_id else None


# handler(uow, event, envelope): the event is the typed data of the map's key; the envelope says who and when.
Handler = Callable[[UnitOfWork, Any, Envelope], Awaitable[None]]
BatchHook = Callable[[UnitOfWork], Awaitable[None]]


class UnmappedEventTypes(ValueError):
    """A service reads a topic carrying types its handler map does not decide about; it refuses to start."""


@dataclass(frozen=True)
class HandlerMap:
    """What a service does with each event type on the topics it reads: handle it, ignore it by name, or
    dead-letter it. `before_commit` runs once per batch, after the handlers (e.g. a batch fold)."""

    handled: Mapping[type[EventData], Handler]
    ignored: tuple[type[EventData], ...] = ()
    dead_lettered: tuple[type[EventData], ...] = ()
    before_commit: BatchHook | None = None

    def topics(self) -> tuple[Topic, ...]:
        """The catalog topics carrying the handled types, in the map's order."""
        return tuple(dict.fromkeys(cls.topic() for cls in self.handled))

    def check(self) -> None:
        """Every key is a catalog type, and every catalog type on `topics()` has a decision."""
        catalog = set(all_event_classes())
        decided = [*self.handled, *self.ignored, *self.dead_lettered]
        strangers = [cls.__name__ for cls in decided if cls not in catalog]
        if strangers:
            raise UnmappedEventTypes(f"{', '.join(strangers)} are not in the event catalog (mosaic_events)")
        undecided = [
            f"{cls.event_type} v{cls.version} ({cls.topic().name})"
            for cls in catalog
            if cls.topic() in self.topics() and cls not in decided and (cls.event_type, cls.version) not in UPCASTERS
        ]  # read as their newest version
        if undecided:
            raise UnmappedEventTypes(
                f"the handler map decides nothing about {', '.join(sorted(undecided))}: handle each, "
                "list it in `ignored`, or in `dead_lettered`"
            )

    def decide(self, data: EventData) -> Handler | DeadLetterReason | None:
        """The handler for this event, a reason to dead-letter it, or None to skip it (ignored by name)."""
        handler = self.handled.get(type(data))
        if handler is not None:
            return handler
        if type(data) in self.ignored:
            return None
        if type(data) in self.dead_lettered:
            return DeadLetterReason("unhandled", f"{data.event_type} v{data.version} is dead-lettered by this service")
        return DeadLetterReason("unhandled", f"{data.event_type} v{data.version} has no handler here")


@dataclass(frozen=True)
class DeadLetterReason:
    reason: str
    error: str


def subscribed_topics(handlers: HandlerMap, settings: ServiceSettings) -> tuple[str, ...]:
    """The topic names to read: the map's catalog topics, renamed by `topic_overrides` (isolated tests)."""
    return tuple(settings.topic_overrides.get(t.name, t.name) for t in handlers.topics())


@dataclass
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error: str
    group: str = ""


FIRST_TURN_RECORDS = 8  # doubles while turns stay short: a fast consumer soon applies a whole batch in one
SQLITE_PAUSE_BETWEEN_TURNS = 0.15  # longer than the busy handler's longest sleep between its tries (100 ms)


def next_turn_records(size: int, done: int, took: float, target: float) -> int:
    """Records in the next turn: scaled down to the target when the last took longer, doubled when a full turn
    took under half of it."""
    if took > target:
        return max(1, int(done * target / took))
    if done >= size and took < target / 2:
        return size * 2
    return size


class BatchApplier:
    """Applies consumed records to a service's state; shared by live consumers and replays."""

    def __init__(
        self,
        group: str,
        handlers: HandlerMap,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        deps: Any = None,
        dedupe_ids: bool = True,
        dead_letter: Callable[[Sequence[DeadLetter]], Awaitable[None]] | None = None,
        max_record_bytes: int = MAX_RECORD_BYTES,
        topics: Sequence[str] = (),
        turn_seconds: float | None = None,
        pause_between_turns: float = 0.0,
    ) -> None:
        handlers.check()
        self.turn_seconds = turn_seconds
        self.pause_between_turns = pause_between_turns
        self.turn_records = FIRST_TURN_RECORDS
        self.group = group
        self.max_record_bytes = max_record_bytes
        self.topics = tuple(topics)
        # catalog topic name -> the name read (they differ under `topic_overrides`)
        self.topic_names = dict(zip((t.name for t in handlers.topics()), self.topics, strict=False))
        self.dead_letter = dead_letter
        self.handlers = handlers
        self.deps = deps
        self.sessions = session_factory
        self.dedupe_ids = dedupe_ids
        tables = runtime_tables(RUNTIME_METADATA)
        self.positions = tables[POSITIONS]
        self.processed = tables[PROCESSED]

    async def apply(self, records: Sequence[ConsumerRecord], consumer: Any = None) -> list[DeadLetter]:
        """Apply a batch in one transaction; return the records that belong in a DLQ. With the live `consumer`
        (aiokafka), handlers may ask `uow.has_read_all_of(topic)`."""
        started = time.perf_counter()
        dead: list[DeadLetter] = []
        async with self.sessions() as session, session.begin():
            stored = await self._load_positions(session, {(r.topic, r.partition) for r in records})
            fresh = [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]
            envelopes = self._decode(fresh, dead)
            seen = await self._already_processed(session, [e for _, e in envelopes])
            done: dict[tuple[str, int], int] = {}  # positions past the records of this batch handled so far
            reader = None if consumer is None else self._reader(session, consumer, done)
            uow = UnitOfWork(session, self.deps, read_to_end=reader)
            applied_ids: list[str] = []
            for record, envelope in envelopes:
                try:
                    if str(envelope.id) in seen:
                        continue
                    handler = self.handlers.decide(envelope.data)
                    if handler is None:
                        continue
                    if isinstance(handler, DeadLetterReason):
                        dead.append(DeadLetter(record, handler.reason, handler.error, self.group))
                        continue
                    seen.add(str(envelope.id))
                    try:
                        await self._handle(handler, uow, record, envelope)
                    except RejectEvent as exc:
                        dead.append(DeadLetter(record, "rejected", str(exc), self.group))
                        continue
                    applied_ids.append(str(envelope.id))
                finally:
                    done[(record.topic, record.partition)] = record.offset + 1
            if self.handlers.before_commit is not None:
                await self.handlers.before_commit(uow)
            if dead and self.dead_letter is not None:  # before the commit: a dead letter is never lost
                await self.dead_letter(dead)
            await self._save_positions(session, fresh, stored)
            await self._mark_processed(session, applied_ids)
        HANDLER_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        return dead

    async def apply_in_turns(self, records: Sequence[ConsumerRecord], consumer: Any = None) -> list[DeadLetter]:
        """Apply a consumed batch in turns of about `turn_seconds`, each its own transaction (`apply`): a batch of
        slow records must not hold the database's locks against the API's writes for its whole length (SQLite
        has one writer; its busy timeout is 30 s). A turn's size follows the pace of the last; after a turn
        that held the lock long, `pause_between_turns` lets a writer that waited in (SQLite's busy handler
        retries every 100 ms at most)."""
        if self.turn_seconds is None:
            return await self.apply(records, consumer)
        dead: list[DeadLetter] = []
        start = 0
        while start < len(records):
            turn = records[start : start + self.turn_records]
            began = time.perf_counter()
            dead += await self.apply(turn, consumer)
            took = time.perf_counter() - began
            start += len(turn)
            self.turn_records = next_turn_records(self.turn_records, len(turn), took, self.turn_seconds)
            if start < len(records) and self.pause_between_turns and took >= self.turn_seconds / 2:
                await asyncio.sleep(self.pause_between_turns)
        return dead

    def _reader(
        self, session: AsyncSession, consumer: Any, done: dict[tuple[str, int], int]
    ) -> Callable[[str], Awaitable[bool]]:
        """`UnitOfWork.read_to_end`: the topic's end offsets now (asked of the broker, not a stale highwater)
        against the stored positions of the group (every replica's) and this batch's records handled so far."""

        async def read_to_end(catalog_name: str) -> bool:
            topic = self.topic_names.get(catalog_name, catalog_name)
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                return False
            ends = await consumer.end_offsets(partitions)
            t = self.positions
            rows = await session.execute(
                select(t.c.partition, t.c.next_offset).where(t.c.consumer_group == self.group, t.c.topic == topic)
            )
            stored = {r.partition: r.next_offset for r in rows}
            return all(
                max(stored.get(tp.partition, 0), done.get((topic, tp.partition), 0)) >= ends[tp] for tp in partitions
            )

        return read_to_end

    async def _handle(self, handler: Handler, uow: UnitOfWork, record: ConsumerRecord, envelope: Envelope) -> None:
        attributes = {
            "mosaic.event_type": envelope.type,
            "mosaic.event_id": str(envelope.id),
            "mosaic.district_id": envelope.district_id,
            "messaging.kafka.partition": record.partition,
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group,
        }
        with tracer.start_as_current_span(
            f"{envelope.type} process",
            context=trace_context(record.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        ):
            uow.trace_contexts[str(envelope.id)] = otel_context.get_current()
            await handler(uow, envelope.data, envelope)
        EVENTS_CONSUMED.labels(envelope.type, self.group).inc()
        age = (datetime.now(UTC) - envelope.recorded_at).total_seconds()
        EVENT_AGE_SECONDS.labels(self.group, envelope.type).observe(max(0.0, age))

    def _decode(
        self, records: Iterable[ConsumerRecord], dead: list[DeadLetter]
    ) -> list[tuple[ConsumerRecord, Envelope]]:
        decoded = []
        for record in records:
            too_big = self._oversize(record)
            if too_big:
                dead.append(DeadLetter(record, "rejected", too_big, self.group))
                continue
            try:
                decoded.append((record, upcast(decode(record.value))))  # handlers see the current version
            except EventError as exc:
                dead.append(DeadLetter(record, exc.reason, str(exc), self.group))
        return decoded

    def _oversize(self, record: ConsumerRecord) -> str | None:
        return oversize_reason(record, self.max_record_bytes)

    async def _load_positions(
        self, session: AsyncSession, partitions: set[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        t = self.positions
        query = (
            select(t.c.topic, t.c.partition, t.c.next_offset)
            .where(t.c.consumer_group == self.group)
            .where(tuple_(t.c.topic, t.c.partition).in_(sorted(partitions)))
            .order_by(t.c.topic, t.c.partition)
        )
        if session.get_bind().dialect.name == "postgresql":
            # A replica that lost these partitions in a rebalance may still be applying them: lock the rows
            # (created first if new, in one order) so the new owner waits and then reads what the old committed.
            await session.execute(
                pg_insert(t)
                .values(
                    [
                        {"consumer_group": self.group, "topic": topic, "partition": partition, "next_offset": 0}
                        for topic, partition in sorted(partitions)
                    ]
                )
                .on_conflict_do_nothing()
            )
            query = query.with_for_update()
        rows = await session.execute(query)
        return {(r.topic, r.partition): r.next_offset for r in rows}

    async def _save_positions(
        self, session: AsyncSession, records: Sequence[ConsumerRecord], stored: dict[tuple[str, int], int]
    ) -> None:
        latest: dict[tuple[str, int], int] = {}
        for r in records:
            latest[(r.topic, r.partition)] = max(latest.get((r.topic, r.partition), 0), r.offset + 1)
        t = self.positions
        for (topic, partition), next_offset in latest.items():
            where = (t.c.consumer_group == self.group) & (t.c.topic == topic) & (t.c.partition == partition)
            if (topic, partition) in stored:
                await session.execute(update(t).where(where).values(next_offset=next_offset))
            else:
                await session.execute(
                    insert(t).values(
                        consumer_group=self.group, topic=topic, partition=partition, next_offset=next_offset
                    )
                )

    async def _already_processed(self, session: AsyncSession, envelopes: Sequence[Envelope]) -> set[str]:
        if not self.dedupe_ids or not envelopes:
            return set()
        t = self.processed
        ids = [str(e.id) for e in envelopes]
        rows = await session.execute(
            select(t.c.event_id).where(t.c.consumer_group == self.group).where(t.c.event_id.in_(ids))
        )
        return {r.event_id for r in rows}

    async def _mark_processed(self, session: AsyncSession, ids: list[str]) -> None:
        if self.dedupe_ids and ids:
            await session.execute(insert(self.processed), [{"consumer_group": self.group, "event_id": i} for i in ids])


async def send_to_dlq(broker: KafkaBroker, letters: Sequence[DeadLetter]) -> None:
    """Publish unreadable records to `<topic>.dlq`, keeping key, value and headers, adding the reason and the group."""
    for letter in letters:
        r = letter.record
        headers = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in (r.headers or ())}
        headers.update(
            {
                "x-mosaic-reason": letter.reason,
                "x-mosaic-error": letter.error[:2000],
                "x-mosaic-source": f"{r.topic}/{r.partition}/{r.offset}",
                "x-mosaic-consumer-group": letter.group,
            }
        )
        await broker.publish(r.value or b"", f"{r.topic}.dlq", key=r.key, headers=headers)
        EVENTS_DEAD_LETTERED.labels(r.topic, letter.reason, letter.group).inc()
        log.warning("sent %s/%s/%s to the DLQ: %s", r.topic, r.partition, r.offset, letter.error)


def subscribe(
    ctx: ServiceContext,
    handlers: HandlerMap,
    *,
    deps: Any = None,
    on_committed: Callable[[], None] | None = None,
    dedupe_ids: bool = True,
) -> BatchApplier:
    """Register the service's effectively-once batch consumer for the map's topics (before the broker starts).

    Group, batch size and session timeout come from the service's settings; `deps` reaches every handler
    as `uow.deps`; `on_committed` runs after each batch commits (wake the relay, a worker).
    """
    settings, broker = ctx.settings, ctx.broker
    group, max_records, session_timeout_ms = (
        settings.consumer_group,
        settings.consumer_max_records,
        settings.consumer_session_timeout_ms,
    )
    topic_list = list(subscribed_topics(handlers, settings))

    async def dead_letter(letters: Sequence[DeadLetter]) -> None:
        await send_to_dlq(broker, letters)

    for topic in topic_list:  # exported at 0 from the start, so the first dead letter shows as an increase
        for reason in DEAD_LETTER_REASONS:
            EVENTS_DEAD_LETTERED.labels(topic, reason, group)

    applier = BatchApplier(
        group,
        handlers,
        ctx.sessions,
        deps=deps,
        dedupe_ids=dedupe_ids,
        dead_letter=dead_letter,
        max_record_bytes=ctx.settings.consumer_max_record_bytes,
        topics=topic_list,
        turn_seconds=settings.consumer_turn_seconds or None,
        pause_between_turns=SQLITE_PAUSE_BETWEEN_TURNS if settings.database_url.startswith("sqlite") else 0.0,
    )
    _APPLIERS.setdefault(broker, []).append(applier)

    # A generous session timeout (Kafka's own client default, 45 s): a busy node or a long batch must not be
    # evicted from the group for missing a few heartbeats. Tests that kill consumers lower it.
    @broker.subscriber(
        *topic_list,
        group_id=group,
        batch=True,
        max_records=max_records,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch_timeout_ms=100,
        session_timeout_ms=session_timeout_ms,
        heartbeat_interval_ms=3_000,
    )
    async def consume(_body: Any, message: Any = Context("message")) -> None:
        records: Sequence[ConsumerRecord] = message.raw_message
        if not isinstance(records, list | tuple):
            records = [records]
        await applier.apply_in_turns(records, getattr(message, "consumer", None))
        if on_committed is not None:
            on_committed()
        _record_lag(message, group, records)

    return applier


_APPLIERS: weakref.WeakKeyDictionary[KafkaBroker, list[BatchApplier]] = weakref.WeakKeyDictionary()


def appliers_of(broker: KafkaBroker) -> list[BatchApplier]:
    """The consumers `subscribe` registered on a broker: a replay applies records through the same wiring."""
    return list(_APPLIERS.get(broker, ()))


def _record_lag(message: Any, group: str, records: Sequence[ConsumerRecord]) -> None:
    consumer = getattr(message, "consumer", None)
    if consumer is None or not hasattr(consumer, "highwater"):
        return
    assigned = consumer.assignment()
    for topic, partition in {(r.topic, r.partition) for r in records}:
        if TopicPartition(topic, partition) not in assigned:
            # Revoked while the batch was applied (a rebalance): asking its highwater would raise after the
            # commit, FastStream would nack (seek) a partition it no longer has, and its consume loop would die.
            continue
        last = max(r.offset for r in records if r.topic == topic and r.partition == partition)
        highwater = consumer.highwater(TopicPartition(topic, partition))
        if highwater is not None:
            CONSUMER_LAG.labels(group, topic, str(partition)).set(max(0, highwater - last - 1))
