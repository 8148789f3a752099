"""Load shedding at the front door: at most `max_in_flight` requests per process; one more is answered 503 at once.

A request the process cannot start now would only wait behind the others and make every answer late; a prompt
503 with Retry-After lets the client (or the load balancer) try again or elsewhere. Probes and metrics are never
shed, so an overloaded process is not also restarted or blinded. This 503 means "nothing was tried"; evidence's
own 503 (Kafka did not acknowledge a write) means "tried and rolled back" — the `shed` field tells them apart.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from mosaic_runtime.metrics import HTTP_IN_FLIGHT, HTTP_SHED

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})


class InFlightLimit:
    """ASGI middleware: counts requests from arrival to their last byte; past the limit it answers 503."""

    def __init__(self, app: ASGIApp, *, max_in_flight: int, retry_after_seconds: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.refusal = _refusal_body(max_in_flight, retry_after_seconds)
        self.headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.refusal)).encode()),
            (b"retry-after", str(retry_after_seconds).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in NEVER_SHED:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            HTTP_SHED.inc()
            await send({"type": "http.response.start", "status": 503, "headers": self.headers})
            await send({"type": "http.response.body", "body": self.refusal})
            return
        self.in_flight += 1
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            HTTP_IN_FLIGHT.dec()


def _refusal_body(max_in_flight: int, retry_after_seconds: int) -> bytes:
    return json.dumps(
        {
            "detail": (
                f"this server is at capacity ({max_in_flight} requests in progress) and did not start yours; "
                f"nothing was recorded: retry in {retry_after_seconds} s (with the same Idempotency-Key, if any)"
            ),
            "shed": True,
            "retry_after_seconds": retry_after_seconds,
        }
    ).encode()
