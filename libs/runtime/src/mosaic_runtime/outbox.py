"""The one outbox: events a transaction decided to emit, published after it commits.

Services reach it through the publish port (`mosaic_runtime.publishing`, OUTBOX mode).
`emit_many` writes envelopes (and the trace context each was decided in) in the caller's
transaction; `OutboxRelay` publishes rows in order, waits for acks=all, then marks them
sent. A crash between publish and mark re-sends the same envelope id, which downstream
consumers recognise (invariant 5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import trace
from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_events import Envelope, encode
from mosaic_events.tracing import kafka_headers, trace_context
from mosaic_runtime.db import OUTBOX
from mosaic_runtime.metrics import EVENTS_PRODUCED, OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE_SECONDS

log = logging.getLogger(__name__)
tracer = trace.get_tracer("mosaic.outbox")


async def emit_many(
    session: AsyncSession,
    envelopes: Sequence[Envelope],
    trace_ctx_of: Callable[[Envelope], otel_context.Context | None] = lambda _: None,
) -> None:
    """Add envelopes in order with one statement (a batch can decide hundreds of events)."""
    if not envelopes:
        return
    now = datetime.now(UTC)
    await session.execute(
        insert(outbox_table()),
        [
            {
                "event_id": str(e.id),
                "topic": e.topic,
                "key": e.kafka_key,
                "value": encode(e),
                "headers": [[k, v.decode()] for k, v in kafka_headers(e, trace_ctx_of(e))],
                "created_at": now,
                "sent": False,
            }
            for e in envelopes
        ],
    )


def outbox_table() -> Table:
    from mosaic_runtime.db import RUNTIME_METADATA, runtime_tables

    return runtime_tables(RUNTIME_METADATA)[OUTBOX]


def _record_backlog(backlog: int, oldest: datetime | None) -> None:
    OUTBOX_BACKLOG.set(backlog)
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    OUTBOX_OLDEST_AGE_SECONDS.set(0 if oldest is None else max(0.0, (datetime.now(UTC) - oldest).total_seconds()))


class OutboxRelay:
    """Publishes committed outbox rows, in commit order, until stopped."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        broker: KafkaBroker,
        poll_seconds: float = 0.2,
        batch_size: int = 500,
    ) -> None:
        self._sessions = session_factory
        self._broker = broker
        self._poll = poll_seconds
        self._batch = batch_size
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Tell the relay a transaction just committed outbox rows."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in flight (so nothing is re-sent needlessly), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(self._task, timeout=timeout)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                while await self.relay_once() and not self._stopping:
                    pass
            except Exception as exc:  # broker or database away: keep the rows, retry later
                log.warning("outbox relay will retry: %s", exc)
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows; returns how many were published."""
        table = outbox_table()
        async with self._sessions() as session:
            query = select(table).where(table.c.sent.is_(False)).order_by(table.c.seq).limit(self._batch)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await session.execute(query)).all()
            if not rows:
                _record_backlog(0, None)
                await session.rollback()
                return 0
            futures = [await self._publish(row) for row in rows]
            await asyncio.gather(*futures)
            await session.execute(update(table).where(table.c.seq.in_([r.seq for r in rows])).values(sent=True))
            backlog, oldest = (
                await session.execute(select(func.count(), func.min(table.c.created_at)).where(table.c.sent.is_(False)))
            ).one()
            await session.commit()
        _record_backlog(backlog or 0, oldest)  # counted after marking this batch sent: what is left
        return len(rows)

    async def _publish(self, row: Row[Any]) -> asyncio.Future[object]:
        headers = {k: v for k, v in row.headers}
        event_type = headers.get("type", "?")
        with tracer.start_as_current_span(
            f"outbox publish {event_type}",
            context=trace_context(headers),
            kind=trace.SpanKind.PRODUCER,
            attributes={"mosaic.event_type": event_type, "mosaic.event_id": row.event_id},
        ):
            future = await self._broker.publish(
                row.value,
                row.topic,
                key=row.key,
                headers=headers,
                no_confirm=True,
            )
        EVENTS_PRODUCED.labels(event_type).inc()
        return future
