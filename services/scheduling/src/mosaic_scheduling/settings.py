"""The scheduling service's settings: the chassis' fields, prefix MOSAIC_SCHEDULING_."""

from __future__ import annotations

from mosaic_runtime.settings import ServiceSettings, service_config


class SchedulingSettings(ServiceSettings):
    model_config = service_config("SCHEDULING")

    service_name: str = "scheduling"
    http_port: int = 8083
    solver_time_limit_seconds: float = 10.0
    solver_workers: int = 2
