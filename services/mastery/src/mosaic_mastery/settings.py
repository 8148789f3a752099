"""The mastery service's settings: the chassis' fields, prefix MOSAIC_MASTERY_."""

from __future__ import annotations

from mosaic_events import topics
from mosaic_runtime.settings import ServiceSettings, service_config


class MasterySettings(ServiceSettings):
    model_config = service_config("MASTERY")

    service_name: str = "mastery"
    http_port: int = 8082
    rebuild_batch_records: int = 20_000
    evidence_topic: str = topics.EVIDENCE.name  # other names only for isolated tests and benchmarks
    reference_topic: str = topics.REFERENCE.name

    @property
    def source_topics(self) -> tuple[str, ...]:
        """What the projection folds, evidence first (the rebuild reads the last one first in each batch)."""
        return (self.evidence_topic, self.reference_topic)
