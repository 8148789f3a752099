"""A consequence travels in the trace of its cause, even when the batch decides it after the handlers ran."""

from __future__ import annotations

import uuid

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from mosaic_events import decode, derived_envelope, encode
from mosaic_events.catalog import MasteryChanged
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.app import ServiceContext, create_service
from mosaic_runtime.consumer import UnitOfWork, subscribe
from mosaic_runtime.settings import ServiceSettings
from sample_service.harness import KEY, MIGRATIONS, evidence, produce, read_all, running, sample_map
from sample_service.models import metadata


def tracer_provider() -> TracerProvider:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    return provider


async def remember(uow: UnitOfWork, _event, envelope) -> None:  # type: ignore[no-untyped-def]
    uow.cache.setdefault("seen", []).append(envelope)


async def decide_at_the_end(uow: UnitOfWork) -> None:
    for cause in uow.cache.get("seen", []):
        changed = MasteryChanged(
            student_id=cause.subject,
            competency_id="c-1",
            old_level=None,
            new_level="Proficient",
            new_rank=2,
            mastered=True,
            estimate=0.9,
            method="latest",
            evidence_count=1,
            cause_evidence_ids=(cause.data.evidence_id,),
        )
        await uow.emit_many([derived_envelope(cause, changed, producer="sample", discriminators=("c-1",))])


@pytest.mark.integration
async def test_an_event_decided_before_commit_carries_its_causes_trace(kafka_bootstrap, topic, tmp_path):
    tracer = tracer_provider().get_tracer("test")
    with tracer.start_as_current_span("teacher records evidence") as upstream:
        cause = evidence("s-trace")
        headers = kafka_headers(cause)
    trace_id = f"{upstream.get_span_context().trace_id:032x}"
    await produce(kafka_bootstrap, topic, [(cause.kafka_key, encode(cause), headers)])

    group = f"g-{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(
        service_name="sample",
        kafka_bootstrap_servers=kafka_bootstrap,
        consumer_group=group,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/t.db",
        oidc_jwks_json=KEY.jwks_json,
        outbox_poll_seconds=0.05,
        topic_overrides={"mosaic.evidence.v1": topic},
    )

    def consumers(ctx: ServiceContext) -> None:
        subscribe(ctx, sample_map(remember, before_commit=decide_at_the_end), on_committed=ctx.relay.wake)

    app = create_service(settings, title="sample", migrations=MIGRATIONS, metadata=metadata, setup_consumers=consumers)
    async with running(app):
        for _ in range(60):
            records = await read_all(kafka_bootstrap, "mosaic.mastery.v1", 100_000, timeout=1)
            mine = [r for r in records if decode(r.value).causation_id == cause.id]
            if mine:
                break
    assert len(mine) == 1
    traceparent = dict(mine[0].headers)["traceparent"].decode()
    assert traceparent.split("-")[1] == trace_id
