"""Load shedding at the front door: at most `max_in_flight` requests per process; one more is answered 503 at once.
So is any request while a queue stands (as CoDel judges one): every request answered in the last second took longer
than `max_wait_seconds`, and at least MIN_IN_FLIGHT_TO_JUDGE are in flight. A process too slow for its load then
sheds early instead of letting every answer grow late; a burst that drains quickly leaves a fast answer in the
window and is not shed, and one long request (an import) beside fast ones never sheds the others.

A request the process cannot start now would only wait behind the others and make every answer late; a prompt
503 with Retry-After lets the client (or the load balancer) try again or elsewhere. Probes and metrics are never
shed, so an overloaded process is not also restarted or blinded. This 503 means "nothing was tried"; evidence's
own 503 (Kafka did not acknowledge a write) means "tried and rolled back" — the `shed` field tells them apart.
"""

from __future__ import annotations

import json
import time
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from mosaic_runtime.metrics import HTTP_IN_FLIGHT, HTTP_SHED

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics"})
MIN_IN_FLIGHT_TO_JUDGE = 8
WINDOW_SECONDS = 1.0


class InFlightLimit:
    """ASGI middleware: counts requests from arrival to their last byte; past the limit, or while a queue stands,
    it answers 503."""

    def __init__(
        self, app: ASGIApp, *, max_in_flight: int, retry_after_seconds: int, max_wait_seconds: float = 0.0
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.max_wait_seconds = max_wait_seconds
        self.in_flight = 0
        # (finished at, seconds taken) of recent answers, durations increasing: the first is the window's fastest
        self.fastest: deque[tuple[float, float]] = deque()
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
        if self.in_flight >= self.max_in_flight or self._backed_up():
            HTTP_SHED.inc()
            await send({"type": "http.response.start", "status": 503, "headers": self.headers})
            await send({"type": "http.response.body", "body": self.refusal})
            return
        self.in_flight += 1
        HTTP_IN_FLIGHT.inc()
        started = time.monotonic()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            HTTP_IN_FLIGHT.dec()
            self._answered(started)

    def _answered(self, started: float) -> None:
        now = time.monotonic()
        taken = now - started
        while self.fastest and self.fastest[-1][1] >= taken:
            self.fastest.pop()  # a slower answer that finished earlier can never be the window's fastest again
        self.fastest.append((now, taken))

    def _backed_up(self) -> bool:
        """A queue stands: even the fastest answer of the last second took longer than max_wait_seconds."""
        if not self.max_wait_seconds or self.in_flight < MIN_IN_FLIGHT_TO_JUDGE:
            return False
        since = time.monotonic() - WINDOW_SECONDS
        while self.fastest and self.fastest[0][0] < since:
            self.fastest.popleft()
        return bool(self.fastest) and self.fastest[0][1] > self.max_wait_seconds


def _refusal_body(max_in_flight: int, retry_after_seconds: int) -> bytes:
    return json.dumps(
        {
            "detail": (
                f"this server is at capacity (at most {max_in_flight} requests at once, answered promptly) and did "
                f"not start yours; nothing was recorded: retry in {retry_after_seconds} s (with the same "
                "Idempotency-Key, if any)"
            ),
            "shed": True,
            "retry_after_seconds": retry_after_seconds,
        }
    ).encode()
