"""Test support: a service's consumers on FastStream's in-memory `TestKafkaBroker`, over a real database.

The service's own `setup_consumers` wires its handler map exactly as in production (the chassis' batch
consumer: one transaction for state, outbox and positions); only the broker is in memory. A test delivers
envelopes and reads what the handlers wrote: the service's tables, its outbox, the dead letters. Delivery
guarantees (acks, commit timing, redelivery) still need the real-broker tests beside these.

FastStream's test broker gives every record offset 0, so each delivery goes to a partition of its own: the
consumer's stored positions (one per partition) then never mistake a new event for one already applied.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faststream import Context
from faststream.kafka import KafkaBroker, TestKafkaBroker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_events import Envelope, decode, encode
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.db import (
    OUTBOX,
    RUNTIME_METADATA,
    make_engine,
    make_session_factory,
    run_migrations,
    runtime_tables,
)
from mosaic_runtime.kafka import header_dict, make_broker
from mosaic_runtime.outbox import OutboxRelay
from mosaic_runtime.settings import ServiceSettings


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    event_type: str  # from the record's `type` header; "" when it had none
    reason: str
    error: str


@dataclass
class HandlerHarness:
    """The service's consumers on an in-memory broker; `deliver` an event, then look at what it changed."""

    ctx: ServiceContext
    broker: KafkaBroker
    dead_letters: list[DeadLetter] = field(default_factory=list)
    _partitions: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.ctx.sessions

    async def deliver(self, *envelopes: Envelope) -> None:
        """Each envelope, in order, as the service's consumer gets it from its topic."""
        for envelope in envelopes:
            await self.deliver_raw(
                envelope.topic, encode(envelope), key=envelope.kafka_key, headers=header_dict(envelope)
            )

    async def deliver_raw(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """A record as it sits on catalog topic `topic` (renamed as the settings say), readable or not."""
        name = self.ctx.settings.topic_overrides.get(topic, topic)
        partition = self._partitions[name]
        self._partitions[name] += 1
        await self.broker.publish(value, name, partition=partition, key=key, headers=headers)

    async def outbox(self) -> list[Envelope]:
        """What the handlers emitted, in commit order (the relay is not running: nothing leaves)."""
        table = runtime_tables(RUNTIME_METADATA)[OUTBOX]
        async with self.sessions() as session:
            rows = await session.execute(select(table.c.value).order_by(table.c.seq))
            return [decode(value) for (value,) in rows]


@contextlib.asynccontextmanager
async def handler_harness(
    settings: ServiceSettings, migrations: Path, setup_consumers: Callable[[ServiceContext], Any]
) -> AsyncIterator[HandlerHarness]:
    """Migrate `settings.database_url`, wire the service's consumers with `setup_consumers`, run them in memory."""
    await run_migrations(settings.database_url, migrations)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    broker = make_broker(settings)
    ctx = ServiceContext(settings, engine, sessions, broker, OutboxRelay(sessions, broker))
    setup_consumers(ctx)
    harness = HandlerHarness(ctx, broker)
    _collect_dead_letters(broker, harness.dead_letters)
    try:
        async with TestKafkaBroker(broker):
            yield harness
    finally:
        await engine.dispose()


def _collect_dead_letters(broker: KafkaBroker, into: list[DeadLetter]) -> None:
    """Subscribe to `<topic>.dlq` of every topic the consumers read, keeping what the chassis sends there."""
    topics = {t.name for subscriber in list(broker.subscribers) for t in subscriber.topics}
    for topic in sorted(topics):
        broker.subscriber(f"{topic}.dlq")(_dead_letter_keeper(f"{topic}.dlq", into))


def _dead_letter_keeper(dlq: str, into: list[DeadLetter]) -> Callable[..., Any]:
    async def keep(_body: bytes, message: Any = Context("message")) -> None:
        headers = message.headers
        reason, error = headers.get("x-mosaic-reason", ""), headers.get("x-mosaic-error", "")
        into.append(DeadLetter(dlq, headers.get("type", ""), reason, error))

    return keep
