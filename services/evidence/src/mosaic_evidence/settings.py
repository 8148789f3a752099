"""Evidence settings: the chassis' fields plus the evidence service's own, from MOSAIC_EVIDENCE_* variables."""

from mosaic_runtime.settings import ServiceSettings, service_config


class EvidenceSettings(ServiceSettings):
    model_config = service_config("EVIDENCE")

    service_name: str = "evidence"
    http_port: int = 8081
    max_batch_items: int = 1000
    project_evidence_topic: bool = True
