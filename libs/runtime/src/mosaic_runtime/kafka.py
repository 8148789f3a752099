"""Kafka wiring: the one place producer guarantees are set (invariant 4).

FastStream's defaults are acks=1 without idempotence; Mosaic needs acks=all and an
idempotent producer so an acknowledged write is never lost nor duplicated by retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from opentelemetry import context as otel_context
from prometheus_client import CollectorRegistry

from mosaic_events import Envelope, encode
from mosaic_events.tracing import kafka_headers
from mosaic_runtime.kafka_security import faststream_security
from mosaic_runtime.metrics import EVENTS_PRODUCED
from mosaic_runtime.producer import PRODUCER_GUARANTEES
from mosaic_runtime.settings import ServiceSettings


class BrokerUnavailable(RuntimeError):
    """The broker did not acknowledge a write; the caller must not report success."""


def make_broker(settings: ServiceSettings, registry: CollectorRegistry | None = None) -> KafkaBroker:
    middlewares: list[Any] = [KafkaTelemetryMiddleware()]
    if registry is not None:
        middlewares.append(KafkaPrometheusMiddleware(registry=registry, app_name=settings.service_name))
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"mosaic-{settings.service_name}",
        request_timeout_ms=10_000,
        middlewares=middlewares,
        graceful_timeout=settings.shutdown_grace_seconds,
        security=faststream_security(settings),
        log_level=logging.DEBUG,  # one line per message is too much at INFO
        **PRODUCER_GUARANTEES,
    )


def header_dict(envelope: Envelope, trace_ctx: otel_context.Context | None = None) -> dict[str, str]:
    return {k: v.decode() for k, v in kafka_headers(envelope, trace_ctx)}


async def publish(broker: KafkaBroker, envelope: Envelope, trace_ctx: otel_context.Context | None = None) -> None:
    """Send one envelope and return only once the broker acknowledged it (acks=all)."""
    try:
        await broker.publish(
            encode(envelope), envelope.topic, key=envelope.kafka_key, headers=header_dict(envelope, trace_ctx)
        )
    except Exception as exc:  # aiokafka raises several types; the caller needs one meaning
        raise BrokerUnavailable(f"Kafka did not acknowledge {envelope.type}: {exc}") from exc
    EVENTS_PRODUCED.labels(envelope.type).inc()


async def publish_many(
    broker: KafkaBroker,
    envelopes: list[Envelope],
    timeout: float = 30.0,
    trace_ctx_of: Callable[[Envelope], otel_context.Context | None] = lambda _: None,
) -> None:
    """Send a batch concurrently; return once every record is acknowledged (or raise after `timeout`).
    `trace_ctx_of` names each envelope's trace when one batch carries several requests' events."""
    try:
        async with asyncio.timeout(timeout):
            futures = [
                await broker.publish(
                    encode(e), e.topic, key=e.kafka_key, headers=header_dict(e, trace_ctx_of(e)), no_confirm=True
                )
                for e in envelopes
            ]
            await asyncio.gather(*futures)
    except Exception as exc:
        raise BrokerUnavailable(f"Kafka did not acknowledge {len(envelopes)} events: {exc}") from exc
    for envelope in envelopes:
        EVENTS_PRODUCED.labels(envelope.type).inc()
