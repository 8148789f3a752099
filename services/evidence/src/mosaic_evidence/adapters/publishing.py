"""Publishing that waits for the broker's ack, but not forever, and remembers sends it gave up on.

aiokafka's idempotent producer keeps retrying a send until the broker returns; it cannot be
called back. When we stop waiting (and answer 503) the send lives on and may land later. The
retry of that request carries the same event ids (derived from its Idempotency-Key), so instead
of sending them a second time we wait for the send already under way: one record on the log.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from uuid import UUID

from faststream.kafka import KafkaBroker

from mosaic_events import Envelope
from mosaic_runtime.kafka import BrokerUnavailable, publish, publish_many

REMEMBERED_SENDS = 10_000


class AcknowledgedPublisher:
    """One per process; `publish` returns once every envelope is acknowledged or raises BrokerUnavailable."""

    def __init__(self, broker: KafkaBroker, timeout_seconds: float) -> None:
        self.broker = broker
        self.timeout = timeout_seconds
        self._sends: OrderedDict[UUID, asyncio.Task[None]] = OrderedDict()

    async def publish(self, envelopes: list[Envelope]) -> None:
        under_way = {self._sends[e.id] for e in envelopes if e.id in self._sends}
        new = [e for e in envelopes if e.id not in self._sends]
        if new:
            task = asyncio.ensure_future(self._send(new))
            task.add_done_callback(_retrieve_exception)
            for envelope in new:
                self._remember(envelope.id, task)
            under_way.add(task)
        try:
            async with asyncio.timeout(self.timeout):
                await asyncio.gather(*(asyncio.shield(t) for t in under_way))
        except TimeoutError:
            raise BrokerUnavailable(f"Kafka did not acknowledge {len(envelopes)} event(s) within "
                                    f"{self.timeout:g}s") from None
        except BrokerUnavailable:
            for envelope in envelopes:  # the send failed for good: a retry must send again
                self._sends.pop(envelope.id, None)
            raise

    async def _send(self, envelopes: list[Envelope]) -> None:
        if len(envelopes) == 1:
            await publish(self.broker, envelopes[0])
        else:
            await publish_many(self.broker, envelopes)

    def _remember(self, event_id: UUID, task: asyncio.Task[None]) -> None:
        self._sends[event_id] = task
        while len(self._sends) > REMEMBERED_SENDS:
            self._sends.popitem(last=False)


def _retrieve_exception(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
