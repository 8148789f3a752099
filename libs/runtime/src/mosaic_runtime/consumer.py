"""The effectively-once consumer (invariant 5).

Per batch, one database transaction holds what the handlers derived, the events they
emit (outbox) and the consumed positions. Records at or below a stored position are
skipped, so Kafka redelivering a batch after a crash changes nothing; envelope ids already
processed are skipped too, so an upstream re-send changes nothing. Unreadable records go
to `<topic>.dlq` with the reason in their headers, and the consumer carries on.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import Context
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_events import Envelope, EventError, decode
from mosaic_events.tracing import trace_context
from mosaic_events.upcasting import upcast
from mosaic_runtime import outbox
from mosaic_runtime.db import POSITIONS, PROCESSED, RUNTIME_METADATA, runtime_tables
from mosaic_runtime.metrics import (
    CONSUMER_LAG,
    EVENT_AGE_SECONDS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    HANDLER_SECONDS,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer("mosaic.consumer")


# Every reason a record is dead-lettered for (EventError.reason values, plus a handler's rejection).
DEAD_LETTER_REASONS = ("invalid", "malformed", "unknown-type", "unsupported-version", "rejected")


class RejectEvent(Exception):
    """Raised by a handler, before it changes anything, for an event it cannot apply; it goes to the DLQ."""


@dataclass
class UnitOfWork:
    """What a handler gets: the batch's transaction, a way to emit events, and a batch-local cache."""

    session: AsyncSession
    envelope: Envelope | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    emitted: list[Envelope] = field(default_factory=list)
    trace_contexts: dict[str, otel_context.Context] = field(default_factory=dict)

    async def emit(self, envelope: Envelope) -> None:
        """Emit through the outbox, in the trace of its cause even when decided later in the batch."""
        await self.emit_many([envelope])

    async def emit_many(self, envelopes: Sequence[Envelope]) -> None:
        await outbox.emit_many(self.session, envelopes, self.cause_trace_context)
        self.emitted.extend(envelopes)

    def cause_trace_context(self, envelope: Envelope) -> otel_context.Context | None:
        """The trace context its cause was processed in, if the cause is in this batch."""
        return self.trace_contexts.get(str(envelope.causation_id)) if envelope.causation_id else None


Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
BatchHook = Callable[[UnitOfWork], Awaitable[None]]


@dataclass
class DeadLetter:
    record: ConsumerRecord
    reason: str
    error: str


class BatchApplier:
    """Applies consumed records to a service's state; shared by live consumers and replays."""

    def __init__(
        self,
        group: str,
        handlers: Mapping[str, Handler],
        session_factory: async_sessionmaker[AsyncSession],
        *,
        dedupe_ids: bool = True,
        before_commit: BatchHook | None = None,
        dead_letter: Callable[[Sequence[DeadLetter]], Awaitable[None]] | None = None,
        topics: Sequence[str] = (),
    ) -> None:
        self.group = group
        self.topics = tuple(topics)
        self.dead_letter = dead_letter
        self.handlers = handlers
        self.sessions = session_factory
        self.dedupe_ids = dedupe_ids
        self.before_commit = before_commit
        tables = runtime_tables(RUNTIME_METADATA)
        self.positions = tables[POSITIONS]
        self.processed = tables[PROCESSED]

    async def apply(self, records: Sequence[ConsumerRecord]) -> list[DeadLetter]:
        """Apply a batch in one transaction; return the records that belong in a DLQ."""
        started = time.perf_counter()
        dead: list[DeadLetter] = []
        async with self.sessions() as session, session.begin():
            stored = await self._load_positions(session, {(r.topic, r.partition) for r in records})
            fresh = [r for r in records if r.offset >= stored.get((r.topic, r.partition), 0)]
            envelopes = self._decode(fresh, dead)
            seen = await self._already_processed(session, [e for _, e in envelopes])
            uow = UnitOfWork(session)
            applied_ids: list[str] = []
            for record, envelope in envelopes:
                if str(envelope.id) in seen or (handler := self.handlers.get(envelope.type)) is None:
                    continue
                seen.add(str(envelope.id))
                try:
                    await self._handle(handler, uow, record, envelope)
                except RejectEvent as exc:
                    dead.append(DeadLetter(record, "rejected", str(exc)))
                    continue
                applied_ids.append(str(envelope.id))
            if self.before_commit is not None:
                await self.before_commit(uow)
            if dead and self.dead_letter is not None:  # before the commit: a dead letter is never lost
                await self.dead_letter(dead)
            await self._save_positions(session, fresh, stored)
            await self._mark_processed(session, applied_ids)
        HANDLER_SECONDS.labels(self.group).observe(time.perf_counter() - started)
        return dead

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
            uow.envelope = envelope
            uow.trace_contexts[str(envelope.id)] = otel_context.get_current()
            await handler(uow, envelope)
        EVENTS_CONSUMED.labels(envelope.type, self.group).inc()
        age = (datetime.now(UTC) - envelope.recorded_at).total_seconds()
        EVENT_AGE_SECONDS.labels(self.group, envelope.type).observe(max(0.0, age))

    def _decode(
        self, records: Iterable[ConsumerRecord], dead: list[DeadLetter]
    ) -> list[tuple[ConsumerRecord, Envelope]]:
        decoded = []
        for record in records:
            try:
                decoded.append((record, upcast(decode(record.value))))  # handlers see the current version
            except EventError as exc:
                dead.append(DeadLetter(record, exc.reason, str(exc)))
        return decoded

    async def _load_positions(
        self, session: AsyncSession, partitions: set[tuple[str, int]]
    ) -> dict[tuple[str, int], int]:
        t = self.positions
        rows = await session.execute(
            select(t.c.topic, t.c.partition, t.c.next_offset)
            .where(t.c.consumer_group == self.group)
            .where(t.c.topic.in_({topic for topic, _ in partitions}))
        )
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


