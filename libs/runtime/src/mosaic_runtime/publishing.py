"""The one publish port, with two named modes; each write says which promise its answer makes (ADR 0006).

- ACKNOWLEDGED: the caller waits for the broker's ack (acks=all) before it commits and answers, so a
  201 promises the event is on the log. A send we stop waiting for lives on in aiokafka and may land
  later; a retry carrying the same event ids waits for that send instead of sending again.
- OUTBOX: the envelopes join the caller's transaction in the outbox; the relay publishes them after
  the commit. An answer promises the state is stored and the events will follow (202).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mosaic_events import Envelope
from mosaic_runtime import outbox
from mosaic_runtime.kafka import BrokerUnavailable, publish, publish_many

if TYPE_CHECKING:
    from mosaic_runtime.app import ServiceContext

__all__ = ["BrokerUnavailable", "Publisher", "publisher_of", "to_outbox"]

REMEMBERED_SENDS = 10_000
SEND_CHUNK = 1_000  # envelopes per send: a large write's progress is seen chunk by chunk
TraceContextOf = Callable[[Envelope], otel_context.Context | None]


async def to_outbox(
    session: AsyncSession, envelopes: Sequence[Envelope], trace_ctx_of: TraceContextOf | None = None
) -> list[Envelope]:
    """OUTBOX mode: add envelopes to the caller's transaction; ids already in the outbox are not added twice."""
    if not envelopes:
        return []
    table = outbox.outbox_table()
    present = set(
        (
            await session.execute(select(table.c.event_id).where(table.c.event_id.in_([str(e.id) for e in envelopes])))
        ).scalars()
    )
    fresh = [e for e in envelopes if str(e.id) not in present]
    await outbox.emit_many(session, fresh, trace_ctx_of or (lambda _: None))
    return fresh


class Publisher:
    """One per process: `acknowledged` waits for the ack (or raises BrokerUnavailable); after a transaction that
    used `to_outbox` commits, `committed` wakes the relay.

    The timeout bounds the wait for the *next* acknowledgement, not for all of them: a whole district's roster
    (53,000 events) takes longer than 10 s to send, and a broker that keeps acknowledging is available."""

    def __init__(self, broker: KafkaBroker, wake_relay: Callable[[], None], ack_timeout_seconds: float) -> None:
        self.broker = broker
        self.wake_relay = wake_relay
        self.timeout = ack_timeout_seconds
        self._sends: OrderedDict[UUID, asyncio.Task[None]] = OrderedDict()

    async def acknowledged(self, envelopes: Sequence[Envelope], trace_ctx_of: TraceContextOf | None = None) -> None:
        """ACKNOWLEDGED mode: return once every envelope is on the log; a send already under way is awaited.
        `trace_ctx_of` gives each envelope its request's trace where one send carries several requests' events."""
        if not envelopes:
            return
        under_way = {self._sends[e.id] for e in envelopes if e.id in self._sends}
        new = [e for e in envelopes if e.id not in self._sends]
        for start in range(0, len(new), SEND_CHUNK):
            chunk = new[start : start + SEND_CHUNK]
            task = asyncio.ensure_future(self._send(chunk, trace_ctx_of))
            task.add_done_callback(_retrieve_exception)
            for envelope in chunk:
                self._remember(envelope.id, task)
            under_way.add(task)
        await self._wait_for(under_way, envelopes)

    async def _wait_for(self, sends: set[asyncio.Task[None]], envelopes: Sequence[Envelope]) -> None:
        """Until every send is acknowledged; BrokerUnavailable when none is for `timeout` seconds (the sends live
        on, and a retry waits for them) or when one failed (for good: a retry must send again)."""
        pending = sends
        while pending:
            done, pending = await asyncio.wait(pending, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise BrokerUnavailable(
                    f"Kafka acknowledged none of the {len(envelopes)} event(s) still waiting within {self.timeout:g}s"
                )
            for task in done:
                failure = task.exception()
                if failure is not None:
                    for envelope in envelopes:
                        self._sends.pop(envelope.id, None)
                    raise failure

    def committed(self) -> None:
        """A transaction holding outbox rows committed: publish them now rather than at the next poll."""
        self.wake_relay()

    async def _send(self, envelopes: list[Envelope], trace_ctx_of: TraceContextOf | None) -> None:
        trace_ctx_of = trace_ctx_of or _current_trace
        if len(envelopes) == 1:
            await publish(self.broker, envelopes[0], trace_ctx_of(envelopes[0]))
        else:
            await publish_many(self.broker, envelopes, trace_ctx_of=trace_ctx_of)

    def _remember(self, event_id: UUID, task: asyncio.Task[None]) -> None:
        self._sends[event_id] = task
        while len(self._sends) > REMEMBERED_SENDS:
            self._sends.popitem(last=False)


def publisher_of(ctx: ServiceContext) -> Publisher:
    """The service's one Publisher (MOSAIC_<SERVICE>_PUBLISH_TIMEOUT_SECONDS bounds the wait for the next ack)."""
    publisher = ctx.state.get("publisher")
    if publisher is None:
        publisher = ctx.state["publisher"] = Publisher(ctx.broker, ctx.relay.wake, ctx.settings.publish_timeout_seconds)
    return publisher


def _current_trace(_envelope: Envelope) -> None:
    return None  # kafka_headers then injects the current context


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
