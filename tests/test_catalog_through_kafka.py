"""Every catalog type goes through a real broker and comes back equal, keyed right, trace intact."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_trace_id

from mosaic_events import Envelope, all_event_classes, decode, encode
from mosaic_events.tracing import header, kafka_headers

pytestmark = pytest.mark.integration

STRATEGIES = Path(__file__).resolve().parents[1] / "libs/events/tests/strategies.py"


def _event_strategies():
    """The catalog's hypothesis strategies, shared with libs/events' own tests."""
    spec = importlib.util.spec_from_file_location("mosaic_event_strategies", STRATEGIES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def one_of_each_type() -> list[Envelope]:
    """One generated envelope per registered type, in a district of its own so no projection mistakes it."""
    strategies = _event_strategies()
    district = f"test-catalog-{uuid.uuid4()}"
    return [strategies.sample_envelope(cls).model_copy(update={"district_id": district}) for cls in all_event_classes()]


async def test_every_catalog_type_survives_the_broker_equal_keyed_and_traced(kafka_bootstrap: str) -> None:
    envelopes = one_of_each_type()
    tracer = TracerProvider().get_tracer("test_catalog_through_kafka")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        with tracer.start_as_current_span("publish the catalog") as span:
            trace_id = format_trace_id(span.get_span_context().trace_id)
            sent = [
                await producer.send_and_wait(e.topic, encode(e), key=e.kafka_key, headers=kafka_headers(e))
                for e in envelopes
            ]
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        for envelope, where in zip(envelopes, sent, strict=True):
            record = await _record_at(consumer, TopicPartition(where.topic, where.partition), where.offset)
            assert record.topic == envelope.topic
            assert decode(record.value) == envelope
            assert record.key == envelope.kafka_key
            assert header(record.headers, "type") == envelope.type
            assert header(record.headers, "version") == str(envelope.version)
            traceparent = header(record.headers, "traceparent")
            assert traceparent is not None, f"{envelope.type} lost its trace header"
            assert traceparent.split("-")[1] == trace_id
    finally:
        await consumer.stop()
    assert {e.type for e in envelopes} == {cls.event_type for cls in all_event_classes()}


async def _record_at(consumer: AIOKafkaConsumer, partition: TopicPartition, offset: int):
    """The record the producer was told it wrote: that partition, that offset, nobody else's."""
    consumer.assign([partition])
    consumer.seek(partition, offset)
    batch = await consumer.getmany(partition, timeout_ms=10_000, max_records=1)
    records = batch.get(partition, [])
    assert records, f"nothing at {partition.topic}[{partition.partition}]@{offset} within 10 s"
    assert records[0].offset == offset
    return records[0]
