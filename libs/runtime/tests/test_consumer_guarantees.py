"""Guarantees FastStream does not give by default: acks=all + idempotence on the producer, offsets
committed only after handling, and a shutdown that finishes the batch in flight and commits it."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from mosaic_events import Envelope, encode
from mosaic_events.catalog import EvidenceRecorded
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.app import ServiceContext, create_service
from mosaic_runtime.consumer import UnitOfWork, next_turn_records, subscribe
from mosaic_runtime.settings import ServiceSettings

sys.path.insert(0, str(Path(__file__).parent))
from sample_service.harness import (
    KEY,
    MIGRATIONS,
    applied_rows,
    count_and_echo,
    evidence,
    produce,
    running,
    sample_map,
    wait_for,
)
from sample_service.models import metadata


def service_with(handler, bootstrap: str, database_url: str, topic_name: str, group: str, before_commit=None, **more):  # type: ignore[no-untyped-def]
    settings = ServiceSettings(
        service_name="sample",
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,
        consumer_group=group,
        oidc_jwks_json=KEY.jwks_json,
        consumer_max_records=50,
        topic_overrides={"mosaic.evidence.v1": topic_name},
        **more,
    )

    def consumers(ctx: ServiceContext) -> None:
        subscribe(
            ctx,
            sample_map(handler, before_commit),
        )

    return create_service(settings, title="sample", migrations=MIGRATIONS, metadata=metadata, setup_consumers=consumers)


async def committed_offsets(bootstrap: str, topic_name: str, group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        total = 0
        for partition in (0, 1):
            total += await consumer.committed(TopicPartition(topic_name, partition)) or 0
        return total
    finally:
        await consumer.stop()


@pytest.mark.integration
async def test_the_producer_waits_for_all_replicas_and_is_idempotent(kafka_bootstrap, topic, tmp_path):
    app = service_with(count_and_echo, kafka_bootstrap, f"sqlite+aiosqlite:///{tmp_path}/p.db", topic, "g-p")
    async with running(app):
        producer = app.state.ctx.broker.config.producer._producer.producer  # the aiokafka producer
        assert producer._sender._acks == -1  # acks=all
        assert producer._txn_manager is not None  # aiokafka's idempotence state (producer id, sequences)


@pytest.mark.integration
async def test_a_failing_handler_loses_nothing_the_batch_comes_back(kafka_bootstrap, topic, tmp_path):
    failures = {"left": 1}

    async def flaky(uow: UnitOfWork, event: EvidenceRecorded, envelope: Envelope) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("database hiccup")
        await count_and_echo(uow, event, envelope)

    events = [evidence(f"s-{i}") for i in range(5)]
    await produce(kafka_bootstrap, topic, [(e.kafka_key, encode(e), kafka_headers(e)) for e in events])
    app = service_with(
        flaky, kafka_bootstrap, f"sqlite+aiosqlite:///{tmp_path}/f.db", topic, f"g-{uuid.uuid4().hex[:6]}"
    )
    async with running(app):

        async def all_applied() -> bool:
            return len(await applied_rows(app)) == len(events)

        await wait_for(all_applied)
    assert failures["left"] == 0
    assert set((await applied_rows_after(app)).values()) == {1}


async def applied_rows_after(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from mosaic_runtime.db import make_engine, make_session_factory
    from sample_service.models import applied

    engine = make_engine(app.state.settings.database_url)
    async with make_session_factory(engine)() as session:
        rows = {r.event_id: r.times for r in await session.execute(select(applied))}
    await engine.dispose()
    return rows


@pytest.mark.integration
async def test_shutdown_finishes_the_batch_in_flight_and_commits_it(kafka_bootstrap, topic, tmp_path):
    started = asyncio.Event()

    async def slow(uow: UnitOfWork, event: EvidenceRecorded, envelope: Envelope) -> None:
        started.set()
        await asyncio.sleep(0.05)
        await count_and_echo(uow, event, envelope)

    events = [evidence(f"s-{i}") for i in range(40)]
    await produce(kafka_bootstrap, topic, [(e.kafka_key, encode(e), kafka_headers(e)) for e in events])
    group = f"g-{uuid.uuid4().hex[:6]}"
    app = service_with(slow, kafka_bootstrap, f"sqlite+aiosqlite:///{tmp_path}/s.db", topic, group)
    async with running(app):
        await asyncio.wait_for(started.wait(), timeout=60)
    # The lifespan has exited mid-batch: what was in flight is applied and its offsets committed.
    applied = await applied_rows_after(app)
    assert applied, "the batch in flight was dropped"
    assert await committed_offsets(kafka_bootstrap, topic, group) == len(applied)


@pytest.mark.integration
async def test_a_slow_batch_is_applied_in_turns_and_a_waiting_write_gets_in_before_it_ends(
    kafka_bootstrap, topic, tmp_path
):
    """Fifty records of 0.05 s each (holding SQLite's one write lock) are applied in turns of about 0.5 s, each its
    own transaction; a write that waits for the lock meanwhile gets it before the last record is applied."""
    turns = {"committed": 0}

    async def slow(uow: UnitOfWork, event: EvidenceRecorded, envelope: Envelope) -> None:
        await count_and_echo(uow, event, envelope)  # the turn's first write takes the lock
        await asyncio.sleep(0.05)

    async def count_turn(uow: UnitOfWork) -> None:
        turns["committed"] += 1

    events = [evidence(f"s-{i}") for i in range(50)]
    await produce(kafka_bootstrap, topic, [(e.kafka_key, encode(e), kafka_headers(e)) for e in events])
    database = tmp_path / "turns.db"
    app = service_with(
        slow,
        kafka_bootstrap,
        f"sqlite+aiosqlite:///{database}",
        topic,
        f"g-{uuid.uuid4().hex[:6]}",
        before_commit=count_turn,
        consumer_turn_seconds=0.5,
    )
    async with running(app):

        async def some_applied() -> bool:
            return len(await applied_rows(app)) > 0

        async def all_applied() -> bool:
            return len(await applied_rows(app)) == len(events)

        await wait_for(some_applied)
        applied_when_the_writer_got_in = await asyncio.to_thread(_take_the_write_lock, database)
        await wait_for(all_applied)
    assert applied_when_the_writer_got_in < len(events)
    assert turns["committed"] >= 4  # 2.5 s of work in turns of about 0.5 s


def _take_the_write_lock(database: Path) -> int:
    """What an API write does on SQLite: wait (busy timeout) for the write lock; returns the applied rows then."""
    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        count = connection.execute("SELECT count(*) FROM applied").fetchone()[0]
        connection.execute("ROLLBACK")
        return int(count)
    finally:
        connection.close()


def test_a_turn_shrinks_to_the_target_and_grows_while_turns_stay_short() -> None:
    assert next_turn_records(64, 64, 2.0, 0.5) == 16  # 4× too long: a quarter as many
    assert next_turn_records(16, 16, 0.1, 0.5) == 32  # a full turn in under half the target: double
    assert next_turn_records(32, 20, 0.1, 0.5) == 32  # the batch ran out: no evidence to grow on
    assert next_turn_records(4, 1, 30.0, 0.5) == 1  # one slow record: never fewer than one
