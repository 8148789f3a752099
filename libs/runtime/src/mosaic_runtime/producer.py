"""Producer guarantees (invariant 4), importable without FastStream so a bulk CLI starts fast."""

from __future__ import annotations

from typing import Any

from mosaic_runtime.kafka_security import aiokafka_security
from mosaic_runtime.settings import ServiceSettings

PRODUCER_GUARANTEES: dict[str, Any] = {"acks": "all", "enable_idempotence": True}


def producer_config(settings: ServiceSettings, **overrides: Any) -> dict[str, Any]:
    """Keyword arguments for a bare `AIOKafkaProducer` (bulk tools) with Mosaic's guarantees."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"mosaic-{settings.service_name}",
        "linger_ms": 20,
        "max_batch_size": 512 * 1024,
        "compression_type": None,
        "request_timeout_ms": 30_000,
        **PRODUCER_GUARANTEES,
        **aiokafka_security(settings),
    }
    config.update(overrides)
    return config