async def send_to_dlq(broker: KafkaBroker, letters: Sequence[DeadLetter], group: str = "") -> None:
    """Publish unreadable records to `<topic>.dlq`, keeping key, value and headers, adding the reason."""
    for letter in letters:
        r = letter.record
        headers = {k: (v.decode(errors="replace") if isinstance(v, bytes) else str(v)) for k, v in (r.headers or ())}
        headers.update(
            {
                "x-mosaic-reason": letter.reason,
                "x-mosaic-error": letter.error[:2000],
                "x-mosaic-source": f"{r.topic}/{r.partition}/{r.offset}",
                "x-mosaic-group": group,
            }
        )
        await broker.publish(r.value or b"", f"{r.topic}.dlq", key=r.key, headers=headers)
        EVENTS_DEAD_LETTERED.labels(r.topic, letter.reason, group).inc()
        log.warning("sent %s/%s/%s to the DLQ: %s", r.topic, r.partition, r.offset, letter.error)


def subscribe(
    broker: KafkaBroker,
    topics: str | Sequence[str],
    *,
    group: str,
    handlers: Mapping[str, Handler],
    session_factory: async_sessionmaker[AsyncSession],
    dedupe_ids: bool = True,
    max_records: int = 500,
    session_timeout_ms: int = 45_000,
    on_committed: Callable[[], None] | None = None,
    before_commit: BatchHook | None = None,
) -> BatchApplier:
    """Register an effectively-once batch consumer for `topics` on the broker (before it starts)."""
    topic_list = [topics] if isinstance(topics, str) else list(topics)

    async def dead_letter(letters: Sequence[DeadLetter]) -> None:
        await send_to_dlq(broker, letters, group)

    for topic in topic_list:  # exported at 0 from the start, so the first dead letter shows as an increase
        for reason in DEAD_LETTER_REASONS:
            EVENTS_DEAD_LETTERED.labels(topic, reason, group)

    applier = BatchApplier(
        group, handlers, session_factory, dedupe_ids=dedupe_ids, before_commit=before_commit, dead_letter=dead_letter,
        topics=topic_list,
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
        await applier.apply(records)
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
    for topic, partition in {(r.topic, r.partition) for r in records}:
        last = max(r.offset for r in records if r.topic == topic and r.partition == partition)
        highwater = consumer.highwater(TopicPartition(topic, partition))
        if highwater is not None:
            CONSUMER_LAG.labels(group, topic, str(partition)).set(max(0, highwater - last - 1))
