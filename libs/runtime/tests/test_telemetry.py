"""Tracing: a trace begins with work, not with a background poll."""


def test_a_background_poll_starts_no_trace_but_work_does():
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    from mosaic_runtime.telemetry import WorkStartsATrace

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=WorkStartsATrace())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("SELECT outbox", kind=SpanKind.CLIENT):
        pass
    with (
        tracer.start_as_current_span("POST /evidence", kind=SpanKind.SERVER),
        tracer.start_as_current_span("INSERT evidence", kind=SpanKind.CLIENT),
    ):
        pass
    assert [s.name for s in exporter.get_finished_spans()] == ["INSERT evidence", "POST /evidence"]
