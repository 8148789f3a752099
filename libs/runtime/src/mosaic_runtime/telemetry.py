"""OpenTelemetry: off unless the standard OTEL_* variables ask for it, so off costs nothing."""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, get_current_span


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
    provider = TracerProvider(resource=resource, sampler=WorkStartsATrace())
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


class WorkStartsATrace(Sampler):
    """A trace starts with work (a request, a consumed or produced event), never with a background poll.

    Without a parent, client and internal spans (the outbox relay's and delivery worker's database polls)
    are dropped; everything else follows its parent, so one evidence stays one complete trace.
    """

    def __init__(self) -> None:
        self._parent_based = ParentBased(ALWAYS_ON)

    def should_sample(
        self,
        parent_context,
        trace_id,
        name,
        kind=None,
        attributes=None,
        links=None,
        trace_state=None,
    ) -> SamplingResult:
        parent = get_current_span(parent_context).get_span_context()
        if not parent.is_valid and kind in (SpanKind.CLIENT, SpanKind.INTERNAL, None):
            return SamplingResult(Decision.DROP)
        return self._parent_based.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "WorkStartsATrace"
