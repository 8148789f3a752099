"""The sample service and helpers the chassis tests share: a real service over a real broker."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from fastapi import APIRouter
from sqlalchemy import select

from mosaic_events import Envelope, derived_envelope, new_envelope
from mosaic_events.catalog import EvidenceCorrected, EvidenceRecorded, EvidenceRetracted, MasteryChanged
from mosaic_runtime.app import ServiceContext, create_service
from mosaic_runtime.auth import DistrictPrincipal, generate_signing_key
from mosaic_runtime.consumer import BatchHook, Handler, HandlerMap, UnitOfWork, subscribe
from mosaic_runtime.settings import ServiceSettings

sys.path.insert(0, str(Path(__file__).parent))
from sample_service.models import applied, metadata

MIGRATIONS = Path(__file__).parent / "migrations"
KEY = generate_signing_key()


def evidence(student: str = "s-1", value: float = 3.0) -> Envelope:
    data = EvidenceRecorded(
        evidence_id=str(uuid.uuid4()),
        student_id=student,
        competency_ids=("c-1",),
        kind="rubric_rating",
        observed_on="2026-11-02",
        recorded_by="t-1",
        score={"value": value, "minimum": 1, "maximum": 4},
    )
    return new_envelope(data, district_id="d-1", producer="test", subject=student)


async def count_and_echo(uow: UnitOfWork, _event: EvidenceRecorded, envelope: Envelope) -> None:
    """Counts each applied envelope and emits one derived MasteryChanged per evidence."""
    row = (await uow.session.execute(select(applied).where(applied.c.event_id == str(envelope.id)))).first()
    if row is None:
        await uow.session.execute(
            applied.insert().values(event_id=str(envelope.id), student_id=envelope.subject, times=1)
        )
    else:
        await uow.session.execute(
            applied.update().where(applied.c.event_id == str(envelope.id)).values(times=row.times + 1)
        )
    await uow.emit(mastery_changed(envelope))


def mastery_changed(cause: Envelope) -> Envelope:
    """The MasteryChanged the sample service derives from one evidence."""
    data = cause.data
    assert isinstance(data, EvidenceRecorded)
    changed = MasteryChanged(
        student_id=data.student_id,
        competency_id="c-1",
        old_level=None,
        new_level="Developing",
        new_rank=1,
        mastered=False,
        estimate=0.5,
        method="latest",
        evidence_count=1,
        cause_evidence_ids=(data.evidence_id,),
    )
    return derived_envelope(cause, changed, producer="sample", discriminators=("c-1",))


def sample_map(handler: Handler, before_commit: BatchHook | None = None) -> HandlerMap:
    """The sample service reads the evidence topic and handles EvidenceRecorded only."""
    return HandlerMap(
        {EvidenceRecorded: handler}, ignored=(EvidenceCorrected, EvidenceRetracted), before_commit=before_commit
    )


def sample_service(bootstrap: str, database_url: str, topic: str, group: str):  # type: ignore[no-untyped-def]
    settings = ServiceSettings(
        service_name="sample",
        kafka_bootstrap_servers=bootstrap,
        database_url=database_url,
        consumer_group=group,
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
        topic_overrides={"mosaic.evidence.v1": topic},
    )
    router = APIRouter()

    @router.get("/v1/districts/{district_id}/whoami")
    async def whoami(principal: DistrictPrincipal) -> dict[str, str]:
        return {"user": principal.user_id, "district": principal.district_id}

    def consumers(ctx: ServiceContext) -> None:
        subscribe(ctx, sample_map(count_and_echo), on_committed=ctx.relay.wake)

    return create_service(
        settings, title="sample", migrations=MIGRATIONS, metadata=metadata, routers=[router], setup_consumers=consumers
    )


@asynccontextmanager
async def running(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sample") as client:
            yield client


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers in records:
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str, want: int, timeout: float = 30.0) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or await _partitions(consumer, topic)
        consumer.assign([TopicPartition(topic, p) for p in parts])
        await consumer.seek_to_beginning()
        out: list = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < want and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(topic) or {0}


async def wait_for(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def applied_rows(app) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with app.state.ctx.sessions() as session:
        return {r.event_id: r.times for r in await session.execute(select(applied))}
