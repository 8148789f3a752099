"""Every consumer reads the current and the previous version: the chassis hands handlers the current one."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from faststream.kafka import KafkaBroker

from mosaic_events import Envelope, encode, new_envelope
from mosaic_events.catalog import MasteryChanged, MasteryChangedV1
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.consumer import HandlerMap, UnitOfWork, subscribe
from mosaic_runtime.db import RUNTIME_METADATA, make_engine, make_session_factory, runtime_tables
from mosaic_runtime.settings import ServiceSettings
from sample_service.harness import produce, read_all

runtime_tables(RUNTIME_METADATA)
LEVELS = {"old_level": "Developing", "old_rank": 1, "method": "latest", "cause_evidence_ids": ("e-1",)}


@pytest.mark.integration
async def test_a_consumer_gets_v1_and_v2_mastery_changes_as_the_current_version(kafka_bootstrap, topic, tmp_path: Path):
    v1 = new_envelope(
        MasteryChangedV1(
            student_id="s-1",
            competency_id="c-1",
            new_level="Proficient",
            new_rank=2,
            mastered=True,
            estimate=0.8,
            evidence_count=3,
            **LEVELS,
        ),
        district_id="d-1",
        producer="old-mastery",
        subject="s-1",
    )
    v2 = new_envelope(
        MasteryChanged(
            student_id="s-1",
            competency_id="c-1",
            new_level=None,
            new_rank=None,
            mastered=False,
            estimate=None,
            evidence_count=0,
            **LEVELS,
        ),
        district_id="d-1",
        producer="mastery",
        subject="s-1",
    )
    await produce(kafka_bootstrap, topic, [(e.kafka_key, encode(e), kafka_headers(e)) for e in (v1, v2)])
    seen: list[Envelope] = []

    async def remember(uow: UnitOfWork, _change: MasteryChanged, envelope: Envelope) -> None:
        seen.append(envelope)

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(RUNTIME_METADATA.create_all)
    broker = KafkaBroker(kafka_bootstrap)
    settings = ServiceSettings(
        service_name="upcast-test",
        kafka_bootstrap_servers=kafka_bootstrap,
        consumer_group=f"g-{uuid.uuid4().hex[:8]}",
        topic_overrides={"mosaic.mastery.v1": topic},
        oidc_jwks_json='{"keys": []}',
    )
    ctx = SimpleNamespace(settings=settings, broker=broker, sessions=make_session_factory(engine))
    subscribe(ctx, HandlerMap({MasteryChanged: remember}))  # type: ignore[arg-type]
    await broker.start()
    try:
        async with asyncio.timeout(60):
            while len(seen) < 2:
                await asyncio.sleep(0.1)
    finally:
        await broker.stop()
        await engine.dispose()
    assert [(e.id, e.version, type(e.data)) for e in seen] == [(v1.id, 2, MasteryChanged), (v2.id, 2, MasteryChanged)]
    assert seen[0].data.new_level == "Proficient" and seen[1].data.new_level is None
    assert await read_all(kafka_bootstrap, f"{topic}.dlq", 1, timeout=2) == []
