"""The scheduling service's settings: the chassis' fields, prefix MOSAIC_SCHEDULING_."""

from __future__ import annotations

from mosaic_events import topics
from mosaic_runtime.settings import ServiceSettings, service_config


class SchedulingSettings(ServiceSettings):
    model_config = service_config("SCHEDULING")

    service_name: str = "scheduling"
    http_port: int = 8083
    solver_time_limit_seconds: float = 10.0
    solver_workers: int = 2
    mastery_topic: str = topics.MASTERY.name  # other names only for isolated tests
    reference_topic: str = topics.REFERENCE.name
    regroup_topic: str = topics.REGROUP.name

    @property
    def source_topics(self) -> tuple[str, ...]:
        return (self.mastery_topic, self.reference_topic, self.regroup_topic)
