"""Fixtures for the chassis tests; the sample service lives in ./sample_service."""

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mosaic_runtime.db import RUNTIME_METADATA, make_engine, make_session_factory, runtime_tables

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    name = f"test.chassis.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name, 2, 1), NewTopic(f"{name}.dlq", 1, 1)])
    admin.close()
    return name


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A SQLite database holding only the chassis' tables (outbox, positions, processed ids)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/chassis.db")
    runtime_tables(RUNTIME_METADATA)
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    yield make_session_factory(engine)
    await engine.dispose()
