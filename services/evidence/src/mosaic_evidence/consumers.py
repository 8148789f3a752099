"""The evidence service's one event → handler map: it projects its own topic into the evidence view.

The API writes the view as it publishes; the bulk importer publishes straight to Kafka. This
consumer folds every evidence event into the same view (already-applied events are skipped),
so reads show imported evidence too and the view can be rebuilt by replaying the topic.
"""

from __future__ import annotations

from mosaic_events import Envelope
from mosaic_events.topics import EVIDENCE
from mosaic_evidence.adapters import evidence_store
from mosaic_runtime.app import ServiceContext
from mosaic_runtime.consumer import UnitOfWork, subscribe


async def project_evidence(uow: UnitOfWork, envelope: Envelope) -> None:
    await evidence_store.apply_envelope(uow.session, envelope)


HANDLERS = {
    "EvidenceRecorded": project_evidence,
    "EvidenceCorrected": project_evidence,
    "EvidenceRetracted": project_evidence,
}


def setup_consumers(ctx: ServiceContext) -> None:
    if not getattr(ctx.settings, "project_evidence_topic", True):
        return
    subscribe(
        ctx.broker,
        EVIDENCE.name,
        session_timeout_ms=ctx.settings.consumer_session_timeout_ms,
        group=ctx.settings.consumer_group,
        handlers=HANDLERS,
        session_factory=ctx.sessions,
        max_records=ctx.settings.consumer_max_records,
        max_record_bytes=ctx.settings.consumer_max_record_bytes,
    )
