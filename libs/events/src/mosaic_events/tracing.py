"""Trace context and event metadata in Kafka headers (W3C `traceparent`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate

from mosaic_events.envelope import Envelope

Headers = list[tuple[str, bytes]]


def kafka_headers(envelope: Envelope, ctx: otel_context.Context | None = None) -> Headers:
    """Headers for an envelope's record: its type and version, and the current trace context."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    headers = [("type", envelope.type.encode()), ("version", str(envelope.version).encode())]
    headers += [(k, v.encode()) for k, v in carrier.items()]
    return headers


def trace_context(headers: Iterable[tuple[str, bytes]] | dict | None) -> otel_context.Context:
    """The trace context carried by a record's headers (empty context if none)."""
    carrier = _as_carrier(headers)
    return propagate.extract(carrier)


def header(headers: Sequence[tuple[str, bytes]] | dict | None, name: str) -> str | None:
    return _as_carrier(headers).get(name)


def _as_carrier(headers: Iterable[tuple[str, bytes]] | dict | None) -> dict[str, str]:
    if not headers:
        return {}
    items = headers.items() if isinstance(headers, dict) else headers
    return {k: (v.decode() if isinstance(v, bytes | bytearray) else str(v)) for k, v in items}
