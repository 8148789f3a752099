"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

EVENTS_PRODUCED = Counter("mosaic_events_produced_total", "Events acknowledged by the broker", ["type"])
EVENTS_CONSUMED = Counter("mosaic_events_consumed_total", "Events applied by a consumer", ["type", "group"])
EVENTS_DEAD_LETTERED = Counter(
    "mosaic_events_dead_lettered_total", "Unreadable records sent to a DLQ", ["topic", "reason", "group"]
)
# Seconds from recorded_at to applied: per hop, how far behind the world a projection is (e.g. mastery latency).
EVENT_AGE_SECONDS = Histogram(
    "mosaic_event_age_seconds",
    "Seconds from an event's recording until a consumer applied it",
    ["group", "type"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
HANDLER_SECONDS = Histogram("mosaic_handler_seconds", "Time to apply one consumed batch", ["group"])
CONSUMER_LAG = Gauge("mosaic_consumer_lag", "Records behind the end of a partition", ["group", "topic", "partition"])
OUTBOX_BACKLOG = Gauge("mosaic_outbox_backlog", "Outbox rows not yet acknowledged by the broker")
OUTBOX_OLDEST_AGE_SECONDS = Gauge(
    "mosaic_outbox_oldest_age_seconds", "Age of the oldest outbox row not yet acknowledged (0 when none)"
)
READY = Gauge("mosaic_ready", "1 when the database and the broker answer (what /readyz says), refreshed per scrape")
DELIVERIES = Counter("mosaic_deliveries_total", "Delivery outcomes (notify)", ["channel", "outcome"])

registry = REGISTRY
HTTP_REQUESTS = Counter("mosaic_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram("mosaic_http_request_seconds", "Time to answer an HTTP request", ["method", "route"])
HTTP_IN_FLIGHT = Gauge(
    "mosaic_http_in_flight_requests", "HTTP requests being answered now (probes and metrics excluded)"
)
HTTP_SHED = Counter(
    "mosaic_http_shed_total", "HTTP requests answered 503 at once because the process was at its in-flight limit"
)
