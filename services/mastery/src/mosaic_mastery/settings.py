"""The mastery service's settings: the chassis' fields, prefix MOSAIC_MASTERY_."""

from __future__ import annotations

from mosaic_runtime.settings import ServiceSettings, service_config


class MasterySettings(ServiceSettings):
    model_config = service_config("MASTERY")

    service_name: str = "mastery"
    http_port: int = 8082
    rebuild_batch_records: int = 20_000
