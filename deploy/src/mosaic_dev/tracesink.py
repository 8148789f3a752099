"""A local OTLP/HTTP trace receiver: services export to it, people read traces at its page, tests assert on it.

It is the no-Docker stand-in for Jaeger: `mosaic-dev up` starts it and points every service's
`OTEL_EXPORTER_OTLP_ENDPOINT` here.
"""

from __future__ import annotations

import html
import json
import threading
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    service: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return (
        getattr(any_value, kind)
        if kind in {"string_value", "bool_value", "int_value", "double_value"}
        else str(any_value)
    )


def parse_export(body: bytes) -> list[ReceivedSpan]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        service = str(resource.get("service.name", "?"))
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        trace_id=s.trace_id.hex(),
                        span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex() or None,
                        name=s.name,
                        service=service,
                        kind=s.kind,
                        start_ns=s.start_time_unix_nano,
                        end_ns=s.end_time_unix_nano,
                        attributes={a.key: _value(a.value) for a in s.attributes},
                    )
                )
    return spans


class TraceSink:
    """Receives OTLP/HTTP protobuf on /v1/traces; serves a trace list at / and a trace tree at /trace/<id>."""

    def __init__(self, port: int = 4318, log_file: Path | None = None) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self._log = log_file
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.port = self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TraceSink:
        threading.Thread(target=self._server.serve_forever, daemon=True, name="trace-sink").start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self.spans.extend(spans)
        if self._log is not None:
            with self._log.open("a") as out:
                out.writelines(json.dumps(asdict(s)) + "\n" for s in spans)

    def traces(self) -> dict[str, list[ReceivedSpan]]:
        grouped: dict[str, list[ReceivedSpan]] = defaultdict(list)
        with self._lock:
            for span in self.spans:
                grouped[span.trace_id].append(span)
        return dict(grouped)


def _handler(sink: TraceSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path.rstrip("/") != "/v1/traces":
                self.send_error(404)
                return
            sink.add(parse_export(body))
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            traces = sink.traces()
            if self.path.startswith("/trace/"):
                page = _render_trace(traces.get(self.path.removeprefix("/trace/"), []))
            else:
                page = _render_index(traces)
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _render_index(traces: dict[str, list[ReceivedSpan]]) -> str:
    rows = []
    for trace_id, spans in sorted(traces.items(), key=lambda kv: -min(s.start_ns for s in kv[1])):
        root = min(spans, key=lambda s: s.start_ns)
        services = sorted({s.service for s in spans})
        rows.append(
            f"<tr><td><a href='/trace/{trace_id}'>{html.escape(root.name)}</a></td><td>{len(spans)}</td>"
            f"<td>{html.escape(', '.join(services))}</td></tr>"
        )
    return (
        "<html><head><meta charset='utf-8'><title>Mosaic traces</title></head><body><h1>Traces</h1>"
        f"<table><tr><th>first span</th><th>spans</th><th>services</th></tr>{''.join(rows)}</table></body></html>"
    )


def _render_trace(spans: list[ReceivedSpan]) -> str:
    children: dict[str | None, list[ReceivedSpan]] = defaultdict(list)
    ids = {s.span_id for s in spans}
    for s in sorted(spans, key=lambda s: s.start_ns):
        children[s.parent_span_id if s.parent_span_id in ids else None].append(s)
    t0 = min((s.start_ns for s in spans), default=0)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            ms = (s.end_ns - s.start_ns) / 1e6
            at = (s.start_ns - t0) / 1e6
            lines.append(
                f"{'&nbsp;' * 4 * depth}<b>{html.escape(s.service)}</b> {html.escape(s.name)} "
                f"<small>+{at:.1f} ms, {ms:.1f} ms</small>"
            )
            walk(s.span_id, depth + 1)

    walk(None, 0)
    return (
        f"<html><head><meta charset='utf-8'></head><body><a href='/'>← traces</a><br>{'<br>'.join(lines)}</body></html>"
    )
