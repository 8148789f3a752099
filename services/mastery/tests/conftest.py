"""Shared helpers for the mastery tests: a migrated database and records as Kafka would deliver them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import mosaic_mastery
from mosaic_events import Envelope, encode
from mosaic_runtime.db import make_engine, make_session_factory, run_migrations

MIGRATIONS = Path(mosaic_mastery.__file__).parent / "migrations"


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await run_migrations(database_url, MIGRATIONS)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    await engine.dispose()


def as_records(envelopes: Iterable[Envelope], partitions: int = 4) -> list[ConsumerRecord]:
    """Envelopes as consumer records: keyed like the producer keys them, offsets per partition."""
    offsets: dict[tuple[str, int], int] = {}
    records = []
    for envelope in envelopes:
        key = envelope.kafka_key
        partition = hash(key) % partitions
        offset = offsets.get((envelope.topic, partition), 0)
        offsets[(envelope.topic, partition)] = offset + 1
        value = encode(envelope)
        records.append(
            ConsumerRecord(
                envelope.topic,
                partition,
                offset,
                0,
                0,
                key,
                value,
                None,
                len(key),
                len(value),
                [("type", envelope.type.encode())],
            )
        )
    return records
