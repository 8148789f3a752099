"""The bare producer a bulk import uses: the chassis' guarantees (acks=all, idempotent), tuned for throughput."""

from __future__ import annotations

from typing import Any

from mosaic_runtime.producer import producer_config
from mosaic_runtime.settings import ServiceSettings, service_config

IMPORT_TUNING: dict[str, Any] = {"linger_ms": 50, "max_batch_size": 1024 * 1024, "request_timeout_ms": 60_000}


class ImportSettings(ServiceSettings):
    """The import writes as the evidence service: its Kafka user from MOSAIC_EVIDENCE_KAFKA_SASL_* (and TLS)."""

    model_config = service_config("EVIDENCE")


def import_producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    # database_url is set only so the chassis settings do not create a data folder for a CLI run.
    settings = ImportSettings(
        service_name="evidence-import", kafka_bootstrap_servers=bootstrap, database_url="sqlite+aiosqlite:///:memory:"
    )
    return producer_config(settings, **{**IMPORT_TUNING, **overrides})
