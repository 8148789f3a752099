"""OpenTelemetry: off unless the standard OTEL_* variables ask for it, so off costs nothing."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter


def tracing_requested() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    if exporter == "none" or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return bool(
        exporter
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def setup_telemetry(service_name: str, version: str, exporter: SpanExporter | None = None) -> bool:
    """Install a tracer provider exporting OTLP (or to `exporter`); returns whether tracing is on."""
    if exporter is None and not tracing_requested():
        return False
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return True  # already set up in this process
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", f"mosaic-{service_name}"),
            "service.version": version,
            "service.namespace": "mosaic",
        }
    )
    provider = TracerProvider(resource=resource)
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True
